"""Sendcloud inbound: the signed ``parcel_status_changed`` webhook and the tracking answer, as carrier events.

Webhook (https://sendcloud.dev/api/v2/webhooks, .../parcel-status-changed): header ``Sendcloud-Signature`` is
the hex HMAC-SHA256 of the raw body with the integration's secret key (or its webhook signature key); the body
is ``{action, timestamp (ms), carrier_status_change_timestamp (ms), parcel: {id, tracking_number, status: {id,
message}, carrier: {code}, order_number, postal_code, ...}}``. Sendcloud retries up to 10 times over about an
hour and does not keep the order of arrival, so every event carries the carrier's own time.

Tracking answer (``GET /api/v3/parcels/tracking/{tracking_number}``,
https://www.sendcloud.dev/docs/parcel-tracking/retrieve-tracking-info): ``{tracking_number, carrier_code,
details: {expected_delivery_date, ...}, events: [{parent_status, carrier_message, carrier_code,
carrier_update_timestamp}]}``, timestamps in UTC.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
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
    normalise_postcode,
    normalise_tracking,
    text_field,
)
from connector.carriers.config import SendcloudSettings
from connector.carriers.names import display_name
from connector.carriers.sendcloud.mapper import map_status, status_id
from connector.model import ShipmentEvent
from connector.platforms.base import json_object

SOURCE = "sendcloud"
SIGNATURE_HEADER = "sendcloud-signature"
ACTIONS = frozenset({"parcel_status_changed"})  # other actions (integration_connected, ...) are acknowledged


def sign(body: bytes, secret: str) -> str:
    """The ``Sendcloud-Signature`` of a body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _millis(value: Any, where: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise MalformedPayload(f"{where}: expected a timestamp in milliseconds")
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayload(f"{where}: timestamp out of range") from None


def _event(parcel: Parcel, code: int | str, message: str | None, at: datetime) -> ShipmentEvent:
    mapped = map_status(code)
    key = f"{SOURCE}:{parcel.tracking_number or parcel.parcel_id}:{code}:{at.isoformat()}"
    return mapped.event(SOURCE, key, at, str(code), message=message)


class SendcloudAdapter:
    source = SOURCE
    pushes = True

    def verify(self, headers: Headers, body: bytes, settings: SendcloudSettings) -> bool:
        given = (headers.get(SIGNATURE_HEADER) or "").strip().lower()
        if not given:
            return False
        return hmac.compare_digest(given.encode(), sign(body, settings.signing_key).encode())

    def parse(self, headers: Headers, body: bytes, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        payload = json_object(body)
        action = payload.get("action")
        if not isinstance(action, str):
            raise MalformedPayload("action: required field is missing")
        if action not in ACTIONS:
            return ()
        parcel_data = mapping_field(payload, "parcel", "body")
        status = mapping_field(parcel_data, "status", "parcel")
        code = text_field(status, "id", "parcel.status", required=True)
        assert code is not None
        stamp = payload.get("carrier_status_change_timestamp") or payload.get("timestamp")
        at = _millis(stamp, "carrier_status_change_timestamp")
        carrier = parcel_data.get("carrier")
        parcel = Parcel(
            source=SOURCE,
            tracking_number=normalise_tracking(text_field(parcel_data, "tracking_number", "parcel")),
            parcel_id=text_field(parcel_data, "id", "parcel", required=True),
            postcode=normalise_postcode(text_field(parcel_data, "postal_code", "parcel")),
            order_number=text_field(parcel_data, "order_number", "parcel"),
            carrier=display_name(text_field(carrier, "code", "parcel.carrier"))
            if isinstance(carrier, Mapping)
            else None,
        )
        if parcel.tracking_number is None and parcel.order_number is None:
            raise MalformedPayload("parcel: neither tracking_number nor order_number")
        event = _event(
            parcel, int(code) if code.isdigit() else code, text_field(status, "message", "parcel.status"), at
        )
        return (CarrierEvent(parcel=parcel, event=event, dedupe_key=event.external_id),)

    def parse_tracking(self, payload: Any, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        if not isinstance(payload, Mapping):
            raise MalformedPayload("tracking: expected a JSON object")
        number = normalise_tracking(text_field(payload, "tracking_number", "tracking", required=True))
        details = payload.get("details") if isinstance(payload.get("details"), Mapping) else {}
        assert isinstance(details, Mapping)
        expected = details.get("expected_delivery_date")
        expected_at = (
            local_time(expected, ("%Y-%m-%d",), context.timezone, "details.expected_delivery_date")
            if expected
            else None
        )
        parcel = Parcel(
            source=SOURCE,
            tracking_number=number,
            parcel_id=text_field(payload, "parcel_id", "tracking"),
            carrier=display_name(text_field(payload, "carrier_code", "tracking")),
        )
        events = []
        for index, item in enumerate(list_field(payload, "events", "tracking")):
            where = f"events[{index}]"
            if not isinstance(item, Mapping):
                raise MalformedPayload(f"{where}: expected an object")
            raw = item.get("parent_status")
            if isinstance(raw, Mapping):
                raw = raw.get("id") if raw.get("id") is not None else raw.get("message")
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise MalformedPayload(f"{where}.parent_status: expected a status id or name")
            found = status_id(raw)
            at = local_time(item.get("carrier_update_timestamp"), (), "UTC", f"{where}.carrier_update_timestamp")
            code: int | str = found if found is not None else str(raw)
            event = _event(parcel, code, text_field(item, "carrier_message", where), at.astimezone(UTC))
            if expected_at is not None:
                event = replace(event, estimated_delivery_at=expected_at)
            events.append(CarrierEvent(parcel=parcel, event=event, dedupe_key=event.external_id))
        return tuple(events)


ADAPTER = SendcloudAdapter()
