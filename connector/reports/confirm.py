"""Staff's one click: a replacement waiting as ``proposed`` goes to the outbox, or is declined.

Confirming moves the CREATE_REPLACEMENT action to ``pending`` (the worker creates it in the shop), records on
the incident who confirmed it and when, and makes the order due so the report policy tells the customer
(``connector.policies.order_problem``). Declining cancels the action and records that too. Only the viewer's
shops' actions, and only while they are proposed: a second click changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.actions import PROPOSED, ActionKind
from connector.incidents import add_details, get
from connector.store.tables import ActionRow, IncidentRow, OrderRow
from connector.wakeup import announce

CONFIRMED, DECLINED = "confirmed", "declined"


@dataclass(frozen=True)
class Proposed:
    """A replacement staff may confirm: the action, its order and what it would send."""

    action_id: int
    order_id: int
    state: str
    payload: dict[str, Any]


def for_order(session: Session, shop_ids: Collection[str], order_id: int) -> list[Proposed]:
    """The order's replacements (proposed or not), newest first."""
    rows = session.execute(
        select(ActionRow.id, ActionRow.order_id, ActionRow.state, ActionRow.payload)
        .where(
            ActionRow.order_id == order_id,
            ActionRow.shop_id.in_(list(shop_ids)),
            ActionRow.kind == ActionKind.CREATE_REPLACEMENT.value,
        )
        .order_by(ActionRow.id.desc())
    ).all()
    return [Proposed(r[0], r[1], r[2], dict(r[3] or {})) for r in rows]


def decide(
    session: Session, shop_ids: Collection[str], action_id: int, choice: str, who: str, now: datetime
) -> Proposed | None:
    """Confirm or decline one proposed replacement; None when it is not the viewer's or not proposed any more."""
    row = session.execute(
        select(ActionRow.id, ActionRow.order_id, ActionRow.incident_id, ActionRow.payload).where(
            ActionRow.id == action_id,
            ActionRow.shop_id.in_(list(shop_ids)),
            ActionRow.kind == ActionKind.CREATE_REPLACEMENT.value,
            ActionRow.state == PROPOSED,
        )
    ).first()
    if row is None or row.order_id is None:
        return None
    values: dict[str, Any] = (
        {"state": "pending", "next_attempt_at": now}
        if choice == CONFIRMED
        else {"state": "cancelled", "done_at": now, "last_error": f"declined by {who}"}
    )
    changed = session.execute(
        update(ActionRow)
        .where(ActionRow.id == action_id, ActionRow.state == PROPOSED)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        return None
    order = session.get(OrderRow, row.order_id)
    kind = _incident_kind(session, row.incident_id)
    if order is not None and kind is not None:
        incident = get(session, order.id, kind)
        if incident is not None:
            add_details(session, incident, {"replacement": {"state": choice, "at": now.isoformat(), "by": who}}, now)
        order.next_check_at = now if order.next_check_at is None or order.next_check_at > now else order.next_check_at
    announce(session)
    return Proposed(row.id, row.order_id, "pending" if choice == CONFIRMED else "cancelled", dict(row.payload or {}))


def _incident_kind(session: Session, incident_id: int | None) -> str | None:
    if incident_id is None:
        return None
    return session.scalar(select(IncidentRow.kind).where(IncidentRow.id == incident_id))
