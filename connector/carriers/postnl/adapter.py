"""PostNL inbound: the Shippingstatus answers as carrier events (PostNL does not push).

``GET /shipment/v2/status/barcode/{barcode}``: ``{"CurrentStatus": {"Shipment": {Barcode, DeliveryDate,
Expectation: {ETAFrom, ETATo}, Status: {TimeStamp, StatusCode, StatusDescription, PhaseCode}}}}`` with
``TimeStamp`` as ``dd-MM-yyyy HH:mm:ss`` Europe/Amsterdam local time without an offset
(postnl/postnl-ecommerce-sdk-python doc/controllers/shipping-status.md). ``updatedshipments`` answers a list of
``{Barcode, Status: {Timestamp, StatusCode, ...}}`` with ISO times, also without an offset.
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
    local_time,
    mapping_field,
    normalise_tracking,
    text_field,
)
from connector.carriers.postnl.mapper import map_status
from connector.model import ShipmentEvent

SOURCE = "postnl"
TIME_FORMATS = ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%Y-%m-%dT%H:%M:%S")


def _event(shipment: Mapping[str, Any], where: str, context: CarrierContext) -> CarrierEvent:
    number = normalise_tracking(text_field(shipment, "Barcode", where, required=True))
    status = mapping_field(shipment, "Status", where)
    code = text_field(status, "StatusCode", f"{where}.Status", required=True)
    assert code is not None
    stamp = status.get("TimeStamp") if status.get("TimeStamp") is not None else status.get("Timestamp")
    at = local_time(stamp, TIME_FORMATS, context.timezone, f"{where}.Status.TimeStamp")
    expectation = shipment.get("Expectation")
    eta = end = None
    if isinstance(expectation, Mapping) and expectation.get("ETAFrom"):
        eta = local_time(expectation.get("ETAFrom"), TIME_FORMATS, context.timezone, f"{where}.Expectation.ETAFrom")
        if expectation.get("ETATo"):
            end = local_time(expectation.get("ETATo"), TIME_FORMATS, context.timezone, f"{where}.Expectation.ETATo")
    mapped = map_status(code)
    key = f"{SOURCE}:{number}:{code}:{at.isoformat()}"
    event = ShipmentEvent(
        external_id=key,
        status=mapped.status,
        happened_at=at,
        message=text_field(status, "StatusDescription", f"{where}.Status"),
        estimated_delivery_at=eta,
        source=SOURCE,
        raw_code=code,
        sub_status=mapped.sub_status,
        physical_scan=mapped.physical_scan,
    )
    parcel = Parcel(source=SOURCE, tracking_number=number, carrier="PostNL")
    return CarrierEvent(parcel=parcel, event=event, dedupe_key=key, expected_delivery_end=end)


class PostnlAdapter(NoPush):
    source = SOURCE

    def parse_tracking(self, payload: Any, context: CarrierContext) -> tuple[CarrierEvent, ...]:
        """A barcode answer (``CurrentStatus``) or an ``updatedshipments`` list."""
        if isinstance(payload, list):
            return tuple(
                _event(item, f"[{i}]", context) if isinstance(item, Mapping) else _not_object(f"[{i}]")
                for i, item in enumerate(payload)
            )
        if not isinstance(payload, Mapping):
            raise MalformedPayload("body: expected a JSON object or list")
        current = mapping_field(payload, "CurrentStatus", "body")
        shipment = current.get("Shipment")
        shipments = shipment if isinstance(shipment, list) else [shipment]
        return tuple(
            _event(item, f"CurrentStatus.Shipment[{i}]", context)
            if isinstance(item, Mapping)
            else _not_object(f"CurrentStatus.Shipment[{i}]")
            for i, item in enumerate(shipments)
        )


def _not_object(where: str) -> CarrierEvent:
    raise MalformedPayload(f"{where}: expected an object")


ADAPTER = PostnlAdapter()
