"""Promise rows: recorded when a message that names a date is accepted, loaded for the tick, ended once.

``record_message`` runs in the transaction that logs the message as sent (``connector.outbox.notify``), so
a message and its promises are stored together or not at all; it ends the order's older open promises
(the new message followed them up) and makes the order due, so the follow-up policy sees the new promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector.model import Order
from connector.promises import rules
from connector.promises.rules import PromiseView
from connector.store.tables import OrderRow, PromiseRow


def _view(row: PromiseRow) -> PromiseView:
    return PromiseView(
        kind=row.kind,
        promised=row.promised_on,
        made_at=row.made_at,
        awaits=row.awaits,
        id=row.id,
        ended=row.ended,
        ended_at=row.ended_at,
        policy=row.policy,
        template=row.template,
        action_id=row.action_id,
    )


def record_message(
    session: Session,
    *,
    shop_id: str,
    order_id: int | None,
    action_id: int,
    policy: str,
    template: str,
    context: Mapping[str, Any],
    order: Order | None,
    sent_at: datetime,
    tz: tzinfo,
) -> list[int]:
    """Store the promises an accepted message gave (none twice for one action); the new rows' ids."""
    given = rules.dates_in(context)
    if order_id is None or not given:
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new: list[int] = []
    for kind, day in given:
        statement = (
            insert(PromiseRow)
            .values(
                shop_id=shop_id,
                order_id=order_id,
                action_id=action_id,
                policy=policy[:32],
                template=template[:64],
                kind=kind,
                promised_on=day,
                awaits=rules.awaits(kind, order, policy),
                made_at=sent_at,
                ended=rules.OPEN,
            )
            .on_conflict_do_nothing(index_elements=["action_id", "kind"])
            .returning(PromiseRow.id)
        )
        promise_id = session.execute(statement).scalar()
        if promise_id is not None:
            new.append(promise_id)
    if new:
        older = session.scalars(
            select(PromiseRow).where(
                PromiseRow.order_id == order_id, PromiseRow.ended == rules.OPEN, PromiseRow.id.not_in(new)
            )
        )
        for row in older:
            end(session, row.id, rules.superseded(_view(row), sent_at, tz), sent_at)
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, (OrderRow.next_check_at.is_(None)) | (OrderRow.next_check_at > sent_at))
            .values(next_check_at=sent_at)
            .execution_options(synchronize_session=False)
        )
    return new


def end(session: Session, promise_id: int, ended: str, at: datetime) -> bool:
    """End an open promise (``met``, ``followed_up``, ``missed``, ``cancelled``); False if it had ended."""
    if ended == rules.OPEN:
        raise ValueError("a promise ends as met, followed_up, missed or cancelled, not open")
    result = session.execute(
        update(PromiseRow)
        .where(PromiseRow.id == promise_id, PromiseRow.ended == rules.OPEN)
        .values(ended=ended, ended_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def open_for_orders(session: Session, order_ids: Iterable[int]) -> dict[int, tuple[PromiseView, ...]]:
    """The open promises of many orders in one query: order id -> promises, oldest first."""
    ids = list(order_ids)
    found: dict[int, list[PromiseView]] = {}
    if ids:
        query = (
            select(PromiseRow)
            .where(PromiseRow.order_id.in_(ids), PromiseRow.ended == rules.OPEN)
            .order_by(PromiseRow.made_at, PromiseRow.id)
        )
        for row in session.scalars(query):
            found.setdefault(row.order_id, []).append(_view(row))
    return {order_id: tuple(views) for order_id, views in found.items()}


@dataclass(frozen=True)
class ListedPromise:
    """A promise with the shop and order number it belongs to (reports, the demo, the tracking page)."""

    shop_id: str
    order_id: int
    order_number: str
    promise: PromiseView


def listed(
    session: Session, *, shop_ids: Iterable[str] | None = None, order_id: int | None = None
) -> list[ListedPromise]:
    """Every promise (of some shops or one order), in the order they were made."""
    query = select(PromiseRow, OrderRow.number).join(OrderRow, OrderRow.id == PromiseRow.order_id)
    if shop_ids is not None:
        query = query.where(PromiseRow.shop_id.in_(list(shop_ids)))
    if order_id is not None:
        query = query.where(PromiseRow.order_id == order_id)
    rows = session.execute(query.order_by(PromiseRow.made_at, PromiseRow.id)).all()
    return [ListedPromise(row.shop_id, row.order_id, number, _view(row)) for row, number in rows]
