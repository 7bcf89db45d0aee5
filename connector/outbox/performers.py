"""The standard performers: platform writes through the shop's client, call tasks in our database,
customer messages (``connector.outbox.notify``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from connector.actions import PLATFORM_ACTIONS, ActionKind, ActionRequest
from connector.outbox.fulfillment_events import FulfillmentEventPerformer
from connector.outbox.notify import NotifyPerformer
from connector.store.db import transaction
from connector.store.tables import ActionRow, CallTaskRow

if TYPE_CHECKING:
    from connector.outbox.base import Environment, Performer


class PlatformPerformer:
    """Actions carried out by the shop platform's client."""

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        return env.client_for(request.shop_id).perform(request)

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        return env.client_for(request.shop_id).already_done(request)


class CallTaskPerformer:
    """Call tasks live in our own database, for the shop's staff (dashboard, CLI)."""

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        existing = self.already_done(request, env)
        if existing is not None:
            return existing
        now = env.services.now()
        with transaction(env.services.sessions) as session:
            action = session.get(ActionRow, request.action_id)
            due_at = request.payload.get("due_at")
            task = CallTaskRow(
                shop_id=request.shop_id,
                order_id=action.order_id if action else None,
                incident_id=action.incident_id if action else None,
                action_id=request.action_id,
                reason=str(request.payload.get("reason", "")),
                due_at=datetime.fromisoformat(due_at) if due_at else now,
                state="open",
                created_at=now,
            )
            session.add(task)
            session.flush()
            return {"call_task_id": task.id}

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        with env.services.sessions() as session:
            task_id = session.scalar(select(CallTaskRow.id).where(CallTaskRow.action_id == request.action_id))
        return {"call_task_id": task_id} if task_id is not None else None


def standard_performers() -> dict[ActionKind, Performer]:
    """The performer for every kind of action: the platform's client, our call tasks, customer messages."""
    platform = PlatformPerformer()
    performers: dict[ActionKind, Performer] = {kind: platform for kind in PLATFORM_ACTIONS}
    performers[ActionKind.CREATE_CALL_TASK] = CallTaskPerformer()
    performers[ActionKind.NOTIFY_CUSTOMER] = NotifyPerformer()
    performers[ActionKind.CREATE_FULFILLMENT_EVENT] = FulfillmentEventPerformer()
    return performers
