"""Sendcloud reads: ``GET /api/v3/parcels/tracking/{tracking_number}`` with the integration's key pair (Basic).

One parcel per call; GET requests are limited to 1,000 per minute per account
(https://sendcloud.dev/docs/getting-started/rate-limits). Used to fill gaps the webhook left.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import SendcloudSettings
from connector.carriers.http import SourceClient
from connector.carriers.sendcloud.adapter import ADAPTER, SOURCE

BASE_URL = "https://panel.sendcloud.sc"


class SendcloudClient(SourceClient[SendcloudSettings]):
    source = SOURCE
    default_base_url = BASE_URL

    def track_one(self, parcel: Parcel, tracking_number: str, context: CarrierContext) -> Iterable[CarrierEvent]:
        answer = self.get(
            f"/api/v3/parcels/tracking/{quote(tracking_number, safe='')}",
            context,
            headers={},
            auth=(self.settings.public_key, self.settings.secret_key),
        )
        return ADAPTER.parse_tracking(answer, context) if answer is not None else ()


def make_client(settings: SendcloudSettings, *, http: requests.Session | None = None) -> SendcloudClient:
    return SendcloudClient(settings, http)
