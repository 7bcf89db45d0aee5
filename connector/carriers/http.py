"""What every carrier client shares (``SourceClient``): the shop's settings, the base URL (the source's own or
the settings' ``api_base_url``), the session, and the one way they call their APIs: a GET that answers JSON, or
says why not in the client errors.

404 is "the source does not know this parcel" (None); 429 and 5xx, network trouble and an answer that is not
JSON are retryable (``retry_after`` from the ``Retry-After`` header, in seconds or as an HTTP date); any other
4xx is permanent. Error messages name the source and the status, never a key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar

import requests

from connector import __version__
from connector.carriers.base import CarrierContext, CarrierEvent, Parcel, PermanentError, RetryableError

USER_AGENT = f"ordercare/{__version__} (parcel tracking)"  # MyParcel asks every caller to name itself
TIMEOUT_SECONDS = 15.0


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds())


class SourceSettings(Protocol):
    """What a client needs of a source's settings: another host to call, if any (the sandbox, a proxy)."""

    @property
    def api_base_url(self) -> str | None: ...


SettingsT = TypeVar("SettingsT", bound=SourceSettings)


class SourceClient(Generic[SettingsT]):
    """The part of a ``CarrierClient`` every source has alike; a source names ``source`` and ``default_base_url``.

    ``track`` reads one parcel a call (``batch_size`` 1): every parcel with a tracking number goes to
    ``track_one``. A source that reads several parcels a call overrides ``track``.
    """

    source: str
    default_base_url: str
    batch_size = 1

    def __init__(self, settings: SettingsT, http: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = (settings.api_base_url or self.default_base_url).rstrip("/")
        self.http = http or requests.Session()

    def track(self, parcels: Sequence[Parcel], context: CarrierContext) -> tuple[CarrierEvent, ...]:
        events: list[CarrierEvent] = []
        for parcel in parcels[: self.batch_size]:
            if parcel.tracking_number:
                events.extend(self.track_one(parcel, parcel.tracking_number, context))
        return tuple(events)

    def track_one(self, parcel: Parcel, tracking_number: str, context: CarrierContext) -> Iterable[CarrierEvent]:
        """The events of one parcel, read by its tracking number."""
        raise NotImplementedError

    def get(
        self,
        path: str,
        context: CarrierContext,
        *,
        headers: Mapping[str, str],
        params: Any = None,
        auth: tuple[str, str] | None = None,
    ) -> Any | None:
        """The decoded JSON answer of a GET of ``path`` below the base URL, None for 404; ``RetryableError`` /
        ``PermanentError`` otherwise."""
        source = self.source
        try:
            response = self.http.get(
                self.base_url + path,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
                params=params,
                auth=auth,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise RetryableError(f"{source}: {type(exc).__name__} while reading tracking") from None
        status = response.status_code
        if status == 404:
            return None
        if status == 429 or status >= 500:
            raise RetryableError(
                f"{source}: HTTP {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After"), context.received_at),
                status=status,
                platform_message=response.text[:200],
            )
        if status != 200:
            raise PermanentError(f"{source}: HTTP {status}", status=status, platform_message=response.text[:200])
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise RetryableError(f"{source}: the answer is not JSON", status=status) from None

    def close(self) -> None:
        self.http.close()
