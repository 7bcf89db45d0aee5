"""The CREATE_FULFILLMENT_EVENT performer: one carrier status change posted to a Shopify fulfilment, once.

Before writing it reads the fulfilment's events: one written by another app means that app keeps the
fulfilment's timeline (the action is done, skipped, with the reason); the same event of ours (status, time,
marker) means an earlier attempt already wrote it. Shopify refuses the mutation without ``write_fulfillments``;
that refusal is permanent and keeps Shopify's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.actions import ActionRequest
from connector.model import Platform
from connector.platforms.base import PermanentError
from connector.platforms.shopify.fulfillment_events import event_input, is_ours
from connector.platforms.shopify.mapper import to_gid

if TYPE_CHECKING:
    from connector.outbox.base import Environment

SKIPPED_OTHER_APP = "another app writes this fulfilment's events"


def _moment(value: Any) -> datetime | None:
    """An ISO time to the second (Shopify answers ``happenedAt`` in UTC without fractions)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(microsecond=0)
    except ValueError:
        return None


class FulfillmentEventPerformer:
    """Writes through the shop's Shopify client (``execute`` of the named documents)."""

    def _execute(self, request: ActionRequest, env: Environment, name: str, variables: Mapping[str, Any]) -> Any:
        shop = env.shop(request.shop_id)
        if shop.platform is not Platform.SHOPIFY:
            raise PermanentError(f"{request.kind.value}: only a Shopify shop has fulfilment events")
        client = env.client_for(request.shop_id)
        execute = getattr(client, "execute", None)
        if execute is None:
            raise PermanentError(f"{request.kind.value}: the shop's client cannot run Shopify documents")
        return execute(name, variables)

    def _events(self, request: ActionRequest, env: Environment) -> tuple[str, list[Mapping[str, Any]]]:
        gid = to_gid("Fulfillment", str(request.payload["fulfillment_id"]))
        data = self._execute(request, env, "FulfillmentEvents", {"id": gid})
        fulfillment = data.get("fulfillment") if isinstance(data, Mapping) else None
        if not isinstance(fulfillment, Mapping):
            raise PermanentError(f"fulfilment {gid} not found in the shop")
        nodes = (fulfillment.get("events") or {}).get("nodes") or []
        return gid, [n for n in nodes if isinstance(n, Mapping)]

    @staticmethod
    def _found(events: list[Mapping[str, Any]], payload: Mapping[str, Any]) -> dict[str, Any] | None:
        if any(not is_ours(e.get("message")) for e in events):
            return {"skipped": SKIPPED_OTHER_APP}
        wanted = _moment(payload["happened_at"])
        for e in events:
            if e.get("status") == payload["status"] and _moment(e.get("happenedAt")) == wanted:
                return {"fulfillment_event_id": e.get("id"), "status": payload["status"]}
        return None

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        gid, events = self._events(request, env)
        found = self._found(events, request.payload)
        if found is not None:
            return found
        variables = {"event": event_input(gid, request.payload)}
        data = self._execute(request, env, "FulfillmentEventCreate", variables)
        answer = (data.get("fulfillmentEventCreate") if isinstance(data, Mapping) else None) or {}
        errors = [e for e in answer.get("userErrors") or [] if isinstance(e, Mapping)]
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors)
            raise PermanentError(f"fulfillmentEventCreate: {message}", platform_message=message)
        created = answer.get("fulfillmentEvent") or {}
        return {"fulfillment_event_id": created.get("id"), "status": request.payload["status"]}

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        _, events = self._events(request, env)
        return self._found(events, request.payload)
