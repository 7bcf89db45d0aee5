"""MyParcel inbound: the ``shipment_status_change`` webhook and the ``/tracktraces`` answer, as carrier events.

Webhook (myparcelnl/developer ``src/api-reference/10.webhooks.md``, ``11.webhook-object-definitions.md``):
headers ``X-MyParcel-Hook`` and ``X-MyParcel-Authorization`` (base64 of the shop's API key: a shared secret,
not a signature of the body), body ``{"data": {"hooks": [{shipment_id, account_id, shop_id, status, barcode}]}}``,
possibly several hooks. It has no time and no detail: the event is dated by its receipt and a ``/tracktraces``
read fills in the carrier's code, time, delay flag and delivery window.

Tracktraces (``GET /tracktraces/{id;id;...}?extra_info=delivery_moment``): ``{"data": {"tracktraces": [{shipment_id,
code, description, time, status: {current, main, final}, delayed, delivery_moment_type, delivery_moment: {start,
end}, history: [...]}]}}``; times are Europe/Amsterdam without an offset.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from connector.carriers.base import (
    CarrierContext,
    CarrierEvent,
    Headers,
    MalformedPayload,
    Parcel,
    list_field,
    local_time,
    mapping_field,
    normalise_tracking,
    text_field,
)
from connector.carriers.config import MyParcelSettings
from connector.carriers.myparcel.mapper import map_status
from connector.platforms.base import json_object

SOURCE = "myparcel"
AUTH_HEADER = "x-myparcel-authorization"
HOOK_HEADER = "x-myparcel-hook"
HOOKS = frozenset({"shipment_status_change"})  # shipment_label_created, order_status_change: acknowledged
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def authorization(api_key: str) -> str:
    """The ``X-MyParcel-Authorization`` value MyParcel sends with each webhook."""
    return base64.b64encode(api_key.encode()).decode()


def _moment(value: Any, timezone: str, where: str) -> datetime | None:
    """A delivery-window bound: a string, or PHP's ``{date, timezone}`` object."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        zone = value.get("timezone") if isinstance(value.get("timezone"), str) else timezone
        assert isinstance(zone, str)
        return local_time(value.get("date"), TIME_FORMATS, zone, f"{where}.date")
    return local_time(value, TIME_FORMATS, timezone, where)


def _shipments(items: Sequence[Any], where: str) -> Iterator[tuple[str, Mapping[str, Any], str | None]]:
    """Each hook or tracktrace of a list: where it stands, the object, and its (required) ``shipment_id``."""
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise MalformedPayload(f"{at}: expected an object")
        yield at, item, text_field(item, "shipment_id", at, required=True)


def _parcel(item: Mapping[str, Any], shipment_id: str | None) -> Parcel:
    """The parcel a hook or a tracktrace is about: MyParcel's shipment id and the carrier's barcode."""
    return Parcel(source=SOURCE, tracking_number=normalise_tracking(item.get("barcode")), parcel_id=shipment_id)


def _status_id(shipment_id: str | None, status: str) -> str:
    """The id of a shipment's event for one MyParcel status, the same for its hook and its read."""
    return f"{SOURCE}:{shipment_id}:status:{status}"


class MyParcelAdapter:
    source = SOURCE
    pushes = True

    def verify(self, headers: Headers, body: bytes, settings: MyParcelSettings) -> bool:
        given = (headers.get(AUTH_HEADER) or "").strip()
        return bool(given) and hmac.compare_digest(given.encode(), authorization(settings.api_key).encode())

    def parse(self, headers: Headers, body: bytes, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        hook = (headers.get(HOOK_HEADER) or "shipment_status_change").strip()
        payload = json_object(body)
        if hook not in HOOKS:
            return ()
        hooks = list_field(mapping_field(payload, "data", "body"), "hooks", "data")
        if not hooks:
            raise MalformedPayload("data.hooks: expected at least one hook")
        events = []
        for where, item, shipment_id in _shipments(hooks, "data.hooks"):
            status = text_field(item, "status", where, required=True)
            assert status is not None
            if not status.isdigit():
                raise MalformedPayload(f"{where}.status: expected a number, got {status!r}")
            key = _status_id(shipment_id, status)
            event = map_status(status).event(SOURCE, key, context.received_at, status)
            events.append(
                CarrierEvent(parcel=_parcel(item, shipment_id), event=event, dedupe_key=key, timed_by_receipt=True)
            )
        return tuple(events)

    def parse_tracking(self, payload: Any, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        if not isinstance(payload, Mapping):
            raise MalformedPayload("tracktraces: expected a JSON object")
        items = list_field(mapping_field(payload, "data", "body"), "tracktraces", "data")
        events = []
        for where, item, shipment_id in _shipments(items, "data.tracktraces"):
            status = mapping_field(item, "status", where)
            current = text_field(status, "current", f"{where}.status", required=True)
            assert current is not None
            delayed = item.get("delayed") is True
            mapped = map_status(current, delayed=delayed)
            carrier_code = text_field(item, "code", where)
            code = f"{current}:{carrier_code}" if carrier_code else current  # status, then the carrier's event
            at = local_time(item.get("time"), TIME_FORMATS, context.timezone, f"{where}.time")
            window = item.get("delivery_moment")
            end = start = None
            if isinstance(window, Mapping):
                start = _moment(window.get("start"), context.timezone, f"{where}.delivery_moment.start")
                end = _moment(window.get("end"), context.timezone, f"{where}.delivery_moment.end")
            event = mapped.event(
                SOURCE,
                # the id of the hook's event for this status: the read's carrier time and details replace the
                # receipt time (events are united by id, the later one wins)
                _status_id(shipment_id, current),
                at,
                code,
                message=text_field(item, "description", where),
                eta=start or end,
            )
            key = f"{SOURCE}:{shipment_id}:{code}:{at.isoformat()}"
            events.append(
                CarrierEvent(parcel=_parcel(item, shipment_id), event=event, dedupe_key=key, expected_delivery_end=end)
            )
        return tuple(events)


ADAPTER = MyParcelAdapter()
