"""Carrier statuses as Shopify fulfilment events: the status map, the events ordercare writes, and whose they are.

``FulfillmentEventStatus`` (2026-10 schema) is the vocabulary ``ShipmentStatus`` follows: a label is
``CONFIRMED`` ("the default value when no other information is available"), a parcel going back is ``FAILURE``
(Shopify has no "returned"), and a cancelled or unknown status is never written. The GraphQL ``FulfillmentEvent``
does not say which app created it, so the events ordercare writes end in ``MARKER``; any other event on a
fulfilment belongs to someone else (a carrier app, a tracking app), and ordercare then leaves that fulfilment alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from connector.model import Shipment, ShipmentEvent, ShipmentStatus

FULFILLMENT_EVENT_STATUS: Mapping[ShipmentStatus, str] = {
    ShipmentStatus.PENDING: "CONFIRMED",
    ShipmentStatus.CARRIER_PICKED_UP: "CARRIER_PICKED_UP",
    ShipmentStatus.IN_TRANSIT: "IN_TRANSIT",
    ShipmentStatus.OUT_FOR_DELIVERY: "OUT_FOR_DELIVERY",
    ShipmentStatus.READY_FOR_PICKUP: "READY_FOR_PICKUP",
    ShipmentStatus.ATTEMPTED_DELIVERY: "ATTEMPTED_DELIVERY",
    ShipmentStatus.DELAYED: "DELAYED",
    ShipmentStatus.DELIVERED: "DELIVERED",
    ShipmentStatus.FAILURE: "FAILURE",
    ShipmentStatus.RETURNED: "FAILURE",
}

MARKER = "[ordercare]"
MESSAGE_LIMIT = 255  # unverified: the schema gives none; a short line is what staff read on the timeline anyway
SOURCE_NAMES = {"sendcloud": "Sendcloud", "myparcel": "MyParcel", "dhl": "DHL", "postnl": "PostNL"}


def is_ours(message: str | None) -> bool:
    return bool(message) and str(message).rstrip().endswith(MARKER)


def message_for(event: ShipmentEvent) -> str:
    """What staff read on the order's timeline: the carrier's words (or its code), the source, our marker."""
    source = SOURCE_NAMES.get(event.source or "", event.source or "")
    words = (event.message or "").strip() or event.status.value.replace("_", " ")
    code = f" {event.raw_code}" if event.raw_code else ""
    tail = f" ({source}{code}) {MARKER}"
    return words[: MESSAGE_LIMIT - len(tail)] + tail


def fulfillment_id(shipment: Shipment) -> str | None:
    """The Shopify fulfilment a shipment is (a numeric id); None for a parcel only a carrier source knows."""
    return shipment.external_id if shipment.external_id.isdigit() else None


def others_post(shipment: Shipment) -> bool:
    """Whether the fulfilment carries events someone else wrote (seen through ``fulfillment_events/create``)."""
    return any(e.source is None and not is_ours(e.message) for e in shipment.events)


def changes(events: Iterable[ShipmentEvent]) -> Iterator[ShipmentEvent]:
    """The carrier events that change the status Shopify would show, oldest first (one per change)."""
    current: str | None = None
    ordered = sorted((e for e in events if e.source is not None), key=lambda e: (e.happened_at, e.external_id))
    for event in ordered:
        status = FULFILLMENT_EVENT_STATUS.get(event.status)
        if status is not None and status != current:
            current = status
            yield event


def step_for(shipment: Shipment, event: ShipmentEvent) -> str:
    """The action's step: one per fulfilment and carrier event, short enough for any event id."""
    digest = hashlib.sha256(f"{event.source}\x00{event.external_id}".encode()).hexdigest()[:16]
    return f"event-{shipment.external_id}-{digest}"


def event_input(fulfillment_gid: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``FulfillmentEventInput`` of a planned action's payload."""
    found = {
        "fulfillmentId": fulfillment_gid,
        "status": payload["status"],
        "happenedAt": payload["happened_at"],
        "estimatedDeliveryAt": payload.get("estimated_delivery_at"),
        "message": payload.get("message"),
        "city": payload.get("city"),
        "country": payload.get("country"),
    }
    return {key: value for key, value in found.items() if value is not None}


def payload_for(shipment: Shipment, event: ShipmentEvent) -> dict[str, Any]:
    """The CREATE_FULFILLMENT_EVENT payload of one carrier status change."""
    eta = event.estimated_delivery_at
    return {
        "fulfillment_id": shipment.external_id,
        "status": FULFILLMENT_EVENT_STATUS[event.status],
        "happened_at": event.happened_at.isoformat(),
        "estimated_delivery_at": eta.isoformat() if eta is not None else None,
        "message": message_for(event),
        "city": event.city,
        "country": event.country_code,
    }
