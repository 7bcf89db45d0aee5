"""The dashboard's list and detail queries: today's work, the incident search, one incident's timeline.

Every function takes the viewer's shop ids and filters on them in SQL, so a row of another shop is
never read; a detail lookup outside those shops returns None (the view answers 404).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from connector.admin.insights import carrier_of, country_of, shipping_method_of
from connector.codec import load_order
from connector.model import Order
from connector.store.tables import (
    ActionAttempt,
    ActionRow,
    CallTaskRow,
    CustomerContact,
    EmailLog,
    IncidentRow,
    OrderRow,
    RawEvent,
    ShopRow,
    VoucherRow,
)

# --- shops ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopInfo:
    id: str
    name: str
    platform: str
    key: str
    timezone: str


def shops(session: Session, shop_ids: Collection[str]) -> list[ShopInfo]:
    rows = session.scalars(select(ShopRow).where(ShopRow.id.in_(shop_ids)).order_by(ShopRow.id))
    return [ShopInfo(r.id, r.name or r.id, r.platform, r.key, r.timezone) for r in rows]


def _admin_url_shopify(key: str, external_id: str) -> str:
    return f"https://{key}/admin/orders/{external_id}"


def _admin_url_woocommerce(key: str, external_id: str) -> str:
    return f"{key.rstrip('/')}/wp-admin/post.php?post={external_id}&action=edit"


ADMIN_URLS = {"shopify": _admin_url_shopify, "woocommerce": _admin_url_woocommerce}


def platform_order_url(shop: ShopInfo, external_id: str) -> str | None:
    build = ADMIN_URLS.get(shop.platform)
    return build(shop.key, external_id) if build else None


# --- today ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallTaskItem:
    id: int
    shop_id: str
    order_id: int | None
    order_number: str | None
    incident_id: int | None
    reason: str
    due_at: datetime
    assigned_to: str | None


def call_tasks_due(
    session: Session, shop_ids: Collection[str], until: datetime, limit: int = 200
) -> list[CallTaskItem]:
    """Open call tasks due before ``until`` (the end of the shop's day), most overdue first."""
    rows = session.execute(
        select(CallTaskRow, OrderRow.number)
        .outerjoin(OrderRow, OrderRow.id == CallTaskRow.order_id)
        .where(CallTaskRow.shop_id.in_(shop_ids), CallTaskRow.state == "open", CallTaskRow.due_at < until)
        .order_by(CallTaskRow.due_at, CallTaskRow.id)
        .limit(limit)
    ).all()
    return [
        CallTaskItem(t.id, t.shop_id, t.order_id, number, t.incident_id, t.reason, t.due_at, t.assigned_to)
        for t, number in rows
    ]


def call_task(session: Session, shop_ids: Collection[str], task_id: int) -> CallTaskRow | None:
    return session.scalars(
        select(CallTaskRow).where(CallTaskRow.id == task_id, CallTaskRow.shop_id.in_(shop_ids))
    ).first()


@dataclass(frozen=True)
class FailedAction:
    id: int
    shop_id: str
    order_id: int | None
    order_number: str | None
    incident_id: int | None
    kind: str
    policy: str
    attempts: int
    last_error: str | None
    failed_at: datetime | None
    held_back: tuple[str, ...] = ()  # kinds of the actions cancelled because this one failed; a retry re-arms them


def failed_actions(session: Session, shop_ids: Collection[str], limit: int = 200) -> list[FailedAction]:
    rows = session.execute(
        select(ActionRow, OrderRow.number)
        .outerjoin(OrderRow, OrderRow.id == ActionRow.order_id)
        .where(ActionRow.shop_id.in_(shop_ids), ActionRow.state == "failed")
        .order_by(ActionRow.done_at.desc(), ActionRow.id.desc())
        .limit(limit)
    ).all()
    held_back = _held_back(session, [a.idempotency_key for a, _ in rows])
    return [
        FailedAction(
            a.id,
            a.shop_id,
            a.order_id,
            number,
            a.incident_id,
            a.kind,
            a.policy,
            a.attempts,
            a.last_error,
            a.done_at,
            tuple(held_back.get(a.idempotency_key, ())),
        )
        for a, number in rows
    ]


def _held_back(session: Session, keys: list[str]) -> dict[str, list[str]]:
    """Per failed action's key: the kinds of its followers (and theirs) cancelled because it failed."""
    result: dict[str, list[str]] = {key: [] for key in keys}
    frontier = {key: key for key in keys}  # a follower's key -> the failed action it traces back to
    while frontier:
        followers = session.execute(
            select(ActionRow.idempotency_key, ActionRow.after_key, ActionRow.kind, ActionRow.result)
            .where(ActionRow.after_key.in_(list(frontier)), ActionRow.state == "cancelled")
            .order_by(ActionRow.id)
        ).all()
        next_frontier: dict[str, str] = {}
        for key, after_key, kind, outcome in followers:
            if (outcome or {}).get("cancelled_after") == after_key:
                result[frontier[after_key]].append(kind)
                next_frontier[key] = frontier[after_key]
        frontier = next_frontier
    return result


def action_state(session: Session, shop_ids: Collection[str], action_id: int) -> str | None:
    return session.scalar(select(ActionRow.state).where(ActionRow.id == action_id, ActionRow.shop_id.in_(shop_ids)))


# --- incident search -----------------------------------------------------------------------------

STATES: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "escalated": ("escalated",),
    "resolved": ("resolved",),
    "unresolved": ("open", "escalated"),
}


@dataclass(frozen=True)
class IncidentFilters:
    kind: str | None = None
    state: str | None = None  # a key of STATES
    shipping_method: str | None = None
    carrier: str | None = None
    country: str | None = None
    start: datetime | None = None  # opened at or after
    end: datetime | None = None  # opened before


@dataclass(frozen=True)
class IncidentItem:
    id: int
    shop_id: str
    kind: str
    state: str
    level: int
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    order_id: int
    order_number: str
    shipping_method: str | None
    carrier: str | None
    country: str | None


IncidentQuery = Select[IncidentRow, str, str, str, str]


def _incident_query(shop_ids: Collection[str], filters: IncidentFilters) -> IncidentQuery:
    method, carrier, country = shipping_method_of(), carrier_of(), country_of()
    query: IncidentQuery = (
        select(IncidentRow, OrderRow.number, method, carrier, country)
        .join(OrderRow, OrderRow.id == IncidentRow.order_id)
        .where(IncidentRow.shop_id.in_(shop_ids))
    )
    conditions: dict[str, Callable[[Any], ColumnElement[bool]]] = {
        "kind": lambda v: IncidentRow.kind == v,
        "state": lambda v: IncidentRow.state.in_(STATES[v]),
        "shipping_method": lambda v: method == v,
        "carrier": lambda v: carrier == v,
        "country": lambda v: country == v,
        "start": lambda v: IncidentRow.opened_at >= v,
        "end": lambda v: IncidentRow.opened_at < v,
    }
    for name, condition in conditions.items():
        value = getattr(filters, name)
        if value not in (None, ""):
            query = query.where(condition(value))
    return query


def _item(row: Any) -> IncidentItem:
    incident, number, method, carrier, country = row
    return IncidentItem(
        incident.id,
        incident.shop_id,
        incident.kind,
        incident.state,
        incident.level,
        incident.opened_at,
        incident.resolved_at,
        incident.resolution,
        incident.order_id,
        number,
        method,
        carrier,
        country,
    )


def search_incidents(
    session: Session, shop_ids: Collection[str], filters: IncidentFilters, page: int, per_page: int
) -> tuple[list[IncidentItem], int]:
    """One page of matching incidents (newest first) and the number of matches."""
    query = _incident_query(shop_ids, filters)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
    rows = session.execute(ordered.limit(per_page).offset((page - 1) * per_page)).all()
    return [_item(row) for row in rows], total


def iter_incidents(session: Session, shop_ids: Collection[str], filters: IncidentFilters) -> Iterator[IncidentItem]:
    """Every matching incident, streamed in batches (CSV export)."""
    query = _incident_query(shop_ids, filters).order_by(IncidentRow.opened_at.desc(), IncidentRow.id.desc())
    for row in session.execute(query.execution_options(yield_per=500)):
        yield _item(row)


@dataclass(frozen=True)
class FilterOptions:
    kinds: list[str]
    shipping_methods: list[str]
    carriers: list[str]
    countries: list[str]


def filter_options(session: Session, shop_ids: Collection[str]) -> FilterOptions:
    def values(expression: Any, needs_order: bool = True) -> list[str]:
        query = select(expression).distinct().select_from(IncidentRow)
        if needs_order:
            query = query.join(OrderRow, OrderRow.id == IncidentRow.order_id)
        rows = session.scalars(query.where(IncidentRow.shop_id.in_(shop_ids)).limit(200))
        return sorted(v for v in rows if v)

    return FilterOptions(
        kinds=values(IncidentRow.kind, needs_order=False),
        shipping_methods=values(shipping_method_of()),
        carriers=values(carrier_of()),
        countries=values(country_of()),
    )


# --- one incident --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    error: str | None


@dataclass(frozen=True)
class ActionItem:
    id: int
    kind: str
    policy: str
    state: str
    created_at: datetime
    done_at: datetime | None
    last_error: str | None
    attempts: list[Attempt]


LANES = ("saw", "did", "customer", "staff", "resolved")  # the order of entries at the same instant


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    lane: str  # saw | did | customer | staff | resolved
    title: str
    detail: str = ""


@dataclass(frozen=True)
class IncidentView:
    incident: IncidentRow | None  # None: the whole order
    incidents: list[IncidentRow]
    order: OrderRow
    snapshot: Order | None
    shop: ShopInfo
    order_url: str | None
    events: list[RawEvent]
    actions: list[ActionItem]
    emails: list[EmailLog]
    vouchers: list[VoucherRow]
    call_tasks: list[CallTaskRow]
    contacts: list[CustomerContact]
    timeline: list[TimelineEntry]


def order_in_scope(session: Session, shop_ids: Collection[str], order_id: int) -> OrderRow | None:
    return session.scalars(select(OrderRow).where(OrderRow.id == order_id, OrderRow.shop_id.in_(shop_ids))).first()


def orders_by_number(session: Session, shop_ids: Collection[str], number: str) -> list[OrderRow]:
    wanted = number.strip()
    candidates = {wanted, wanted.lstrip("#"), "#" + wanted.lstrip("#")}
    return list(
        session.scalars(
            select(OrderRow)
            .where(OrderRow.shop_id.in_(shop_ids), or_(OrderRow.number.in_(candidates), OrderRow.external_id == wanted))
            .limit(5)
        )
    )


def snapshot_of(order: OrderRow) -> Order | None:
    try:
        return load_order(order.data)
    except ValueError:  # a snapshot from an older model version: show the stored columns only
        return None


def _actions(session: Session, order: OrderRow, incident_id: int | None) -> list[ActionItem]:
    query = select(ActionRow).where(ActionRow.order_id == order.id, ActionRow.shop_id == order.shop_id)
    if incident_id is not None:
        query = query.where(or_(ActionRow.incident_id == incident_id, ActionRow.incident_id.is_(None)))
    rows = list(session.scalars(query.order_by(ActionRow.created_at, ActionRow.id).limit(500)))
    attempts: dict[int, list[Attempt]] = {row.id: [] for row in rows}
    if rows:
        for a in session.scalars(
            select(ActionAttempt)
            .where(ActionAttempt.action_id.in_(list(attempts)))
            .order_by(ActionAttempt.action_id, ActionAttempt.attempt)
        ):
            attempts[a.action_id].append(Attempt(a.attempt, a.started_at, a.finished_at, a.outcome, a.error))
    return [
        ActionItem(r.id, r.kind, r.policy, r.state, r.created_at, r.done_at, r.last_error, attempts[r.id]) for r in rows
    ]


def _timeline(view_parts: dict[str, Any], incidents: list[IncidentRow], snapshot: Order | None) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for event in view_parts["events"]:
        entries.append(TimelineEntry(event.received_at, "saw", f"{event.topic} ({event.outcome})"))
    for shipment in snapshot.shipments if snapshot else ():
        for scan in shipment.events:
            detail = " ".join(p for p in (scan.message, scan.city) if p)
            entries.append(
                TimelineEntry(scan.happened_at, "saw", f"{shipment.carrier or 'carrier'}: {scan.status}", detail)
            )
    for incident in incidents:
        entries.append(TimelineEntry(incident.opened_at, "saw", f"incident {incident.kind} opened"))
    for action in view_parts["actions"]:
        result = action.state if not action.last_error else f"{action.state}: {action.last_error}"
        entries.append(TimelineEntry(action.created_at, "did", f"{action.kind} ({action.policy})", result))
    for email in view_parts["emails"]:
        entries.append(TimelineEntry(email.sent_at, "customer", f"e-mail: {email.subject}", email.template))
    for voucher in view_parts["vouchers"]:
        what = f"voucher {voucher.code} {voucher.amount} {voucher.currency}"
        entries.append(
            TimelineEntry(
                voucher.created_at, "customer", what, voucher.state + (f": {voucher.reason}" if voucher.reason else "")
            )
        )
    for task in view_parts["call_tasks"]:
        entries.append(TimelineEntry(task.created_at, "staff", f"call task: {task.reason}", task.outcome or task.state))
    for contact in view_parts["contacts"]:
        entries.append(TimelineEntry(contact.noted_at, "staff", f"customer contact: {contact.kind}"))
    for incident in incidents:
        if incident.resolved_at is not None:
            what = f"incident {incident.kind} resolved"
            entries.append(TimelineEntry(incident.resolved_at, "resolved", what, incident.resolution or ""))
    return sorted(entries, key=lambda e: (e.at, LANES.index(e.lane)))


def _parts(session: Session, order: OrderRow, incident_id: int | None) -> dict[str, Any]:
    events = list(
        session.scalars(
            select(RawEvent)
            .where(RawEvent.shop_id == order.shop_id, RawEvent.order_external_id == order.external_id)
            .order_by(RawEvent.received_at, RawEvent.id)
            .limit(200)
        )
    )
    emails_query = select(EmailLog).where(EmailLog.order_id == order.id, EmailLog.shop_id == order.shop_id)
    vouchers_query = select(VoucherRow).where(VoucherRow.order_id == order.id, VoucherRow.shop_id == order.shop_id)
    tasks_query = select(CallTaskRow).where(CallTaskRow.order_id == order.id, CallTaskRow.shop_id == order.shop_id)
    if incident_id is not None:
        emails_query = emails_query.outerjoin(ActionRow, ActionRow.id == EmailLog.action_id).where(
            or_(ActionRow.incident_id.is_(None), ActionRow.incident_id == incident_id)
        )
        vouchers_query = vouchers_query.where(
            or_(VoucherRow.incident_id.is_(None), VoucherRow.incident_id == incident_id)
        )
        tasks_query = tasks_query.where(or_(CallTaskRow.incident_id.is_(None), CallTaskRow.incident_id == incident_id))
    contacts = select(CustomerContact).where(
        CustomerContact.order_id == order.id, CustomerContact.shop_id == order.shop_id
    )
    return {
        "events": events,
        "actions": _actions(session, order, incident_id),
        "emails": list(session.scalars(emails_query.order_by(EmailLog.sent_at).limit(200))),
        "vouchers": list(session.scalars(vouchers_query.order_by(VoucherRow.created_at).limit(200))),
        "call_tasks": list(session.scalars(tasks_query.order_by(CallTaskRow.created_at).limit(200))),
        "contacts": list(session.scalars(contacts.order_by(CustomerContact.noted_at).limit(200))),
    }


def _view(session: Session, order: OrderRow, incident: IncidentRow | None) -> IncidentView:
    shop = shops(session, [order.shop_id])[0]
    snapshot = snapshot_of(order)
    parts = _parts(session, order, incident.id if incident is not None else None)
    if incident is not None:
        incidents = [incident]
    else:
        query = select(IncidentRow).where(IncidentRow.order_id == order.id).order_by(IncidentRow.opened_at)
        incidents = list(session.scalars(query))
    return IncidentView(
        incident=incident,
        incidents=incidents,
        order=order,
        snapshot=snapshot,
        shop=shop,
        order_url=platform_order_url(shop, order.external_id),
        timeline=_timeline(parts, incidents, snapshot),
        **parts,
    )


def incident_view(session: Session, shop_ids: Collection[str], incident_id: int) -> IncidentView | None:
    row = session.execute(
        select(IncidentRow, OrderRow)
        .join(OrderRow, OrderRow.id == IncidentRow.order_id)
        .where(IncidentRow.id == incident_id, IncidentRow.shop_id.in_(shop_ids), OrderRow.shop_id.in_(shop_ids))
    ).first()
    if row is None:
        return None
    incident, order = row
    return _view(session, order, incident)


def order_view(session: Session, shop_ids: Collection[str], order_id: int) -> IncidentView | None:
    """The whole order: every incident, action, message and contact on it."""
    order = order_in_scope(session, shop_ids, order_id)
    return _view(session, order, None) if order is not None else None
