"""A local stand-in for Sendcloud: the tracking read and the signed ``parcel_status_changed`` webhook.

Built from the published documentation: the webhook body of https://sendcloud.dev/api/v2/webhooks/parcel-status-changed
(``timestamp`` and ``carrier_status_change_timestamp`` in milliseconds, ``parcel.status {id, message}``), the
``Sendcloud-Signature`` hex HMAC-SHA256 of the raw body; ``GET /api/v3/parcels/tracking/{n}`` with Basic auth of
the key pair, 404 for a number it does not know; GET limited to 1,000 per minute with 429 and ``Retry-After``.
Unpleasant parts on purpose: status ids it has never published (``UNPUBLISHED``), deliveries repeated and out
of order (``deliver`` sends whatever body it is given, any number of times), and an HTML answer (``garbage``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from werkzeug.wrappers import Request, Response

from connector.carriers.config import RateLimit
from connector.carriers.sendcloud.adapter import sign
from connector.carriers.sendcloud.mapper import NAMES
from connector.carriers.stand_in import StandIn, Window, garbage_response, json_response, too_many
from connector.clock import Clock, system_clock

PUBLIC_KEY = "sandbox-public-key"
SECRET_KEY = "sandbox-secret-key-0123456789"  # noqa: S105 - a loopback stand-in's own key
UNPUBLISHED = 64001  # a status id Sendcloud may add any day
_MESSAGES = {v: k.capitalize() for k, v in NAMES.items()}


@dataclass
class SandboxParcel:
    id: int
    tracking_number: str
    order_number: str | None
    postal_code: str
    carrier: str
    history: list[tuple[int, datetime]] = field(default_factory=list)  # (status id, carrier time)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class SendcloudSandbox(StandIn):
    routes = (("/api/v3/parcels/tracking/<number>", "tracking"),)

    def __init__(
        self,
        clock: Clock = system_clock,
        *,
        public_key: str = PUBLIC_KEY,
        secret_key: str = SECRET_KEY,
        limit: RateLimit | None = None,
    ) -> None:
        super().__init__(clock)
        self.public_key, self.secret_key = public_key, secret_key
        self.window = Window(limit or RateLimit(calls=1000, per_seconds=60))
        self.parcels: dict[str, SandboxParcel] = {}

    # --- the merchant's parcels ------------------------------------------------------------------

    def add_parcel(
        self, tracking_number: str, *, order_number: str | None, postal_code: str = "1234 AB", carrier: str = "postnl"
    ) -> SandboxParcel:
        parcel = SandboxParcel(len(self.parcels) + 1001, tracking_number, order_number, postal_code, carrier)
        self.parcels[tracking_number] = parcel
        return parcel

    def move(self, tracking_number: str, status_id: int, at: datetime) -> None:
        self.parcels[tracking_number].history.append((status_id, at))

    # --- webhooks ---------------------------------------------------------------------------------

    def webhook(self, tracking_number: str, status_id: int, at: datetime, *, sent_at: datetime | None = None) -> bytes:
        """The body Sendcloud sends for one status change (``at`` is the carrier's time)."""
        parcel = self.parcels[tracking_number]
        body = {
            "action": "parcel_status_changed",
            "timestamp": _ms(sent_at or at),
            "carrier_status_change_timestamp": _ms(at),
            "parcel": {
                "id": parcel.id,
                "name": "S. de Vries",
                "postal_code": parcel.postal_code,
                "country": {"iso_2": "NL", "iso_3": "NLD", "name": "Netherlands"},
                "tracking_number": parcel.tracking_number,
                "status": {"id": status_id, "message": _MESSAGES.get(status_id, "Unknown status")},
                "carrier": {"code": parcel.carrier},
                "shipment": {"id": 8, "name": "PostNL Standard 0-23kg"},
                "order_number": parcel.order_number,
                "external_order_id": parcel.order_number,
                "date_created": (at.astimezone(UTC)).strftime("%d-%m-%Y %H:%M:%S"),
            },
        }
        return json.dumps(body).encode()

    def headers(self, body: bytes, *, secret: str | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json", "Sendcloud-Signature": sign(body, secret or self.secret_key)}

    def deliver(self, url: str, body: bytes, *, secret: str | None = None) -> requests.Response:
        return requests.post(url, data=body, headers=self.headers(body, secret=secret), timeout=10)

    # --- the API ----------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.public_key}:{self.secret_key}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    def on_tracking(self, request: Request, number: str) -> Response:
        if not self._authorised(request):
            return json_response({"error": {"code": 401, "message": "Invalid username/password."}}, 401)
        wait = self.window.admit(self.clock())
        if wait is not None:
            return too_many(wait, {"errors": [{"status": "429", "detail": "Request was throttled."}]})
        if self.garbage:
            return garbage_response()
        parcel = self.parcels.get(number)
        if parcel is None:
            return json_response({"errors": [{"status": "404", "code": "not_found", "detail": "Not found."}]}, 404)
        return json_response(
            {
                "tracking_number": parcel.tracking_number,
                "parcel_id": str(parcel.id),
                "carrier_code": parcel.carrier,
                "details": {"expected_delivery_date": None, "is_return": False},
                "events": [
                    {
                        "parent_status": _MESSAGES.get(code, str(code)).lower() if code != UNPUBLISHED else code,
                        "carrier_message": _MESSAGES.get(code, "New status"),
                        "carrier_code": f"C{code}",
                        "carrier_update_timestamp": at.astimezone(UTC).isoformat(),
                    }
                    for code, at in parcel.history
                ],
            }
        )


__all__ = ["PUBLIC_KEY", "SECRET_KEY", "UNPUBLISHED", "SandboxParcel", "SendcloudSandbox"]
