"""PostNL reads: ``GET /shipment/v2/status/barcode/{barcode}`` and the account-wide
``GET /shipment/v2/status/{customerNumber}/updatedshipments?period=from&period=to``.

Header ``apikey`` (the shop's business key); 1,000 calls per minute per key, but PostNL asks callers to read
"only relevant shipments" and to call ``updatedshipments`` every 5 to 15 minutes over windows of at most 2 hours,
going back at most 48 hours (developer.postnl.nl, "at what frequency can I call the APIs"). Only barcodes under
the key's own customer code are shown: labels bought through MyParcel or Sendcloud are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import PostnlSettings
from connector.carriers.http import SourceClient
from connector.carriers.postnl.adapter import ADAPTER, SOURCE

BASE_URL = "https://api.postnl.nl"
MAX_WINDOW = timedelta(hours=2)
MAX_BACK = timedelta(hours=48)


class PostnlClient(SourceClient[PostnlSettings]):
    source = SOURCE
    default_base_url = BASE_URL

    def _get(self, path: str, context: CarrierContext, params: object = None) -> object | None:
        return self.get(path, context, headers={"apikey": self.settings.api_key}, params=params)

    def track_one(self, parcel: Parcel, tracking_number: str, context: CarrierContext) -> Iterable[CarrierEvent]:
        answer = self._get(f"/shipment/v2/status/barcode/{quote(tracking_number, safe='')}", context)
        return ADAPTER.parse_tracking(answer, context) if answer is not None else ()

    def updated(self, since: datetime, context: CarrierContext) -> tuple[tuple[CarrierEvent, ...], datetime]:
        """The account's changes from ``since`` (clamped to 48 hours back) over at most 2 hours; returns the
        events and where the next call starts."""
        now = context.received_at
        start = max(since, now - MAX_BACK)
        end = min(now, start + MAX_WINDOW)
        zone = ZoneInfo(context.timezone)
        period = [m.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") for m in (start, end)]
        answer = self._get(
            f"/shipment/v2/status/{quote(self.settings.customer_number, safe='')}/updatedshipments",
            context,
            params=[("period", period[0]), ("period", period[1])],
        )
        return (ADAPTER.parse_tracking(answer, context) if answer is not None else ()), end


def make_client(settings: PostnlSettings, *, http: requests.Session | None = None) -> PostnlClient:
    return PostnlClient(settings, http)
