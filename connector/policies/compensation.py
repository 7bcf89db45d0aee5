"""Vouchers within a budget, shared by every policy that compensates a customer.

A voucher is a one-use code for this customer with an expiry. It is granted only within every limit —
per order, per customer per period, per shop per (shop-local) day, and at most a share of the order —
and recorded either way: issued (with the CREATE_VOUCHER action) or refused (with the reason). The code
is derived from the action's idempotency key and the service's secret: random-looking, never guessable,
and the same on every replay, so a voucher can never be issued twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from connector.actions import ActionKind, PlannedAction, idempotency_key
from connector.calendar import BusinessCalendar
from connector.model import Order
from connector.policies.config import CompensationConfig
from connector.store.tables import ShopRow, UTCDateTime, VoucherRow, table_of

ISSUED, REFUSED, OBSERVED = "issued", "refused", "observed"  # observed: decided for a shop in observe mode
_V = table_of(VoucherRow)
_ISSUED = (_V.c.shop_id == bindparam("shop_id")) & (_V.c.state == ISSUED)
_FOR_ORDER = select(func.count()).where(_ISSUED, _V.c.order_id == bindparam("order_id"))
_FOR_CUSTOMER = select(func.count()).where(
    _ISSUED, _V.c.customer_key == bindparam("customer_key"), _V.c.created_at > bindparam("since", type_=UTCDateTime())
)
_SPENT = select(func.coalesce(func.sum(_V.c.amount), 0)).where(
    _ISSUED, _V.c.created_at >= bindparam("since", type_=UTCDateTime())
)
_FOR_ORDERS = (
    select(_V.c.order_id, func.count())
    .where(_ISSUED, _V.c.order_id.in_(bindparam("order_ids", expanding=True)))
    .group_by(_V.c.order_id)
)
_FOR_CUSTOMERS = (
    select(_V.c.customer_key, func.count())
    .where(
        _ISSUED,
        _V.c.customer_key.in_(bindparam("customer_keys", expanding=True)),
        _V.c.created_at > bindparam("since", type_=UTCDateTime()),
    )
    .group_by(_V.c.customer_key)
)
_BY_CODE = select(_V).where(_V.c.shop_id == bindparam("shop_id"), _V.c.code == bindparam("code"))
_INSERT = _V.insert()
_LINK = _V.update().where(_V.c.shop_id == bindparam("v_shop"), _V.c.code == bindparam("v_code"))
CENT = Decimal("0.01")
_TITLES = {"nl": "Excuses voor bestelling {number}", "en": "Sorry about order {number}"}


def voucher_code(secret: str, key: str, length: int = 8) -> str:
    """``OC-`` and ``length`` characters of an HMAC of the idempotency key (no 0/O or 1/I look-alikes)."""
    digest = hmac.new(secret.encode(), key.encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode().rstrip("=")
    readable = text.translate(str.maketrans("OI", "98"))
    return "OC-" + readable[:length]


def customer_key(shop_id: str, order: Order) -> str | None:
    """Who the budget counts per: the platform's customer id, else the e-mail (hashed)."""
    identity = order.customer.external_id or (order.customer.email or "").strip().lower()
    if not identity:
        return None
    return hashlib.sha256(f"{shop_id}:{identity}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class VoucherOutcome:
    state: str  # issued | refused
    code: str
    reason: str | None
    amount: Decimal
    context: dict[str, Any] | None  # the ``voucher`` of the message context when issued
    action: PlannedAction | None  # CREATE_VOUCHER when issued


def _amount(order: Order, config: CompensationConfig) -> Decimal | None:
    voucher = config.voucher
    if voucher.kind == "fixed":
        return voucher.value.quantize(CENT)
    if order.total is None:
        return None
    return (order.total.amount * voucher.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def _lock_shop(session: Session, shop_id: str) -> None:
    """Take the shop's grant lock (PostgreSQL): one granting transaction per shop at a time, an exact day budget."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(ShopRow.id).where(ShopRow.id == shop_id).with_for_update())


def _day_start(calendar: BusinessCalendar, now: datetime) -> datetime:
    """Midnight of the shop-local day of ``now``: where the shop's daily budget starts."""
    return calendar.at(calendar.local_date(now), time(0, 0))


def _window_start(config: CompensationConfig, now: datetime) -> datetime:
    """Where the per-customer window of the budget starts."""
    return now - timedelta(days=config.budget.per_customer_per_days.days)


def _spent(session: Session, shop_id: str, day_start: datetime) -> Decimal:
    """What the shop's issued vouchers since ``day_start`` are worth."""
    spent = session.execute(_SPENT, {"shop_id": shop_id, "since": day_start}).scalar()
    return Decimal(str(spent or 0)).quantize(CENT)


@dataclass
class _Figures:
    """How much of each budget is used: ``issued`` vouchers per order, per customer (in the window) and
    spent today. The budget book of a tick round answers from memory; without one, each is a query."""

    session: Session
    shop_id: str

    def for_order(self, order_id: int) -> int:
        return self.session.execute(_FOR_ORDER, {"shop_id": self.shop_id, "order_id": order_id}).scalar() or 0

    def for_customer(self, who: str, since: datetime) -> int:
        params = {"shop_id": self.shop_id, "customer_key": who, "since": since}
        return self.session.execute(_FOR_CUSTOMER, params).scalar() or 0

    def spent(self, day_start: datetime) -> Decimal:
        return _spent(self.session, self.shop_id, day_start)


def _refusal(
    figures: _Figures | BudgetBook,
    *,
    order_id: int,
    order: Order,
    who: str | None,
    amount: Decimal | None,
    config: CompensationConfig,
    calendar: BusinessCalendar,
    now: datetime,
) -> str | None:
    """Why no voucher may be issued now, or None when every limit allows it."""
    budget = config.budget
    if who is None or not order.customer.email:
        return "the customer has no e-mail address to tie the voucher to"
    if amount is None or order.total is None:
        return "the order total is unknown, so the voucher's cost cannot be checked"
    for_order = figures.for_order(order_id)
    if for_order >= budget.per_order:
        return f"per-order limit reached ({for_order} of {budget.per_order})"
    window = budget.per_customer_per_days
    for_customer = figures.for_customer(who, _window_start(config, now))
    if for_customer >= window.count:
        return f"customer already received {for_customer} voucher(s) in {window.days} days (limit {window.count})"
    cap = (order.total.amount * budget.max_share_of_order).quantize(CENT)
    if amount > cap:
        return (
            f"voucher {amount} {order.total.currency} is more than {budget.max_share_of_order:%} "
            f"of the order ({order.total.amount} {order.total.currency})"
        )
    spent = figures.spent(_day_start(calendar, now))
    if spent + amount > budget.per_shop_per_day:
        return f"the shop's daily budget {budget.per_shop_per_day} would be exceeded ({spent} used, {amount} asked)"
    return None


@dataclass
class _ShopBudget:
    day_start: datetime
    since: datetime  # start of the per-customer window
    spent: Decimal
    for_order: dict[int, int]
    for_customer: dict[str, int]


@dataclass
class BudgetBook:
    """The budget figures of one tick round: read once per shop (three queries) instead of per voucher.

    ``load`` takes the shop's grant lock (PostgreSQL) and reads what the round's voucher requests need;
    each issued voucher is staged, then kept with ``commit`` when its order's savepoint is released or
    dropped with ``discard`` when it is rolled back — so the book always equals what the queries would say.
    """

    session: Session
    now: datetime
    _shops: dict[str, _ShopBudget] = field(default_factory=dict)
    _staged: list[tuple[str, int, str, Decimal]] = field(default_factory=list)
    _shop: str | None = None

    def load(
        self,
        shop_id: str,
        config: CompensationConfig,
        calendar: BusinessCalendar,
        requests: Iterable[tuple[int, Order]],
    ) -> None:
        """Read the shop's figures for the given (order id, order) voucher requests."""
        _lock_shop(self.session, shop_id)
        pairs = list(requests)
        order_ids = sorted({order_id for order_id, _ in pairs})
        keys = sorted({k for _, order in pairs if (k := customer_key(shop_id, order)) is not None})
        day_start = _day_start(calendar, self.now)
        since = _window_start(config, self.now)
        execute = self.session.execute
        spent = _spent(self.session, shop_id, day_start)
        for_order = {o: n for o, n in execute(_FOR_ORDERS, {"shop_id": shop_id, "order_ids": order_ids})}
        params = {"shop_id": shop_id, "customer_keys": keys, "since": since}
        for_customer = {k: n for k, n in execute(_FOR_CUSTOMERS, params)} if keys else {}
        self._shops[shop_id] = _ShopBudget(day_start, since, spent, for_order, for_customer)

    def loaded(self, shop_id: str) -> bool:
        return shop_id in self._shops

    def figures(self, shop_id: str, day_start: datetime, since: datetime) -> BudgetBook:
        budget = self._shops[shop_id]
        if (budget.day_start, budget.since) != (day_start, since):
            raise ValueError(f"budget book of shop {shop_id!r} was read for another day or window")
        self._shop = shop_id
        return self

    # the figures protocol of ``_refusal``, for the shop chosen by ``figures``
    def _current(self) -> _ShopBudget:
        assert self._shop is not None
        return self._shops[self._shop]

    def for_order(self, order_id: int) -> int:
        staged = sum(1 for shop, o, _, _ in self._staged if shop == self._shop and o == order_id)
        return self._current().for_order.get(order_id, 0) + staged

    def for_customer(self, who: str, since: datetime) -> int:
        staged = sum(1 for shop, _, k, _ in self._staged if shop == self._shop and k == who)
        return self._current().for_customer.get(who, 0) + staged

    def spent(self, day_start: datetime) -> Decimal:
        staged = sum((a for shop, _, _, a in self._staged if shop == self._shop), Decimal(0))
        return (self._current().spent + staged).quantize(CENT)

    def issued(self, order_id: int, who: str, amount: Decimal) -> None:
        assert self._shop is not None
        self._staged.append((self._shop, order_id, who, amount))

    def commit(self) -> None:
        for shop, order_id, who, amount in self._staged:
            budget = self._shops[shop]
            budget.for_order[order_id] = budget.for_order.get(order_id, 0) + 1
            budget.for_customer[who] = budget.for_customer.get(who, 0) + 1
            budget.spent += amount
        self._staged.clear()

    def discard(self) -> None:
        self._staged.clear()


def grant(
    session: Session,
    *,
    shop_id: str,
    order_id: int,
    order: Order,
    incident_id: int | None,
    policy: str,
    step: str,
    locale: str,
    config: CompensationConfig,
    calendar: BusinessCalendar,
    secret: str,
    now: datetime,
    book: BudgetBook | None = None,
) -> VoucherOutcome:
    """Decide and record one voucher; asking again for the same step returns the recorded outcome.

    ``book``: the tick round's budget book, loaded for this shop (``BudgetBook.load``); without it the
    figures are queried and the shop's grant lock is taken here.
    """
    key = idempotency_key(shop_id, order.external_id, policy, step)
    code = voucher_code(secret, key)
    existing = session.execute(_BY_CODE, {"shop_id": shop_id, "code": code}).first()
    if existing is not None:
        return _outcome_of(existing, order, locale, policy, step, calendar)
    figures: _Figures | BudgetBook
    if book is not None:
        figures = book.figures(shop_id, _day_start(calendar, now), _window_start(config, now))
    else:
        _lock_shop(session, shop_id)
        figures = _Figures(session, shop_id)
    who = customer_key(shop_id, order)
    amount = _amount(order, config)
    reason = _refusal(
        figures,
        order_id=order_id,
        order=order,
        who=who,
        amount=amount,
        config=config,
        calendar=calendar,
        now=now,
    )
    ends_day = calendar.local_date(now) + timedelta(days=config.voucher.valid_days)
    row = {
        "shop_id": shop_id,
        "order_id": order_id,
        "incident_id": incident_id,
        "action_id": None,
        "customer_key": who or "unknown",
        "code": code,
        "kind": config.voucher.kind,
        "value": config.voucher.value,
        "amount": amount or Decimal("0"),
        "currency": order.total.currency if order.total else "EUR",
        "state": REFUSED if reason else ISSUED,
        "reason": reason,
        "created_at": now,
        "expires_at": calendar.at(ends_day + timedelta(days=1), time(0, 0)) - timedelta(seconds=1),
    }
    session.execute(_INSERT, row)
    if book is not None and reason is None and who is not None and amount is not None:
        book.issued(order_id, who, amount)
    return _outcome_of(SimpleNamespace(**row), order, locale, policy, step, calendar)


def link_action(session: Session, shop_id: str, code: str, action_id: int, observed: bool = False) -> None:
    """Remember which outbox row creates the voucher on the platform; ``observed``: it never will (the shop
    is in observe mode), so the voucher is recorded as observed and not counted against any budget."""
    values: dict[str, Any] = {"v_shop": shop_id, "v_code": code, "action_id": action_id}
    if observed:
        values["state"] = OBSERVED
    session.execute(_LINK, values)


def value_text(kind: str, value: str, currency: str) -> str:
    """'10%' or '5.00 EUR', for staff notes."""
    return f"{value}%" if kind == "percentage" else f"{value} {currency}"


def _outcome_of(
    row: Any, order: Order, locale: str, policy: str, step: str, calendar: BusinessCalendar
) -> VoucherOutcome:
    if row.state != ISSUED:
        return VoucherOutcome(REFUSED, row.code, row.reason, Decimal(row.amount), None, None)
    assert row.expires_at is not None
    value = Decimal(row.value).normalize()
    value_text = f"{value:f}" if row.kind == "percentage" else f"{Decimal(row.value).quantize(CENT)}"
    ends_at = row.expires_at
    context = {
        "code": row.code,
        "kind": row.kind,
        "value": value_text,
        "currency": row.currency,
        "ends_at": calendar.local_date(ends_at).isoformat(),
    }
    payload = {
        "code": row.code,
        "kind": row.kind,
        "value": value_text,
        "currency": row.currency,
        "starts_at": row.created_at.astimezone(UTC).isoformat(),
        "ends_at": ends_at.astimezone(UTC).isoformat(),
        "customer_external_id": order.customer.external_id,
        "email": order.customer.email,
        "title": _TITLES.get(locale, _TITLES["en"]).format(number=order.number),
    }
    action = PlannedAction(kind=ActionKind.CREATE_VOUCHER, policy=policy, step=step, payload=payload)
    return VoucherOutcome(ISSUED, row.code, None, Decimal(row.amount), context, action)
