"""DHL reads: ``GET https://api-eu.dhl.com/track/shipments?trackingNumber=&service=parcel-nl&recipientPostalCode=``.

Header ``DHL-API-Key`` with the shop's own key (developer.dhl.com/api-reference/shipment-tracking; third-party
integrators are told to use each merchant's key). New keys: 250 calls per day at 1 call per second, and at most
10 fetches per parcel per day, spread through the day; the caller paces (``connector.carriers.polling``).
One parcel per call; the postcode lets DHL show the parcel-nl details.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import DhlSettings
from connector.carriers.dhl.adapter import ADAPTER, SOURCE
from connector.carriers.http import SourceClient

BASE_URL = "https://api-eu.dhl.com"


class DhlClient(SourceClient[DhlSettings]):
    source = SOURCE
    default_base_url = BASE_URL

    def track_one(self, parcel: Parcel, tracking_number: str, context: CarrierContext) -> Iterable[CarrierEvent]:
        params = {"trackingNumber": tracking_number, "service": "parcel-nl"}
        if parcel.postcode:
            params["recipientPostalCode"] = parcel.postcode
        answer = self.get("/track/shipments", context, headers={"DHL-API-Key": self.settings.api_key}, params=params)
        if answer is None:
            return ()
        return (
            e if e.parcel.postcode else _with_postcode(e, parcel.postcode)
            for e in ADAPTER.parse_tracking(answer, context)
        )


def _with_postcode(event: CarrierEvent, postcode: str | None) -> CarrierEvent:
    return replace(event, parcel=replace(event.parcel, postcode=postcode))


def make_client(settings: DhlSettings, *, http: requests.Session | None = None) -> DhlClient:
    return DhlClient(settings, http)
