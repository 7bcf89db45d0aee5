"""DHL reads: ``GET https://api-eu.dhl.com/track/shipments?trackingNumber=&service=parcel-nl&recipientPostalCode=``.

Header ``DHL-API-Key`` with the shop's own key (developer.dhl.com/api-reference/shipment-tracking; third-party
integrators are told to use each merchant's key). New keys: 250 calls per day at 1 call per second, and at most
10 fetches per parcel per day, spread through the day; the caller paces (``connector.carriers.polling``).
One parcel per call; the postcode lets DHL show the parcel-nl details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import DhlSettings
from connector.carriers.dhl.adapter import ADAPTER, SOURCE
from connector.carriers.http import get_json

BASE_URL = "https://api-eu.dhl.com"


class DhlClient:
    source = SOURCE
    batch_size = 1

    def __init__(self, settings: DhlSettings, http: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = (settings.api_base_url or BASE_URL).rstrip("/")
        self.http = http or requests.Session()

    def track(self, parcels: Sequence[Parcel], context: CarrierContext) -> tuple[CarrierEvent, ...]:
        events: list[CarrierEvent] = []
        for parcel in parcels[: self.batch_size]:
            if not parcel.tracking_number:
                continue
            params = {"trackingNumber": parcel.tracking_number, "service": "parcel-nl"}
            if parcel.postcode:
                params["recipientPostalCode"] = parcel.postcode
            answer = get_json(
                self.http,
                SOURCE,
                f"{self.base_url}/track/shipments",
                context.received_at,
                headers={"DHL-API-Key": self.settings.api_key},
                params=params,
            )
            if answer is not None:
                events.extend(
                    e if e.parcel.postcode else _with_postcode(e, parcel.postcode)
                    for e in ADAPTER.parse_tracking(answer, context)
                )
        return tuple(events)

    def close(self) -> None:
        self.http.close()


def _with_postcode(event: CarrierEvent, postcode: str | None) -> CarrierEvent:
    return replace(event, parcel=replace(event.parcel, postcode=postcode))


def make_client(settings: DhlSettings, *, http: requests.Session | None = None) -> DhlClient:
    return DhlClient(settings, http)
