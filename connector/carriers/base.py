"""Protocols every carrier source implements, and the carrier event they all produce.

A source package (``connector/carriers/<source>/``, the same file names in each) has:

- ``mapper.py``: pure code -> ``Mapped`` (status, sub-status, physical scan); an unknown code maps to
  ``UNKNOWN`` and the event keeps the raw code;
- ``adapter.py``: ``ADAPTER``, a ``CarrierAdapter``: verifies a pushed delivery (if the source pushes) and parses
  webhook bodies and tracking answers into ``CarrierEvent``s (pure; no I/O);
- ``client.py``: ``make_client(settings, *, session=None)``, a ``CarrierClient`` that reads tracking (gap filling
  for pushing sources, polling for the others), raising ``RetryableError`` / ``PermanentError``;
- ``sandbox.py``: a local stand-in of the source's API built from its published documentation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from connector.model import ShipmentEvent, ShipmentStatus
from connector.platforms.base import Headers, Json, MalformedPayload, PermanentError, RetryableError

__all__ = [
    "CarrierAdapter",
    "CarrierClient",
    "CarrierContext",
    "CarrierEvent",
    "Headers",
    "Json",
    "MalformedPayload",
    "Mapped",
    "Parcel",
    "PermanentError",
    "RetryableError",
    "normalise_postcode",
    "normalise_tracking",
]


@dataclass(frozen=True, slots=True)
class Mapped:
    """What one source code means in ordercare's vocabulary."""

    status: ShipmentStatus
    sub_status: str | None = None
    physical_scan: bool = False

    def event(
        self, source: str, key: str, at: datetime, code: str, *, message: str | None = None, eta: datetime | None = None
    ) -> ShipmentEvent:
        """The shipment event ``key`` of this status, which ``source`` reported as ``code`` at ``at`` (``eta``: the
        expected delivery it gave)."""
        return ShipmentEvent(
            key,
            self.status,
            at,
            message=message,
            estimated_delivery_at=eta,
            source=source,
            raw_code=code,
            sub_status=self.sub_status,
            physical_scan=self.physical_scan,
        )


@dataclass(frozen=True, slots=True)
class Parcel:
    """What a source tells us to find the order a parcel belongs to."""

    source: str
    tracking_number: str | None = None  # normalised (``normalise_tracking``)
    parcel_id: str | None = None  # the source's own id (Sendcloud parcel id, MyParcel shipment id)
    postcode: str | None = None  # normalised (``normalise_postcode``)
    order_number: str | None = None  # the shop's order number as the label platform has it
    carrier: str | None = None  # display name (``connector.carriers.names``)


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    """One status of one parcel as a source reported it.

    ``dedupe_key`` names what happened (source, parcel, code and the carrier's own time), so the same news
    delivered twice, or pushed and then read, is stored once. ``event.happened_at`` is the carrier's time;
    ``timed_by_receipt``: the source sent none (MyParcel webhooks) and it is the time we received it, so a read
    should fill in the details (``needs_details``).
    """

    parcel: Parcel
    event: ShipmentEvent
    dedupe_key: str
    timed_by_receipt: bool = False
    expected_delivery_end: datetime | None = None  # the end of a delivery window, where the source gives one

    @property
    def needs_details(self) -> bool:
        return self.timed_by_receipt


@dataclass(frozen=True, slots=True)
class CarrierContext:
    """What a parser may know besides the body: the shop, its time zone, and when the delivery arrived."""

    shop_id: str
    timezone: str
    received_at: datetime


class CarrierAdapter(Protocol):
    """Inbound side of one source; ``ADAPTER`` in its ``adapter.py``.

    ``POST /carriers/<source>/<shop_id>`` uses it only when ``pushes`` is true: ``verify`` fails -> 401 and
    nothing stored; ``parse`` raises ``MalformedPayload`` -> 400; otherwise each event is matched and merged,
    200. ``parse_tracking`` turns the source's tracking answer (what the client read) into events.
    """

    source: str
    pushes: bool

    def verify(self, headers: Headers, body: bytes, settings: Any) -> bool:
        """Constant-time check of the delivery against the shop's settings for this source."""

    def parse(self, headers: Headers, body: bytes, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        """The events a pushed delivery carries (none: a delivery we do not handle)."""

    def parse_tracking(self, payload: Any, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        """The events in one tracking answer of the source's API."""


class CarrierClient(Protocol):
    """Reads of one source for one shop's credential; paced by the caller (``connector.carriers.polling``)."""

    source: str
    batch_size: int  # parcels per call (1 where the API reads one parcel at a time)

    def track(self, parcels: Sequence[Parcel], context: CarrierContext) -> tuple[CarrierEvent, ...]:
        """One call for up to ``batch_size`` parcels. A parcel the source does not know yields no event.

        Raises ``RetryableError`` (429 with ``retry_after``, 5xx, network, a garbage answer) or
        ``PermanentError`` (a refused key, another 4xx)."""

    def close(self) -> None: ...


def normalise_tracking(value: Any) -> str | None:
    """A tracking number as we compare it: upper case, without spaces."""
    if value is None:
        return None
    text = "".join(str(value).split()).upper()
    return text or None


def normalise_postcode(value: Any) -> str | None:
    """A postcode as we compare it: "1234 ab" -> "1234AB"."""
    if value is None:
        return None
    text = "".join(str(value).split()).upper()
    return text or None


def text_field(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A string or number field as text; ``MalformedPayload`` naming ``where.key`` for a wrong type."""
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise MalformedPayload(f"{where}.{key}: required field is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload(f"{where}.{key}: expected a string or a number, got {type(value).__name__}")
    return str(value)


def mapping_field(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where}.{key}: expected an object")
    return value


def list_field(data: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedPayload(f"{where}.{key}: expected a list")
    return value


def local_time(value: Any, formats: Sequence[str], timezone: str, where: str) -> datetime:
    """A carrier timestamp as an aware datetime: with an offset as given, without one in ``timezone``
    (PostNL and MyParcel send shop-local Europe/Amsterdam times without an offset)."""
    from zoneinfo import ZoneInfo

    if not isinstance(value, str) or not value.strip():
        raise MalformedPayload(f"{where}: expected a timestamp")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for fmt in formats:
            try:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 - the zone is set below
                break
            except ValueError:
                continue
    if moment is None:
        raise MalformedPayload(f"{where}: not a timestamp: {text!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(timezone))


class NoPush:
    """The inbound side of a source that only answers reads (DHL, PostNL): no webhook to verify or parse."""

    source: str
    pushes = False

    def verify(self, headers: Headers, body: bytes, settings: Any) -> bool:
        return False

    def parse(self, headers: Headers, body: bytes, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        raise MalformedPayload(f"{self.source} does not push events")
