"""DHL eCommerce NL inbound: the Unified tracking answer (``GET /track/shipments``) as carrier events.

No push for ``parcel-nl`` (developer.dhl.com: the Unified Push API is "only available to direct DHL customers",
its parcel-nl scenario unverified), so this adapter only parses reads: ``{shipments: [{id, service, status:
{timestamp, statusCode, status, description}, estimatedTimeOfDelivery, estimatedDeliveryTimeFrame:
{estimatedFrom, estimatedThrough}, events: [{timestamp, statusCode, status, description, location}]}]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.carriers.base import (
    CarrierContext,
    CarrierEvent,
    MalformedPayload,
    NoPush,
    Parcel,
    list_field,
    local_time,
    normalise_tracking,
    text_field,
)
from connector.carriers.dhl.mapper import map_status
from connector.model import ShipmentEvent

SOURCE = "dhl"


class DhlAdapter(NoPush):
    source = SOURCE

    def parse_tracking(self, payload: Any, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        if not isinstance(payload, Mapping):
            raise MalformedPayload("shipments: expected a JSON object")
        events: list[CarrierEvent] = []
        for index, item in enumerate(list_field(payload, "shipments", "body")):
            where = f"shipments[{index}]"
            if not isinstance(item, Mapping):
                raise MalformedPayload(f"{where}: expected an object")
            number = normalise_tracking(text_field(item, "id", where, required=True))
            frame = item.get("estimatedDeliveryTimeFrame")
            estimate_text = item.get("estimatedTimeOfDelivery")
            if isinstance(frame, Mapping) and frame.get("estimatedFrom"):
                estimate_text = frame.get("estimatedFrom")
            estimate = (
                local_time(estimate_text, (), context.timezone, f"{where}.estimatedTimeOfDelivery")
                if estimate_text
                else None
            )
            end = None
            if isinstance(frame, Mapping) and frame.get("estimatedThrough"):
                end = local_time(frame.get("estimatedThrough"), (), context.timezone, f"{where}.estimatedThrough")
            parcel = Parcel(source=SOURCE, tracking_number=number, carrier="DHL")
            history = list_field(item, "events", where) or (
                [item["status"]] if isinstance(item.get("status"), Mapping) else []
            )
            for position, raw in enumerate(history):
                spot = f"{where}.events[{position}]"
                if not isinstance(raw, Mapping):
                    raise MalformedPayload(f"{spot}: expected an object")
                status, code = text_field(raw, "status", spot), text_field(raw, "statusCode", spot)
                at = local_time(raw.get("timestamp"), (), context.timezone, f"{spot}.timestamp")
                mapped = map_status(status, code)
                key = f"{SOURCE}:{number}:{status or code}:{at.isoformat()}"
                location = raw.get("location")
                address = location.get("address") if isinstance(location, Mapping) else None
                event = ShipmentEvent(
                    external_id=key,
                    status=mapped.status,
                    happened_at=at,
                    message=text_field(raw, "description", spot),
                    estimated_delivery_at=estimate,
                    city=text_field(address, "addressLocality", spot) if isinstance(address, Mapping) else None,
                    source=SOURCE,
                    raw_code=f"{code}/{status}" if status else code,
                    sub_status=mapped.sub_status,
                    physical_scan=mapped.physical_scan,
                )
                events.append(CarrierEvent(parcel=parcel, event=event, dedupe_key=key, expected_delivery_end=end))
        return tuple(events)


ADAPTER = DhlAdapter()
