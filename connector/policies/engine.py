"""The scheduler tick: select due orders, let every enabled policy decide, write what they decided.

Due orders come from the ``next_check_at`` index (oldest first; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
so several workers share the work), their incidents from one query. Each order's incidents and vouchers
are written in a savepoint, so one bad order is logged and counted, never fatal; the outbox rows of the
orders that succeeded go in together at the end of the round. The order's next check is the earliest
moment any policy wants to look again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from connector import codec
from connector.actions import IF_AFTER_FAILED, ActionKind
from connector.address.check import AddressLookup, lookup_provider
from connector.incidents import (
    RESOLVED,
    IncidentView,
    add_details,
    escalate,
    load_for_orders,
    open_incident,
    resolve,
)
from connector.model import Order
from connector.outbox.queue import OBSERVED, cancel_pending, plan_many, planned_row
from connector.policies import (
    address,
    compensation,
    customers,
    next_day,
    order_problem,
    out_of_stock,
    promise_followup,
    review,
    shipment_delay,
    shopify_events,
    stale,
)
from connector.policies.base import Annotate, Decision, Escalate, Open, Policy, PolicyContext, Resolve, Step
from connector.policies.config import PoliciesConfig
from connector.policies.notes import day, note_text
from connector.promises import store as promises
from connector.promises.rules import PromiseView
from connector.reports import store as report_store
from connector.reports.model import ReportView
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import OrderRow, table_of

log = logging.getLogger(__name__)

# the order matters: later policies see the incidents earlier ones opened in the same tick
POLICIES: dict[str, Policy] = {
    policy.name: policy
    for policy in (
        address.POLICY,
        next_day.POLICY,
        stale.POLICY,
        shipment_delay.POLICY,
        shopify_events.POLICY,
        out_of_stock.POLICY,
        order_problem.POLICY,
        review.POLICY,
        promise_followup.POLICY,  # last: it sees what the others decided about the order's incidents
    )
}

MIN_LOOK_AHEAD = timedelta(seconds=1)


@dataclass
class TickReport:
    evaluated: int = 0  # due orders looked at, including those that failed
    errors: int = 0
    incidents_opened: int = 0
    incidents_escalated: int = 0
    incidents_resolved: int = 0
    actions_planned: int = 0
    vouchers_issued: int = 0
    vouchers_refused: int = 0

    def add(self, other: TickReport) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


# --- deciding (pure) -----------------------------------------------------------------------------


def _after(views: dict[str, IncidentView], op: Any, now: datetime) -> None:
    """What the incidents look like after ``op``, for the policies that decide next."""
    current = views.get(op.kind)
    if isinstance(op, Open):
        occurrence = current.occurrence + 1 if current is not None and not current.active else 1
        state = "open" if op.level <= 1 else "escalated"
        views[op.kind] = IncidentView(op.kind, state, op.level, occurrence, now, details=dict(op.details))
    elif current is not None and isinstance(op, Escalate):
        views[op.kind] = replace(current, state="escalated", level=op.level)
    elif current is not None and isinstance(op, Resolve):
        views[op.kind] = replace(current, state=RESOLVED, resolved_at=now, resolution=op.reason)


def evaluate(
    order: Order,
    incidents: Mapping[str, IncidentView],
    now: datetime,
    ctx: PolicyContext,
    policies: Iterable[Policy] | None = None,
) -> list[Decision]:
    """Every enabled policy's decision about one order, in registry order."""
    views = dict(incidents)
    decisions = []
    for policy in policies if policies is not None else POLICIES.values():
        if not policy.enabled(ctx.config):
            continue
        decision = policy.decide(order, dict(views), now, ctx)
        for op in decision.incidents:
            _after(views, op, now)
        decisions.append(decision)
    return decisions


def next_check(decisions: Iterable[Decision], now: datetime) -> datetime | None:
    """The earliest look-again of all policies (never at or before ``now``), None when only an event matters."""
    wanted = [d.next_check for d in decisions if d.next_check is not None]
    return max(min(wanted), now + MIN_LOOK_AHEAD) if wanted else None


# --- writing -------------------------------------------------------------------------------------


@dataclass
class _OrderWrite:
    session: Session
    services: Services
    ctx: PolicyContext
    order_id: int
    order: Order
    incidents: dict[str, IncidentView]
    now: datetime
    report: TickReport
    book: compensation.BudgetBook | None = None
    planned: list[_Planned] = field(default_factory=list)  # inserted for the whole round by ``_insert_planned``

    def incident(self, kind: str) -> IncidentView:
        view = self.incidents.get(kind)
        if view is None or view.id is None:
            raise LookupError(f"no {kind} incident on order {self.order.external_id}")
        return view

    def open(self, op: Open) -> None:
        view, opened = open_incident(
            self.session,
            shop_id=self.ctx.shop.id,
            order_id=self.order_id,
            kind=op.kind,
            now=self.now,
            level=op.level,
            details=op.details,
            existing=self.incidents.get(op.kind),
            known=True,
            metrics=self.services.metrics,
        )
        self.incidents[op.kind] = view
        self.report.incidents_opened += int(opened)

    def escalate(self, op: Escalate) -> None:
        view = escalate(self.session, self.incident(op.kind), op.level, self.now, op.details)
        if view is not None:
            self.incidents[op.kind] = view
            self.report.incidents_escalated += 1

    def resolve(self, op: Resolve) -> None:
        view = self.incident(op.kind)
        if resolve(self.session, view.id, op.reason, self.now, self.services.metrics):  # type: ignore[arg-type]
            self.report.incidents_resolved += 1
        self.incidents[op.kind] = replace(view, state=RESOLVED, resolved_at=self.now, resolution=op.reason)

    def annotate(self, op: Annotate) -> None:
        self.incidents[op.kind] = add_details(self.session, self.incident(op.kind), op.details, self.now)

    def apply(self, decision: Decision) -> None:
        for op in decision.incidents:
            _OPS[type(op)](self, op)
        for end in decision.promises:
            if promises.end(self.session, end.promise_id, end.ended, end.at):
                # the promised event happened (or the order ended): a follow-up still waiting is not sent
                reason = f"not sent: the promise ended ({end.ended})"
                cancel_pending(self.session, self.order_id, promise_followup.POLICY.name, reason, self.now)
        steps = list(decision.actions)
        payloads: dict[str, dict[str, Any]] = {}
        for request in decision.vouchers:
            incident = self.incident(request.incident)
            outcome = compensation.grant(
                self.session,
                shop_id=self.ctx.shop.id,
                order_id=self.order_id,
                order=self.order,
                incident_id=incident.id,
                policy=request.policy,
                step=request.step,
                locale=self.ctx.locale,
                config=self.ctx.config.compensation,
                calendar=self.ctx.calendar,
                secret=self.services.settings.secret_key,
                now=self.now,
                book=self.book,
            )
            voucher: dict[str, Any] = {"state": outcome.state, "code": outcome.code, "amount": str(outcome.amount)}
            if outcome.reason:
                voucher["reason"] = outcome.reason
            self.incidents[request.incident] = add_details(self.session, incident, {"voucher": voucher}, self.now)
            if outcome.action is not None:
                self.report.vouchers_issued += 1
                voucher_action = outcome.action
                if request.after_step is not None:  # e.g. a replacement first, then its voucher
                    voucher_action = replace(voucher_action, after_step=request.after_step)
                steps.insert(0, Step(voucher_action, request.incident))
            else:
                self.report.vouchers_refused += 1
            if request.notify_step is not None:
                # the message names the code: send it only once the voucher exists in the shop
                after = outcome.action.step if outcome.action is not None else None
                payloads[request.notify_step] = {"voucher": outcome.context, "after": after}
            if request.note_step is not None:
                payloads[request.note_step] = {"note_suffix": self._voucher_line(outcome)}
        for step in steps:
            self._plan(step, payloads.get(step.action.step))

    def _voucher_line(self, outcome: compensation.VoucherOutcome) -> str:
        locale = self.ctx.locale
        context = outcome.context
        if context is None:
            return note_text(locale, "voucher_refused", reason=outcome.reason)
        return note_text(
            locale,
            "voucher_issued",
            code=outcome.code,
            value=compensation.value_text(context["kind"], context["value"], context["currency"]),
            ends=day(locale, date.fromisoformat(context["ends_at"])),
        )

    def _plan(self, step: Step, change: dict[str, Any] | None) -> None:
        action = step.action
        if change is not None:
            payload = dict(action.payload)
            if "voucher" in change and "context" in payload:
                payload["context"] = {**payload["context"], "voucher": change["voucher"]}
            if "note_suffix" in change and "text" in payload:
                payload["text"] = payload["text"] + change["note_suffix"]
                variant = payload.get(IF_AFTER_FAILED)
                if isinstance(variant, dict) and "text" in variant:
                    payload[IF_AFTER_FAILED] = {**variant, "text": variant["text"] + change["note_suffix"]}
            if change.get("after"):  # the message goes also if the voucher fails; it then names no code
                action = replace(action, payload=payload, after_step=change["after"], after_even_if_failed=True)
            else:
                action = replace(action, payload=payload)
        incident = self.incidents.get(step.incident) if step.incident else None
        row = planned_row(
            shop_id=self.ctx.shop.id,
            order_id=self.order_id,
            order_external_id=self.order.external_id,
            action=action,
            now=self.now,
            incident_id=incident.id if incident is not None else None,
            observe=self.ctx.shop.observing,
        )
        json.dumps(row["payload"])  # a payload the store cannot take fails this order, not the round
        code = action.payload["code"] if action.kind is ActionKind.CREATE_VOUCHER else None
        self.planned.append(_Planned(row, code))


@dataclass(frozen=True)
class _Planned:
    row: dict[str, Any]  # ``outbox.planned_row``
    voucher_code: str | None  # CREATE_VOUCHER: the voucher row to link to the action


def _insert_planned(session: Session, planned: list[_Planned], report: TickReport) -> None:
    """The round's outbox rows in one many-row insert (existing keys skipped); vouchers linked to theirs."""
    inserted = plan_many(session, [item.row for item in planned])
    report.actions_planned += len(inserted)
    for item in planned:
        action_id = inserted.get(item.row["idempotency_key"])
        if action_id is not None and item.voucher_code is not None:
            observed = item.row["state"] == OBSERVED  # not given: it does not count against the budget
            compensation.link_action(session, item.row["shop_id"], item.voucher_code, action_id, observed)


_OPS: dict[type, Callable[[_OrderWrite, Any], None]] = {
    Open: _OrderWrite.open,
    Escalate: _OrderWrite.escalate,
    Resolve: _OrderWrite.resolve,
    Annotate: _OrderWrite.annotate,
}


# --- the tick ------------------------------------------------------------------------------------


def _lookup(config: PoliciesConfig) -> AddressLookup | None:
    settings = config.address.lookup
    return lookup_provider(settings.provider, settings.base_url, settings.timeout_seconds)


def context_for(services: Services, shop: Shop, lookup: AddressLookup | None = None) -> PolicyContext:
    config = services.settings.policies_for(shop.id)
    calendar = config.calendar.build(shop.timezone, shop.country)
    configured = services.settings.configured_shop(shop.id)
    return PolicyContext(
        shop=shop,
        config=config,
        calendar=calendar,
        lookup=lookup or _lookup(config),
        carriers=configured.carriers if configured is not None else None,
    )


_ORDERS = table_of(OrderRow)
_NEXT_CHECK = _ORDERS.update().where(_ORDERS.c.id == bindparam("order_id"))


def _due(session: Session, now: datetime, limit: int, shop_id: str | None = None) -> list[Any]:
    query = (
        select(OrderRow.id, OrderRow.shop_id, OrderRow.external_id, OrderRow.data)
        .where(OrderRow.next_check_at <= now, OrderRow.deleted.is_(False))
        .order_by(OrderRow.next_check_at, OrderRow.id)
        .limit(limit)
    )
    if shop_id is not None:
        query = query.where(OrderRow.shop_id == shop_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OrderRow)
    return list(session.execute(query).all())


def run_tick(services: Services, now: datetime, *, limit: int | None = None, shop_id: str | None = None) -> TickReport:
    """One tick over at most ``limit`` due orders (default ``scheduler.tick_batch``), in one transaction.

    First every order is decided (pure), then the budget figures the round's vouchers need are read once
    per shop, then each order's incidents and vouchers are written in its own savepoint, and finally the
    round's outbox rows go in with one many-row insert and the next checks with one executemany. ``shop_id``:
    that shop's due orders only (a backfill's round).
    """
    report = TickReport()
    limit = limit or services.settings.scheduler.tick_batch
    contexts: dict[str, PolicyContext | None] = {}
    shops = {shop.id: shop for shop in services.shops.all(active_only=False)}  # before the write transaction
    with transaction(services.sessions) as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.next_check_at <= now, OrderRow.deleted.is_(True))
            .values(next_check_at=None)
            .execution_options(synchronize_session=False)
        )
        rows = _due(session, now, limit, shop_id)
        if rows:
            incidents = load_for_orders(session, [row.id for row in rows])
            given = promises.open_for_orders(session, [row.id for row in rows])
            reported = report_store.for_orders(session, [row.id for row in rows], now)
            decided = [
                _decide_one(services, row, incidents, given, shops, contexts, now, report, reported) for row in rows
            ]
            _hold_reviews_of_troubled_customers(session, now, decided)
            _staff_only_for_troubled_customers(session, now, decided)
            book = _budget_book(session, now, decided)
            planned: list[_Planned] = []
            updates = [_write_one(session, services, item, contexts, now, report, book, planned) for item in decided]
            _insert_planned(session, planned, report)
            session.execute(_NEXT_CHECK, updates)
    services.metrics.ticks.inc()
    return report


@dataclass
class _Decided:
    row: Any
    ctx: PolicyContext | None = None
    order: Order | None = None
    incidents: dict[str, IncidentView] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    next_check_at: datetime | None = None
    failed: bool = False


def _decide_one(
    services: Services,
    row: Any,
    incidents: Mapping[int, Mapping[str, IncidentView]],
    given: Mapping[int, tuple[PromiseView, ...]],
    shops: Mapping[str, Shop],
    contexts: dict[str, PolicyContext | None],
    now: datetime,
    report: TickReport,
    reported: Mapping[int, tuple[ReportView, ...]] | None = None,
) -> _Decided:
    report.evaluated += 1
    try:
        if row.shop_id not in contexts:
            shop = shops.get(row.shop_id)
            contexts[row.shop_id] = context_for(services, shop) if shop and shop.status != "uninstalled" else None
        ctx = contexts[row.shop_id]
        if ctx is None:
            services.metrics.tick_orders.labels("skipped").inc()
            return _Decided(row)
        order = codec.load_order(row.data)
        by_kind = dict(incidents.get(row.id, {}))
        if row.id in given:
            ctx = replace(ctx, promises=given[row.id])
        if reported and row.id in reported:
            ctx = replace(ctx, reports=reported[row.id])
        decisions = evaluate(order, by_kind, now, ctx)
        return _Decided(row, ctx, order, by_kind, decisions, next_check(decisions, now))
    except Exception:  # noqa: BLE001 - one bad order is logged by _failed and retried later, never fatal to the round
        return _failed(services, row, contexts, now, report)


def _hold_reviews_of_troubled_customers(session: Session, now: datetime, decided: list[_Decided]) -> None:
    """No review request to a customer whose other order is in trouble or who just got an apology."""
    asking = [
        (d, d.order, d.ctx)
        for d in decided
        if d.order is not None and d.ctx is not None and customers.asks_review(d.decisions)
    ]
    if not asking:
        return
    troubled = customers.troubled_customers(session, now, [(order, ctx) for _, order, ctx in asking])
    troubled |= customers.apologising((d.order, d.decisions) for d in decided if d.order is not None)
    for item, order, _ in asking:
        if customers.key_of(order) in troubled and customers.hold_reviews(item.decisions):
            later = now + customers.LOOK_AGAIN
            item.next_check_at = later if item.next_check_at is None else min(item.next_check_at, later)


def _staff_only_for_troubled_customers(session: Session, now: datetime, decided: list[_Decided]) -> None:
    """One voice: an out-of-stock e-mail to a customer with another open problem or a recent apology becomes a
    staff-only incident (the policy decides again, told so through ``PolicyContext.quiet_customer``)."""
    asking = [d for d in decided if d.order is not None and customers.mails_out_of_stock(d.decisions)]
    if not asking:
        return
    pairs = [(d.order, d.ctx) for d in asking if d.order is not None and d.ctx is not None]
    troubled = customers.troubled_customers(session, now, pairs)
    mine = {id(d) for d in asking}
    others = [(d.order, d.decisions) for d in decided if d.order is not None and id(d) not in mine]
    troubled |= customers.apologising(others)
    policy = POLICIES[out_of_stock.POLICY.name]
    for item in asking:
        if item.order is None or item.ctx is None or customers.key_of(item.order) not in troubled:
            continue
        quiet = replace(item.ctx, quiet_customer=True)
        item.decisions = [
            policy.decide(item.order, dict(item.incidents), now, quiet) if customers.mails_out_of_stock([d]) else d
            for d in item.decisions
        ]


def _budget_book(session: Session, now: datetime, decided: list[_Decided]) -> compensation.BudgetBook | None:
    """The round's budget figures, read once per shop for the orders that ask for a voucher."""
    asking: dict[str, list[_Decided]] = {}
    for item in decided:
        if item.order is not None and any(d.vouchers for d in item.decisions):
            asking.setdefault(item.row.shop_id, []).append(item)
    if not asking:
        return None
    book = compensation.BudgetBook(session, now)
    for shop_id, items in asking.items():
        ctx = items[0].ctx
        assert ctx is not None
        requests = [(item.row.id, item.order) for item in items if item.order is not None]
        book.load(shop_id, ctx.config.compensation, ctx.calendar, requests)
    return book


def _write_one(
    session: Session,
    services: Services,
    item: _Decided,
    contexts: Mapping[str, PolicyContext | None],
    now: datetime,
    report: TickReport,
    book: compensation.BudgetBook | None,
    planned: list[_Planned],
) -> dict[str, Any]:
    row = item.row
    if item.failed or item.ctx is None or item.order is None:
        return {"order_id": row.id, "next_check_at": item.next_check_at}
    writer = _OrderWrite(session, services, item.ctx, row.id, item.order, item.incidents, now, report, book)
    try:
        if any(d.incidents or d.vouchers or d.promises for d in item.decisions):  # writes: in the order's savepoint
            with session.begin_nested():
                for decision in item.decisions:
                    writer.apply(decision)
        else:
            for decision in item.decisions:
                writer.apply(decision)
    except Exception:  # noqa: BLE001 - as above: this order's savepoint is rolled back, _failed logs why
        if book is not None:
            book.discard()
        return {"order_id": row.id, "next_check_at": _failed(services, row, contexts, now, report).next_check_at}
    if book is not None:
        book.commit()
    planned.extend(writer.planned)
    services.metrics.tick_orders.labels("ok").inc()
    return {"order_id": row.id, "next_check_at": item.next_check_at}


def _failed(
    services: Services,
    row: Any,
    contexts: Mapping[str, PolicyContext | None],
    now: datetime,
    report: TickReport,
) -> _Decided:
    log.exception("order %s of shop %s could not be evaluated", row.external_id, row.shop_id)
    report.errors += 1
    services.metrics.tick_orders.labels("error").inc()
    ctx = contexts.get(row.shop_id)
    retry = ctx.config.retry_after_error if ctx is not None else None
    later = ctx.calendar.add(now, retry) if ctx is not None and retry is not None else now + timedelta(hours=1)
    return _Decided(row, next_check_at=later, failed=True)


def run_until_idle(services: Services, now: datetime, *, limit: int | None = None, max_ticks: int = 1000) -> TickReport:
    """Ticks at ``now`` until no order is due (the demo's simulated clock calls this at each step)."""
    total = TickReport()
    limit = limit or services.settings.scheduler.tick_batch
    for _ in range(max_ticks):
        report = run_tick(services, now, limit=limit)
        total.add(report)
        if report.evaluated < limit:
            break
    return total
