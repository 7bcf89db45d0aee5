"""Can ordercare see a parcel: a carrier scan, a status from the platform, or a tracking source that can read it.

A parcel nobody can see must not be called late to its customer: without a scan we do not know whether it
stalled or arrived long ago. Sendcloud and MyParcel know every parcel whose label they made, whatever the
carrier (they push, and are read by tracking number or order number); DHL and PostNL are read by tracking
number, only for their own parcels (DHL also needs the postcode).
"""

from __future__ import annotations

from connector.carriers.config import CarriersSettings
from connector.carriers.names import display_name
from connector.model import Order, Shipment, ShipmentStatus

# what a platform says about a shipment it cannot track: nothing beyond "a label" or "we do not know"
_NO_STATUS = frozenset({ShipmentStatus.PENDING, ShipmentStatus.UNKNOWN})
_LABEL_PLATFORMS = ("sendcloud", "myparcel")
_CARRIER_SOURCES = {"PostNL": "postnl", "DHL": "dhl", "DHL eCommerce": "dhl"}


def sources_for(order: Order, shipment: Shipment, carriers: CarriersSettings | None) -> tuple[str, ...]:
    """The shop's configured tracking sources that can read this parcel."""
    if carriers is None:
        return ()
    found = [name for name in _LABEL_PLATFORMS if carriers.source(name) is not None]
    source = _CARRIER_SOURCES.get(display_name(shipment.carrier) or "")
    if source is not None and shipment.tracking_number and carriers.source(source) is not None:
        postcode = order.shipping_address.postcode if order.shipping_address is not None else None
        if source != "dhl" or postcode:
            found.append(source)
    return tuple(found)


def has_evidence(shipment: Shipment) -> bool:
    """A physical carrier scan, or a status from the platform beyond a label."""
    return any(event.is_scan for event in shipment.events) or shipment.status not in _NO_STATUS


def visible(order: Order, shipment: Shipment, carriers: CarriersSettings | None) -> bool:
    """Whether ordercare knows, or can find out, where this parcel is."""
    return has_evidence(shipment) or bool(sources_for(order, shipment, carriers))
