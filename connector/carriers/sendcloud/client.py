"""Sendcloud reads: ``GET /api/v3/parcels/tracking/{tracking_number}`` with the integration's key pair (Basic).

One parcel per call; GET requests are limited to 1,000 per minute per account
(https://sendcloud.dev/docs/getting-started/rate-limits). Used to fill gaps the webhook left.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import requests

from connector.carriers.base import CarrierContext, CarrierEvent, Parcel
from connector.carriers.config import SendcloudSettings
from connector.carriers.http import get_json
from connector.carriers.sendcloud.adapter import ADAPTER, SOURCE

BASE_URL = "https://panel.sendcloud.sc"


class SendcloudClient:
    source = SOURCE
    batch_size = 1

    def __init__(self, settings: SendcloudSettings, http: requests.Session | None = None) -> None:
        self.settings = settings
        self.base_url = (settings.api_base_url or BASE_URL).rstrip("/")
        self.http = http or requests.Session()

    def track(self, parcels: Sequence[Parcel], context: CarrierContext) -> tuple[CarrierEvent, ...]:
        events: list[CarrierEvent] = []
        for parcel in parcels[: self.batch_size]:
            if not parcel.tracking_number:
                continue
            url = f"{self.base_url}/api/v3/parcels/tracking/{quote(parcel.tracking_number, safe='')}"
            answer = get_json(
                self.http,
                SOURCE,
                url,
                context.received_at,
                headers={},
                auth=(self.settings.public_key, self.settings.secret_key),
            )
            if answer is not None:
                events.extend(ADAPTER.parse_tracking(answer, context))
        return tuple(events)

    def close(self) -> None:
        self.http.close()


def make_client(settings: SendcloudSettings, *, http: requests.Session | None = None) -> SendcloudClient:
    return SendcloudClient(settings, http)
