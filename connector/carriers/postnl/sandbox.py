"""A local stand-in for PostNL's Shippingstatus API.

From postnl/postnl-ecommerce-sdk-python (doc/controllers/shipping-status.md, doc/models) and
developer.postnl.nl: header ``apikey``; ``/shipment/v2/status/barcode/{barcode}`` answers ``CurrentStatus`` with
``TimeStamp`` as ``dd-MM-yyyy HH:mm:ss`` Amsterdam time without an offset; ``updatedshipments`` lists the
account's changes in a window of at most 2 hours, at most 48 hours back; 1,000 calls per minute (429 with
``Retry-After``); only barcodes under the key's own customer code are shown (others: 404, as for MyParcel's
``3SMYPA`` labels); status codes outside the published list (``UNPUBLISHED``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from connector.carriers.config import RateLimit
from connector.carriers.stand_in import StandIn, Window, garbage_response, json_response, too_many
from connector.clock import Clock, system_clock

API_KEY = "sandbox-postnl-key"
CUSTOMER_NUMBER = "11223344"
CUSTOMER_CODE = "DEVC"
UNPUBLISHED = "31"
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class PostnlSandbox(StandIn):
    routes = (
        ("/shipment/v2/status/barcode/<barcode>", "barcode"),
        ("/shipment/v2/status/<customer>/updatedshipments", "updated"),
    )

    def __init__(self, clock: Clock = system_clock, *, api_key: str = API_KEY, limit: RateLimit | None = None) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.window = Window(limit or RateLimit(calls=1000, per_seconds=60))
        self.history: dict[str, list[tuple[str, datetime]]] = {}

    def move(self, barcode: str, code: str, at: datetime) -> None:
        self.history.setdefault(barcode, []).append((code, at))

    def _gate(self, request: Request) -> Response | None:
        if request.headers.get("apikey") != self.api_key:
            return json_response({"fault": {"faultstring": "Invalid ApiKey"}}, 401)
        wait = self.window.admit(self.clock())
        if wait is not None:
            return too_many(wait, {"fault": {"faultstring": "Rate limit quota violation"}})
        return garbage_response() if self.garbage else None

    def _status(self, barcode: str, *, iso: bool) -> dict[str, Any]:
        code, at = max(self.history[barcode], key=lambda h: h[1])
        local = at.astimezone(_AMSTERDAM)
        stamp = local.strftime("%Y-%m-%dT%H:%M:%S") if iso else local.strftime("%d-%m-%Y %H:%M:%S")
        return {"TimeStamp": stamp, "StatusCode": code, "StatusDescription": f"status {code}", "PhaseCode": "3"}

    def on_barcode(self, request: Request, barcode: str) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        if barcode not in self.history or CUSTOMER_CODE not in barcode:
            return json_response({"Errors": [{"Description": "Geen zending gevonden"}]}, 404)
        return json_response(
            {"CurrentStatus": {"Shipment": {"Barcode": barcode, "Status": self._status(barcode, iso=False)}}}
        )

    def on_updated(self, request: Request, customer: str) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        periods = request.args.getlist("period")
        try:
            start, end = (datetime.fromisoformat(p).replace(tzinfo=_AMSTERDAM) for p in periods)
        except ValueError:
            return json_response({"Errors": [{"Description": "Invalid period"}]}, 400)
        if customer != CUSTOMER_NUMBER:
            return json_response({"Errors": [{"Description": "Unknown customer"}]}, 401)
        if end - start > timedelta(hours=2) or self.clock() - start > timedelta(hours=48):
            return json_response({"Errors": [{"Description": "Period too long or too far back"}]}, 400)
        changed = [
            {"Barcode": b, "Status": self._status(b, iso=True)}
            for b, history in self.history.items()
            if CUSTOMER_CODE in b and any(start <= at <= end for _, at in history)
        ]
        return json_response(changed)
