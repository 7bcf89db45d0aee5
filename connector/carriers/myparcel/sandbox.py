"""A local stand-in for MyParcel: ``/tracktraces`` and the ``shipment_status_change`` webhook.

From myparcelnl/developer (``src/api-reference``): the webhook carries only ``{shipment_id, account_id, shop_id,
status, barcode}`` in ``data.hooks`` (several at once possible) with ``X-MyParcel-Authorization`` = base64 of the
API key and no time; "we will not send an update with a status 1". ``GET /tracktraces/{id;id}`` answers with
Europe/Amsterdam times without an offset, a ``delayed`` flag and a delivery window; 100 calls per 5 minutes
where the refused calls count too (429 with ``Retry-After``). Unpleasant parts on purpose: statuses outside
the documented list (``UNPUBLISHED``), an HTML answer (``garbage``), repeated and reordered hooks.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
from werkzeug.wrappers import Request, Response

from connector.carriers.config import RateLimit
from connector.carriers.myparcel.adapter import authorization
from connector.carriers.stand_in import StandIn, Window, garbage_response, json_response, too_many
from connector.clock import Clock, system_clock

API_KEY = "sandbox-myparcel-key-0123456789"
UNPUBLISHED = 42
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_MAIN = {1: "pending", 2: "registered", 3: "handed_to_carrier", 4: "sorting", 5: "distribution", 6: "customs"}
_MAIN.update({7: "delivered", 8: "delivered", 9: "delivered"})
_CODES = {2: "A01", 3: "B01", 4: "J01", 5: "J05", 7: "I01", 8: "I07", 9: "I08"}  # PostNL event codes


@dataclass
class SandboxShipment:
    id: int
    barcode: str
    postal_code: str
    history: list[tuple[int, datetime]] = field(default_factory=list)
    delayed: bool = False
    window: tuple[datetime, datetime] | None = None


def _local(moment: datetime) -> str:
    return moment.astimezone(_AMSTERDAM).strftime("%Y-%m-%d %H:%M:%S")


class MyParcelSandbox(StandIn):
    routes = (("/tracktraces/<ids>", "tracktraces"),)

    def __init__(self, clock: Clock = system_clock, *, api_key: str = API_KEY, limit: RateLimit | None = None) -> None:
        super().__init__(clock)
        self.api_key = api_key
        self.window = Window(limit or RateLimit(calls=100, per_seconds=300), count_refused=True)
        self.shipments: dict[str, SandboxShipment] = {}

    def add_shipment(self, barcode: str, *, postal_code: str = "1234AB") -> SandboxShipment:
        shipment = SandboxShipment(25482400 + len(self.shipments), barcode, postal_code)
        self.shipments[str(shipment.id)] = shipment
        return shipment

    def move(self, shipment_id: int, status: int, at: datetime) -> None:
        self.shipments[str(shipment_id)].history.append((status, at))

    def webhook(self, *changes: tuple[int, int]) -> bytes:
        """The body for (shipment id, status) changes, in one delivery."""
        hooks = [
            {
                "shipment_id": str(shipment_id),
                "account_id": 7003,
                "shop_id": 1897,
                "status": status,
                "barcode": self.shipments[str(shipment_id)].barcode,
            }
            for shipment_id, status in changes
        ]
        return json.dumps({"data": {"hooks": hooks}}).encode()

    def headers(self, *, api_key: str | None = None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-MyParcel-Hook": "shipment_status_change",
            "X-MyParcel-HookId": "1",
            "X-MyParcel-Authorization": authorization(api_key or self.api_key),
        }

    def deliver(self, url: str, body: bytes, *, api_key: str | None = None) -> requests.Response:
        return requests.post(url, data=body, headers=self.headers(api_key=api_key), timeout=10)

    def on_tracktraces(self, request: Request, ids: str) -> Response:
        expected = "basic " + base64.b64encode(self.api_key.encode()).decode()
        if request.headers.get("Authorization", "").lower() != expected.lower() or not request.headers.get(
            "User-Agent"
        ):
            return json_response({"errors": [{"code": 3000, "message": "Access Denied"}], "message": "Denied"}, 401)
        wait = self.window.admit(self.clock())
        if wait is not None:
            return too_many(wait, {"errors": [{"code": 429, "message": "Too many requests"}]})
        if self.garbage:
            return garbage_response()
        found = [self.shipments[i] for i in ids.split(";") if i in self.shipments and self.shipments[i].history]
        return json_response({"data": {"tracktraces": [self._tracktrace(s) for s in found]}})

    def _tracktrace(self, shipment: SandboxShipment) -> dict[str, Any]:
        status, at = max(shipment.history, key=lambda h: h[1])
        window = shipment.window
        moment = (
            {
                "start": {"date": _local(window[0]) + ".000000", "timezone_type": 3, "timezone": "Europe/Amsterdam"},
                "end": {"date": _local(window[1]) + ".000000", "timezone_type": 3, "timezone": "Europe/Amsterdam"},
            }
            if window
            else None
        )
        return {
            "shipment_id": shipment.id,
            "carrier": 1,
            "code": _CODES.get(status, "X99"),
            "description": _MAIN.get(status, "unknown"),
            "time": _local(at),
            "status": {"current": status, "main": _MAIN.get(status, "unknown"), "final": status in (7, 9)},
            "delayed": shipment.delayed,
            "delivery_moment_type": "estimated" if window else None,
            "delivery_moment": moment,
            "recipient": {"cc": "NL", "postal_code": shipment.postal_code},
            "history": [
                {"code": _CODES.get(s, "X99"), "description": _MAIN.get(s), "time": _local(t)}
                for s, t in sorted(shipment.history, key=lambda h: h[1])
            ],
        }
