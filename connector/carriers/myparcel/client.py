"""MyParcel reads: batched ``GET /tracktraces/{id;id;...}?extra_info=delivery_moment``.

Auth ``Authorization: basic BASE64(API_KEY)`` and a ``User-Agent`` (myparcelnl/developer
``src/api-reference/01.requests.md``); ``/tracktraces`` allows 100 calls per 5 minutes in a sliding window, and
answers that were 429 count against it, so the caller waits the full window after one. Parcels are read by
MyParcel's shipment id (what the webhook names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import MyParcelSettings
from connector.carriers.http import SourceClient
from connector.carriers.myparcel.adapter import ADAPTER, SOURCE, authorization

BASE_URL = "https://api.myparcel.nl"


class MyParcelClient(SourceClient[MyParcelSettings]):
    source = SOURCE
    default_base_url = BASE_URL

    def __init__(self, settings: MyParcelSettings, http: requests.Session | None = None) -> None:
        super().__init__(settings, http)
        self.batch_size = settings.batch

    def track(self, parcels: Sequence[Parcel], context: CarrierContext) -> tuple[CarrierEvent, ...]:
        known = {p.parcel_id: p for p in parcels[: self.batch_size] if p.parcel_id and p.parcel_id.isdigit()}
        if not known:
            return ()
        ids = ";".join(quote(i, safe="") for i in known)
        answer = self.get(
            f"/tracktraces/{ids}",
            context,
            headers={"Authorization": f"basic {authorization(self.settings.api_key)}"},
            params={"extra_info": "delivery_moment"},
        )
        if answer is None:
            return ()
        events = []
        for found in ADAPTER.parse_tracking(answer, context):
            asked = known.get(found.parcel.parcel_id or "")
            if asked is None:
                continue  # an answer about a shipment we did not ask for
            if found.parcel.tracking_number is None and asked.tracking_number:
                found = replace(found, parcel=replace(found.parcel, tracking_number=asked.tracking_number))
            events.append(found)
        return tuple(events)


def make_client(settings: MyParcelSettings, *, http: requests.Session | None = None) -> MyParcelClient:
    return MyParcelClient(settings, http)
