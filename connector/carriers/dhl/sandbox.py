"""A local stand-in for DHL's Unified tracking API with ``service=parcel-nl``.

From developer.dhl.com/api-reference/shipment-tracking and the parcel-nl fixture in
netresearch/dhl-sdk-api-unified-tracking: ``GET /track/shipments`` with ``DHL-API-Key``; new keys get 1 call per
second and 250 per day, refused with 429 ``{"status":429,"title":"Too Many Requests"}`` and ``Retry-After``; an
unknown number (or a wrong postcode) is 404; the coarse ``statusCode`` hides out for delivery, the pickup point
and not-home, which only the detailed ``status`` names; DHL adds detailed codes (``UNPUBLISHED``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from werkzeug.wrappers import Request, Response

from connector.carriers.config import RateLimit
from connector.carriers.stand_in import StandIn, Window, garbage_response, json_response, too_many
from connector.clock import Clock, system_clock

API_KEY = "sandbox-dhl-key"
UNPUBLISHED = "PARCEL_TAKEN_BY_DRONE"
COARSE = {
    "PRENOTIFICATION_RECEIVED": "pre-transit",
    "DATA_RECEIVED_WITH_PREFIX_LABEL": "pre-transit",
    "NOT_HOME": "failure",
    "STORAGE_PERIOD_ENDED_AT_PARCELSHOP": "failure",
    "RETURNED_TO_SHIPPER": "failure",
    "DELIVERED": "delivered",
}


class DhlSandbox(StandIn):
    routes = (("/track/shipments", "shipments"),)

    def __init__(self, clock: Clock = system_clock, *, api_key: str = API_KEY, limit: RateLimit | None = None) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.window = Window(limit or RateLimit(calls=1, per_seconds=1, daily=250))
        self.parcels: dict[str, tuple[str, list[tuple[str, datetime]]]] = {}  # number -> (postcode, history)
        self.reads: dict[str, int] = defaultdict(int)

    def add_parcel(self, number: str, postcode: str) -> None:
        self.parcels[number] = (postcode, [])

    def move(self, number: str, status: str, at: datetime) -> None:
        self.parcels[number][1].append((status, at))

    def on_shipments(self, request: Request) -> Response:
        if request.headers.get("DHL-API-Key") != self.api_key:
            return json_response({"status": 401, "title": "Unauthorized", "detail": "Invalid API key"}, 401)
        wait = self.window.admit(self.clock())
        if wait is not None:
            return too_many(wait, {"status": 429, "title": "Too Many Requests"})
        if self.garbage:
            return garbage_response()
        number = request.args.get("trackingNumber", "")
        found = self.parcels.get(number)
        postcode = request.args.get("recipientPostalCode")
        if found is None or request.args.get("service") != "parcel-nl" or (postcode and postcode != found[0]):
            return json_response({"status": 404, "title": "No result found", "detail": "No shipment found"}, 404)
        self.reads[number] += 1
        events = [
            {
                "timestamp": at.isoformat(),
                "statusCode": COARSE.get(status, "transit"),
                "status": status,
                "description": status.replace("_", " ").lower(),
            }
            for status, at in sorted(found[1], key=lambda h: h[1], reverse=True)  # DHL lists the newest first
        ]
        return json_response(
            {
                "shipments": [
                    {"id": number, "service": "parcel-nl", "status": events[0] if events else {}, "events": events}
                ]
            }
        )
