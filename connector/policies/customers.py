"""One voice per customer across orders: no review request to a customer whose other order is in trouble.

The review policy sees one order. Before a round's review requests are written, this reads, in one query
per kind, which of those customers (same shop, same e-mail) have an open incident on another order or got
an apology (a delay, stale or missed-next-day message) in the last ``review.quiet_after_apology_days``
days, or have one planned and not sent yet (waiting for the morning, say), or get one in this same round;
their requests are held back and the order is looked at again a day later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from connector.actions import ActionKind
from connector.model import Order
from connector.policies.base import Decision, PolicyContext
from connector.store.tables import ActionRow, EmailLog, IncidentRow, OrderRow

APOLOGIES = ("delay_notice", "next_day_missed", "stale_update", "order_problem")
LOOK_AGAIN = timedelta(days=1)


def _asks_review(decision: Decision) -> bool:
    return any(s.action.kind is ActionKind.NOTIFY_CUSTOMER and s.action.policy == "review" for s in decision.actions)


def _key(order: Order) -> tuple[str, str] | None:
    email = (order.customer.email or "").strip().lower()
    return (order.shop_id, email) if email else None


def troubled_customers(
    session: Session, now: datetime, asking: Iterable[tuple[Order, PolicyContext]]
) -> set[tuple[str, str]]:
    """(shop, e-mail) of the asking customers with an open incident on another order or a recent apology."""
    orders = {(_key(order), order.external_id, ctx.config.review.quiet_after_apology_days) for order, ctx in asking}
    keys = {key for key, _, _ in orders if key is not None}
    if not keys:
        return set()
    email = func.lower(OrderRow.customer_email)
    open_elsewhere = session.execute(
        select(OrderRow.shop_id, email, OrderRow.external_id)
        .join(IncidentRow, IncidentRow.order_id == OrderRow.id)
        .where(tuple_(OrderRow.shop_id, email).in_(list(keys)), IncidentRow.state.in_(("open", "escalated")))
    ).all()
    troubled = {(shop, mail) for shop, mail, external_id in open_elsewhere
                if any(key == (shop, mail) and own != external_id for key, own, _ in orders)}  # fmt: skip
    days = max(d for _, _, d in orders)
    apologised = session.execute(
        select(EmailLog.shop_id, func.lower(EmailLog.recipient), EmailLog.sent_at).where(
            tuple_(EmailLog.shop_id, func.lower(EmailLog.recipient)).in_(list(keys)),
            EmailLog.template.in_(APOLOGIES),
            EmailLog.sent_at > now - timedelta(days=days),
        )
    ).all()
    window = {key: d for key, _, d in orders if key is not None}
    troubled |= {(shop, mail) for shop, mail, sent in apologised if sent > now - timedelta(days=window[(shop, mail)])}
    planned = session.execute(
        select(OrderRow.shop_id, email, ActionRow.payload)
        .join(ActionRow, ActionRow.order_id == OrderRow.id)
        .where(
            tuple_(OrderRow.shop_id, email).in_(list(keys)),
            ActionRow.kind == ActionKind.NOTIFY_CUSTOMER.value,
            ActionRow.state == "pending",
        )
    ).all()
    troubled |= {(shop, mail) for shop, mail, payload in planned if (payload or {}).get("template") in APOLOGIES}
    return troubled


def apologising(decided: Iterable[tuple[Order, list[Decision]]]) -> set[tuple[str, str]]:
    """(shop, e-mail) of the customers whose orders get an apology in these decisions (this round's)."""
    found = set()
    for order, decisions in decided:
        key = _key(order)
        if key is not None and any(
            s.action.kind is ActionKind.NOTIFY_CUSTOMER and s.action.payload.get("template") in APOLOGIES
            for d in decisions
            for s in d.actions
        ):
            found.add(key)
    return found


def hold_reviews(decisions: list[Decision]) -> bool:
    """Take the review request out of an order's decisions; True if there was one."""
    held = False
    for decision in decisions:
        if _asks_review(decision):
            decision.actions = [s for s in decision.actions if s.action.policy != "review"]
            held = True
    return held


def asks_review(decisions: Iterable[Decision]) -> bool:
    return any(_asks_review(d) for d in decisions)


def key_of(order: Order) -> tuple[str, str] | None:
    return _key(order)


def mails_out_of_stock(decisions: Iterable[Decision]) -> bool:
    """Whether these decisions e-mail the customer about an out-of-stock item."""
    return any(
        s.action.kind is ActionKind.NOTIFY_CUSTOMER and s.action.policy == "out_of_stock"
        for d in decisions
        for s in d.actions
    )
