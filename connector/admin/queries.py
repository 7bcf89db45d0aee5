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

from connector.admin import wording
from connector.admin.insights import carrier_of, country_of, shipping_method_of
from connector.admin.wording import Phrase
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
    PromiseRow,
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
    locale: str = "en"  # the shop's language: the dashboard's default for its staff
    country: str = "NL"  # where the shop is: the default region of phone numbers typed the national way


def shops(session: Session, shop_ids: Collection[str]) -> list[ShopInfo]:
    rows = session.scalars(select(ShopRow).where(ShopRow.id.in_(shop_ids)).order_by(ShopRow.id))
    return [
        ShopInfo(r.id, r.name or r.id, r.platform, r.key, r.timezone, r.locale or "en", r.country or "NL") for r in rows
    ]


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
    customer_name: str = ""
    phone: str | None = None
    incident: IncidentRow | None = None
    snapshot: Order | None = None
    last_message: EmailLog | None = None  # what the customer was last told about this order, and when
    promise: PromiseRow | None = None  # the date we gave them that is still open


def call_tasks_due(
    session: Session, shop_ids: Collection[str], until: datetime, limit: int = 200
) -> list[CallTaskItem]:
    """Open call tasks due before ``until`` (the end of the shop's day), most overdue first, with what the
    caller needs: the customer's name and phone, the incident, the last message and the open promise."""
    rows = session.execute(
        select(CallTaskRow, OrderRow, IncidentRow)
        .outerjoin(OrderRow, OrderRow.id == CallTaskRow.order_id)
        .outerjoin(IncidentRow, IncidentRow.id == CallTaskRow.incident_id)
        .where(CallTaskRow.shop_id.in_(shop_ids), CallTaskRow.state == "open", CallTaskRow.due_at < until)
        .order_by(CallTaskRow.due_at, CallTaskRow.id)
        .limit(limit)
    ).all()
    order_ids = [order.id for _, order, _ in rows if order is not None]
    messages: dict[int, EmailLog] = {}
    promises: dict[int, PromiseRow] = {}
    if order_ids:
        for email in session.scalars(
            select(EmailLog).where(EmailLog.order_id.in_(order_ids)).order_by(EmailLog.sent_at, EmailLog.id)
        ):
            messages[email.order_id or 0] = email  # the latest wins
        for promise in session.scalars(
            select(PromiseRow)
            .where(PromiseRow.order_id.in_(order_ids), PromiseRow.ended == "open")
            .order_by(PromiseRow.made_at, PromiseRow.id)
        ):
            promises[promise.order_id] = promise
    items = []
    for t, order, incident in rows:
        snapshot = snapshot_of(order) if order is not None else None
        customer = snapshot.customer if snapshot is not None else None
        items.append(
            CallTaskItem(
                t.id, t.shop_id, t.order_id, order.number if order else None, t.incident_id, t.reason, t.due_at,
                t.assigned_to,
                customer_name=customer.display_name if customer else "",
                phone=(customer.phone or None) if customer else None,
                incident=incident,
                snapshot=snapshot,
                last_message=messages.get(order.id) if order else None,
                promise=promises.get(order.id) if order else None,
            )
        )  # fmt: skip
    return items


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
    title: str  # the raw record (topic, kind, key): CSV and "technical details"
    detail: str = ""
    words: Phrase | None = None  # the same in words for people
    note: Phrase | None = None  # a second line: an e-mail's subject, a carrier's message, a call's outcome
    message_id: int | None = None  # a message to the customer: its ``email_log`` id (the message page)


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
        entries.append(
            TimelineEntry(
                event.received_at, "saw", f"{event.topic} ({event.outcome})",
                words=wording.topic(event.topic), note=wording.event_outcome(event.outcome),
            )
        )  # fmt: skip
    for shipment in snapshot.shipments if snapshot else ():
        for scan in shipment.events:
            detail = " ".join(p for p in (scan.message, scan.city) if p)
            entries.append(
                TimelineEntry(
                    scan.happened_at, "saw", f"{shipment.carrier or 'carrier'}: {scan.status}", detail,
                    words=wording.scan(shipment.carrier, scan.status), note=wording.literal(detail) if detail else None,
                )
            )  # fmt: skip
    for incident in incidents:
        why = wording.reason(incident.kind, incident.details or {}, snapshot)
        words = wording.phrase(wording.N_("Problem found: %(what)s"), what=why)
        entries.append(TimelineEntry(incident.opened_at, "saw", f"incident {incident.kind} opened", words=words))
    for action in view_parts["actions"]:
        result = action.state if not action.last_error else f"{action.state}: {action.last_error}"
        entries.append(
            TimelineEntry(
                action.created_at, "did", f"{action.kind} ({action.policy})", result,
                words=wording.action_entry(action.kind, action.state),
                note=wording.literal(action.last_error) if action.last_error else None,
            )
        )  # fmt: skip
    for email in view_parts["emails"]:
        entries.append(
            TimelineEntry(
                email.sent_at, "customer", f"e-mail: {email.subject}", email.template,
                words=wording.phrase(wording.N_("E-mail: “%(subject)s”"), subject=email.subject), message_id=email.id,
            )
        )  # fmt: skip
    for voucher in view_parts["vouchers"]:
        what = f"voucher {voucher.code} {voucher.amount} {voucher.currency}"
        words = wording.phrase(
            wording.N_("Voucher %(code)s of %(amount)s %(currency)s: %(state)s"),
            code=voucher.code, amount=str(voucher.amount), currency=voucher.currency,
            state=wording.voucher_state(voucher.state),
        )  # fmt: skip
        entries.append(
            TimelineEntry(
                voucher.created_at, "customer", what, voucher.state + (f": {voucher.reason}" if voucher.reason else ""),
                words=words, note=wording.literal(voucher.reason) if voucher.reason else None,
            )
        )  # fmt: skip
    for task in view_parts["call_tasks"]:
        words = wording.phrase(wording.N_("Call task: %(why)s"), why=wording.call_reason(task.reason))
        note = wording.literal(task.outcome) if task.outcome else None
        title, detail = f"call task: {task.reason}", task.outcome or task.state
        entries.append(TimelineEntry(task.created_at, "staff", title, detail, words=words, note=note))
    for contact in view_parts["contacts"]:
        words = wording.phrase(wording.N_("The customer contacted us: %(about)s"), about=wording.contact(contact.kind))
        entries.append(TimelineEntry(contact.noted_at, "staff", f"customer contact: {contact.kind}", words=words))
    for incident in incidents:
        if incident.resolved_at is not None:
            what = f"incident {incident.kind} resolved"
            words = wording.phrase(wording.N_("Solved: %(what)s"), what=wording.kind(incident.kind))
            entries.append(
                TimelineEntry(
                    incident.resolved_at, "resolved", what, incident.resolution or "",
                    words=words, note=wording.resolution(incident.resolution),
                )
            )  # fmt: skip
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


# --- one customer --------------------------------------------------------------------------------

CHANNELS: dict[str, str] = {
    "web": wording.N_("web shop"),
    "pos": wording.N_("shop counter"),
    "marketplace": wording.N_("marketplace"),
    "api": wording.N_("linked system"),
    "admin": wording.N_("entered by staff"),
    "other": wording.N_("other channel"),
}

# how a date we gave the customer ended (``PromiseRow.ended``)
PROMISE_ENDS: dict[str, str] = {
    "open": wording.N_("still open"),
    "met": wording.N_("kept"),
    "followed_up": wording.N_("followed up with a new message"),
    "missed": wording.N_("not kept"),
    "cancelled": wording.N_("no longer needed"),
}


def channel_words(value: str) -> Phrase:
    """Where the order was placed: ``web shop``, ``shop counter``, ..."""
    return wording.phrase(CHANNELS.get(value, CHANNELS["other"]))


def promise_end(ended: str, at: datetime | None) -> Phrase:
    """How a promise ended, and when: ``kept, wo 25 nov 16:00``."""
    how = wording.phrase(PROMISE_ENDS.get(ended, PROMISE_ENDS["open"]))
    if ended == "open" or ended not in PROMISE_ENDS or at is None:
        return how
    return wording.phrase(wording.N_("%(how)s, %(when)s"), how=how, when=at)


@dataclass(frozen=True)
class OrderEntry:
    """A timeline entry and the order it belongs to (the customer page mixes several orders)."""

    entry: TimelineEntry
    order_id: int
    order_number: str
    shop_id: str


def _by_order(rows: Any, shops_of: dict[int, str]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {order_id: [] for order_id in shops_of}
    for row in rows:
        if row.order_id in shops_of and row.shop_id == shops_of[row.order_id]:
            grouped[row.order_id].append(row)
    return grouped


def orders_timeline(session: Session, orders: Collection[OrderRow], limit: int = 500) -> list[OrderEntry]:
    """The incidents, messages, vouchers, call tasks, contacts and promises of these orders on one timeline,
    newest first, each entry with its order (the order page's entries, without webhooks, scans and actions)."""
    shops_of = {order.id: order.shop_id for order in orders}
    if not shops_of:
        return []
    ids, shop_ids = list(shops_of), sorted(set(shops_of.values()))

    def rows(model: Any, moment: Any) -> dict[int, list[Any]]:
        query = select(model).where(model.order_id.in_(ids), model.shop_id.in_(shop_ids))
        return _by_order(session.scalars(query.order_by(moment.desc(), model.id.desc()).limit(limit)), shops_of)

    incidents = rows(IncidentRow, IncidentRow.opened_at)
    parts = {
        "emails": rows(EmailLog, EmailLog.sent_at),
        "vouchers": rows(VoucherRow, VoucherRow.created_at),
        "call_tasks": rows(CallTaskRow, CallTaskRow.created_at),
        "contacts": rows(CustomerContact, CustomerContact.noted_at),
    }
    promises = rows(PromiseRow, PromiseRow.made_at)
    entries: list[OrderEntry] = []
    for order in orders:
        view_parts: dict[str, Any] = {"events": [], "actions": []}
        view_parts.update({name: found[order.id] for name, found in parts.items()})
        timeline = _timeline(view_parts, incidents[order.id], None)
        for promise in promises[order.id]:
            title = f"promise {promise.kind} {promise.promised_on.isoformat()}: {promise.ended}"
            timeline.append(
                TimelineEntry(
                    promise.made_at, "customer", title, promise.template,
                    words=wording.promise(promise.kind, promise.promised_on),
                    note=promise_end(promise.ended, promise.ended_at),
                )
            )  # fmt: skip
        entries.extend(OrderEntry(entry, order.id, order.number, order.shop_id) for entry in timeline)
    return sorted(entries, key=lambda e: (e.entry.at, LANES.index(e.entry.lane), e.order_id), reverse=True)
