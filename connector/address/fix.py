"""The hand-over when a customer corrects their address on the fix page (and the order a link is for).

In one transaction: use the link up, put the new address in the stored order (so the address policy sees it
at once), plan the shop update, the release of our hold (only after the shop has the new address, so the
warehouse never ships to the old one) and a staff note, record the address as typed and as corrected on the
incident, resolve it, and look at the order again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import codec, incidents
from connector.actions import ActionKind, PlannedAction
from connector.address import change, fixlinks
from connector.metrics import Metrics
from connector.model import Address, Order
from connector.outbox.queue import plan
from connector.store.tables import FixToken, IncidentRow, OrderRow

RESOLUTION = "address corrected by customer"


def stored_order(session: Session, token: FixToken | None) -> Order | None:
    """The order a link is for, as stored now; None without a link or when the order is gone."""
    row = session.get(OrderRow, token.order_id) if token is not None else None
    return codec.load_order(row.data) if row is not None else None


@dataclass(frozen=True)
class FixResult:
    accepted: bool
    state: fixlinks.LinkState | None = None  # why not: used or expired since the page was shown
    used_at: datetime | None = None  # when the link was used, if it was


def _record_change(session: Session, incident_id: int, before: Address | None, after: Address) -> None:
    """The incident keeps the address as typed and as the customer corrected it (``connector.address.change``)."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        return
    details = dict(row.details or {})
    details[change.ADDRESS_KEY] = change.corrected(details.get(change.ADDRESS_KEY), before, after, change.CUSTOMER)
    row.details = details
    session.flush()


def accept(
    session: Session, token: FixToken, address: Address, note: str, now: datetime, metrics: Metrics | None = None
) -> FixResult:
    """Apply the customer's address for the order ``token`` names; nothing changes if the link was used up."""
    if not fixlinks.mark_used(session, token.id, now):
        fresh = session.get(FixToken, token.id)
        state = fixlinks.LinkState.USED if fresh is not None and fresh.used_at else fixlinks.LinkState.EXPIRED
        return FixResult(False, state, fresh.used_at if fresh is not None else None)
    query = select(OrderRow).where(OrderRow.id == token.order_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalars(query).one()
    stored = codec.load_order(row.data)
    row.data = codec.dump_order(stored.with_changes(shipping_address=address))
    row.next_check_at = now
    prefix = f"fix-{token.id}-"
    steps = (
        PlannedAction(ActionKind.UPDATE_ADDRESS, "address", prefix + "address", {"address": codec.dump(address)}),
        PlannedAction(ActionKind.RELEASE_HOLD, "address", prefix + "release", {}, after_step=prefix + "address"),
        PlannedAction(ActionKind.ADD_NOTE, "address", prefix + "note", {"text": note}),
    )
    for action in steps:
        plan(
            session,
            shop_id=token.shop_id,
            order_id=token.order_id,
            order_external_id=row.external_id,
            action=action,
            now=now,
            incident_id=token.incident_id,
        )
    if token.incident_id is not None:
        _record_change(session, token.incident_id, stored.shipping_address, address)
        incidents.resolve(session, token.incident_id, RESOLUTION, now, metrics=metrics)
    return FixResult(True)
