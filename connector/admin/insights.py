"""What keeps going wrong: the pattern queries behind the dashboard and its CSV export.

Each function takes a Session, the shop ids the viewer may see and a half-open time range
``[start, end)`` of aware datetimes, aggregates in the database and returns small dataclasses. Time
buckets (weeks, months) are in the given time zone: the database groups by UTC hour, Python folds the
hours into local weeks or months, so the answer is exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, exists, func, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from connector.store.tables import CustomerContact, EmailLog, IncidentRow, OrderRow, VoucherRow

# incident kinds that mean "the order came later than promised" (on-time rates)
LATE_KINDS: tuple[str, ...] = ("stale", "next_day", "shipment_delay")
SHIPPED_STATUSES: tuple[str, ...] = ("partially_shipped", "shipped", "delivered")
CONTACT_KINDS: tuple[str, ...] = ("where_is_my_order", "address_change", "complaint", "other")
UNKNOWN = "(unknown)"

# --- shared expressions --------------------------------------------------------------------------


def carrier_of(order: type[OrderRow] = OrderRow) -> ColumnElement[str]:
    """The carrier of the order's first shipment, from the order snapshot."""
    expression: ColumnElement[str] = order.data[("shipments", 0, "carrier")].as_string()
    return expression


def shipping_method_of(order: type[OrderRow] = OrderRow) -> ColumnElement[str]:
    expression: ColumnElement[str] = order.data["shipping_method"].as_string()
    return expression


def country_of(order: type[OrderRow] = OrderRow) -> ColumnElement[str]:
    expression: ColumnElement[str] = order.data[("shipping_address", "country_code")].as_string()
    return expression


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _utc_hour(session: Session, column: Any) -> ColumnElement[str]:
    """``YYYY-MM-DD HH`` of a stored UTC datetime."""
    if _dialect(session) == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def _per_hour(
    session: Session, moment: Any, group: Sequence[Any], totals: Sequence[Any], where: Sequence[Any]
) -> list[Any]:
    """Rows of (UTC hour of ``moment``, *group, *totals) grouped by hour and ``group``, for Python to fold locally."""
    hour = _utc_hour(session, moment)
    return list(session.execute(select(hour, *group, *totals).where(*where).group_by(hour, *group)).all())


def _local_date(hour: str, zone: ZoneInfo) -> date:
    return datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week ``day`` is in."""
    return day - timedelta(days=day.weekday())


def _label(value: str | None) -> str:
    return value if value not in (None, "") else UNKNOWN


# --- incidents per week --------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekCount:
    week: date  # Monday, local time
    kind: str
    count: int


def incidents_per_week(
    session: Session, shop_ids: Collection[str], start: datetime, end: datetime, zone: ZoneInfo
) -> list[WeekCount]:
    """Incidents opened per local week and kind, oldest week first, weeks without incidents left out."""
    rows = _per_hour(
        session, IncidentRow.opened_at, [IncidentRow.kind], [func.count()], _incidents_in(shop_ids, start, end)
    )
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for bucket, kind, count in rows:
        counts[(week_start(_local_date(bucket, zone)), kind)] += int(count)
    return [WeekCount(week, kind, count) for (week, kind), count in sorted(counts.items())]


def weeks_between(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """Every local week (its Monday) that overlaps ``[start, end)``, for chart axes."""
    first = week_start(start.astimezone(zone).date())
    last = week_start((end - timedelta(microseconds=1)).astimezone(zone).date())
    weeks = []
    while first <= last:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


# --- top causes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CauseCount:
    label: str
    count: int


@dataclass(frozen=True)
class Causes:
    """Incidents in the range grouped by what they have in common, largest group first."""

    total: int
    by_carrier: list[CauseCount]
    by_shipping_method: list[CauseCount]
    by_product: list[CauseCount]
    by_warehouse_step: list[CauseCount]  # stale incidents: the order status they were stuck in
    by_address_problem: list[CauseCount]  # address incidents: the problem codes in their details
    hints: list[str] = field(default_factory=list)
    out_of_stock: list[StockCount] = field(default_factory=list)  # out_of_stock incidents by item (SKU)

    @property
    def stock_hints(self) -> list[StockCount]:
        """Items often out of stock while the shop kept selling them as available (a hint on the page)."""
        return [s for s in self.out_of_stock if s.shown_available]


# What a frequent address problem usually means, in plain words for the merchant.
ADDRESS_HINTS: Mapping[str, str] = {
    "missing_street": (
        "{count} of {total} address problems were a missing street name. That usually means the checkout's "
        "address autofill (postcode lookup) is broken or switched off: try the checkout on a phone with a "
        "Dutch postcode and house number."
    ),
    "missing_house_number": (
        "{count} of {total} address problems were a missing house number. Check that the checkout has a "
        "separate, required house number field and that a checkout plugin did not hide it."
    ),
    "postcode_format": (
        "{count} of {total} address problems were a postcode in the wrong format. Check the postcode field's "
        "validation in the checkout (Dutch postcodes are four digits and two letters)."
    ),
    "postcode_city_mismatch": (
        "{count} of {total} address problems were a postcode that does not match the city. A postcode lookup "
        "that fills in street and city at checkout prevents these."
    ),
}


@dataclass(frozen=True)
class StockCount:
    """Orders with an out-of-stock incident for one item: how many, and of those how many the shop took while the
    item was out of stock (it kept selling it as available: oversold inventory, backorders)."""

    label: str  # the item's title
    sku: str | None
    count: int
    sold_while_out: int
    min_count: int = 3

    @property
    def shown_available(self) -> bool:
        return self.count >= self.min_count and self.sold_while_out == self.count


# stock signals that mean the shop accepted the order while the item was out of stock (connector.stock.detect)
SOLD_WHILE_OUT = ("inventory", "backorder_meta", "onbackorder")


def out_of_stock_by_item(
    session: Session, shop_ids: Collection[str], start: datetime, end: datetime, *, limit: int = 10,
    thresholds: HintThresholds | None = None,
) -> list[StockCount]:  # fmt: skip
    """Out-of-stock incidents opened in ``[start, end)`` per item (title and SKU of the lines they named)."""
    where = [*_incidents_in(shop_ids, start, end), IncidentRow.kind == "out_of_stock"]
    if _dialect(session) == "postgresql":
        lines = IncidentRow.details.op("->")("lines")
        array = case((func.jsonb_typeof(lines) == "array", lines), else_=func.jsonb_build_array())
        pg_items = func.jsonb_array_elements(array).table_valued("value", name="item").lateral()
        title: ColumnElement[str] = pg_items.c.value.op("->>")("title")
        sku: ColumnElement[str] = pg_items.c.value.op("->>")("sku")
        signal: ColumnElement[str] = pg_items.c.value.op("->>")("signal")
        source = IncidentRow.__table__.join(pg_items, true())
    else:
        lite_items = func.json_each(IncidentRow.details, "$.lines").table_valued("value", name="item")
        title = func.json_extract(lite_items.c.value, "$.title")
        sku = func.json_extract(lite_items.c.value, "$.sku")
        signal = func.json_extract(lite_items.c.value, "$.signal")
        source = IncidentRow.__table__.join(lite_items, true())
    sold = case((signal.in_(SOLD_WHILE_OUT), IncidentRow.order_id), else_=None)
    query = (
        select(title, sku, func.count(IncidentRow.order_id.distinct()), func.count(sold.distinct()))
        .select_from(source)
        .where(*where)
        .group_by(title, sku)
    )
    minimum = (thresholds or HintThresholds()).min_count
    found = [StockCount(_label(t), s or None, int(n), int(out), minimum) for t, s, n, out in session.execute(query)]
    return sorted(found, key=lambda c: (-c.count, c.label))[:limit]


@dataclass(frozen=True)
class HintThresholds:
    """When an address problem is frequent enough to point at the checkout rather than at customers."""

    min_count: int = 3
    min_share: float = 0.3


def _grouped(session: Session, query: Select[str, int], limit: int) -> list[CauseCount]:
    rows = session.execute(query.order_by(func.count(IncidentRow.id.distinct()).desc()).limit(limit * 4)).all()
    merged: dict[str, int] = defaultdict(int)
    for label, count in rows:
        merged[_label(label)] += int(count)
    ordered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return [CauseCount(label, count) for label, count in ordered[:limit]]


def _incidents_in(shop_ids: Collection[str], start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [IncidentRow.shop_id.in_(shop_ids), IncidentRow.opened_at >= start, IncidentRow.opened_at < end]


def _by_order_field(
    session: Session, expression: ColumnElement[str], where: Sequence[ColumnElement[bool]], limit: int
) -> list[CauseCount]:
    query = (
        select(expression, func.count(IncidentRow.id.distinct()))
        .join(OrderRow, OrderRow.id == IncidentRow.order_id)
        .where(*where)
        .group_by(expression)
    )
    return _grouped(session, query, limit)


def _by_product(session: Session, where: Sequence[ColumnElement[bool]], limit: int) -> list[CauseCount]:
    if _dialect(session) == "postgresql":
        pg_lines = func.jsonb_array_elements(OrderRow.data["lines"]).table_valued("value", name="line").lateral()
        title: ColumnElement[str] = pg_lines.c.value.op("->>")("title")
        source = IncidentRow.__table__.join(OrderRow, OrderRow.id == IncidentRow.order_id).join(pg_lines, true())
    else:
        lite_lines = func.json_each(OrderRow.data, "$.lines").table_valued("value", name="line")
        title = func.json_extract(lite_lines.c.value, "$.title")
        source = IncidentRow.__table__.join(OrderRow, OrderRow.id == IncidentRow.order_id).join(lite_lines, true())
    query = select(title, func.count(IncidentRow.id.distinct())).select_from(source).where(*where).group_by(title)
    return _grouped(session, query, limit)


def _by_address_problem(session: Session, where: Sequence[ColumnElement[bool]], limit: int) -> list[CauseCount]:
    if _dialect(session) == "postgresql":
        problems = IncidentRow.details.op("->")("problems")
        array = case((func.jsonb_typeof(problems) == "array", problems), else_=func.jsonb_build_array())
        pg_codes = func.jsonb_array_elements_text(array).table_valued("value", name="code").lateral()
        code: ColumnElement[str] = pg_codes.c.value
        source = IncidentRow.__table__.join(pg_codes, true())
    else:
        lite_codes = func.json_each(IncidentRow.details, "$.problems").table_valued("value", name="code")
        code = lite_codes.c.value
        source = IncidentRow.__table__.join(lite_codes, true())
    query = (
        select(code, func.count(IncidentRow.id.distinct()))
        .select_from(source)
        .where(*where, IncidentRow.kind == "address")
        .group_by(code)
    )
    return _grouped(session, query, limit)


def address_hints(problems: Sequence[CauseCount], total: int, thresholds: HintThresholds) -> list[str]:
    """Plain-words advice for each address problem that is both frequent and a large share."""
    hints = []
    for problem in problems:
        template = ADDRESS_HINTS.get(problem.label)
        if template is None or total <= 0:
            continue
        if problem.count >= thresholds.min_count and problem.count / total >= thresholds.min_share:
            hints.append(template.format(count=problem.count, total=total))
    return hints


def top_causes(
    session: Session,
    shop_ids: Collection[str],
    start: datetime,
    end: datetime,
    *,
    limit: int = 10,
    thresholds: HintThresholds | None = None,
) -> Causes:
    where = _incidents_in(shop_ids, start, end)
    total = int(session.scalar(select(func.count()).select_from(IncidentRow).where(*where)) or 0)
    address_total = int(
        session.scalar(select(func.count()).select_from(IncidentRow).where(*where, IncidentRow.kind == "address")) or 0
    )
    step = func.coalesce(IncidentRow.details["status"].as_string(), OrderRow.platform_status)
    problems = _by_address_problem(session, where, limit)
    return Causes(
        total=total,
        by_carrier=_by_order_field(session, carrier_of(), where, limit),
        by_shipping_method=_by_order_field(session, shipping_method_of(), where, limit),
        by_product=_by_product(session, where, limit),
        by_warehouse_step=_by_order_field(session, step, [*where, IncidentRow.kind == "stale"], limit),
        by_address_problem=problems,
        hints=address_hints(problems, address_total, thresholds or HintThresholds()),
        out_of_stock=out_of_stock_by_item(session, shop_ids, start, end, limit=limit, thresholds=thresholds),
    )


# --- on-time rates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnTimeRate:
    label: str
    shipped: int
    late: int

    @property
    def on_time(self) -> int:
        return self.shipped - self.late

    @property
    def rate(self) -> float:
        return self.on_time / self.shipped if self.shipped else 0.0


@dataclass(frozen=True)
class OnTime:
    by_carrier: list[OnTimeRate]
    by_shipping_method: list[OnTimeRate]


def _on_time_by(
    session: Session,
    expression: ColumnElement[str],
    shop_ids: Collection[str],
    start: datetime,
    end: datetime,
    late_kinds: Sequence[str],
) -> list[OnTimeRate]:
    late = exists().where(IncidentRow.order_id == OrderRow.id, IncidentRow.kind.in_(late_kinds))
    rows = session.execute(
        select(expression, func.count(), func.sum(case((late, 1), else_=0)))
        .where(
            OrderRow.shop_id.in_(shop_ids),
            OrderRow.created_at >= start,
            OrderRow.created_at < end,
            OrderRow.status.in_(SHIPPED_STATUSES),
        )
        .group_by(expression)
    ).all()
    merged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for label, shipped, late_count in rows:
        merged[_label(label)][0] += int(shipped)
        merged[_label(label)][1] += int(late_count or 0)
    rates = [OnTimeRate(label, shipped, late_count) for label, (shipped, late_count) in merged.items()]
    return sorted(rates, key=lambda r: (-r.shipped, r.label))


def on_time_rates(
    session: Session,
    shop_ids: Collection[str],
    start: datetime,
    end: datetime,
    late_kinds: Sequence[str] = LATE_KINDS,
) -> OnTime:
    """Of the orders placed in the range that have shipped: how many came without a delay incident."""
    return OnTime(
        by_carrier=_on_time_by(session, carrier_of(), shop_ids, start, end, late_kinds),
        by_shipping_method=_on_time_by(session, shipping_method_of(), shop_ids, start, end, late_kinds),
    )


# --- vouchers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthSpend:
    month: date  # first day of the local month
    currency: str
    vouchers: int
    amount: Decimal


def voucher_spend_per_month(
    session: Session, shop_ids: Collection[str], start: datetime, end: datetime, zone: ZoneInfo
) -> list[MonthSpend]:
    """Issued vouchers (not refused ones) per local month and currency, oldest first."""
    where = [
        VoucherRow.shop_id.in_(shop_ids),
        VoucherRow.state == "issued",
        VoucherRow.created_at >= start,
        VoucherRow.created_at < end,
    ]
    rows = _per_hour(
        session, VoucherRow.created_at, [VoucherRow.currency], [func.count(), func.sum(VoucherRow.amount)], where
    )
    totals: dict[tuple[date, str], list[Any]] = defaultdict(lambda: [0, Decimal("0")])
    for bucket, currency, count, amount in rows:
        month = _local_date(bucket, zone).replace(day=1)
        totals[(month, currency)][0] += int(count)
        totals[(month, currency)][1] += Decimal(str(amount or 0))
    return [
        MonthSpend(month, currency, count, amount.quantize(Decimal("0.01")))
        for (month, currency), (count, amount) in sorted(totals.items())
    ]


@dataclass(frozen=True)
class VoucherTally:
    shop_id: str
    currency: str
    vouchers: int
    amount: Decimal
    refused: int


def vouchers_issued(session: Session, shop_ids: Collection[str], start: datetime, end: datetime) -> list[VoucherTally]:
    """Per shop and currency: vouchers issued (count, money value) and refused in the range."""
    issued = VoucherRow.state == "issued"
    rows = session.execute(
        select(
            VoucherRow.shop_id,
            VoucherRow.currency,
            func.sum(case((issued, 1), else_=0)),
            func.sum(case((issued, VoucherRow.amount), else_=literal(0))),
            func.sum(case((VoucherRow.state == "refused", 1), else_=0)),
        )
        .where(VoucherRow.shop_id.in_(shop_ids), VoucherRow.created_at >= start, VoucherRow.created_at < end)
        .group_by(VoucherRow.shop_id, VoucherRow.currency)
        .order_by(VoucherRow.shop_id, VoucherRow.currency)
    ).all()
    return [
        VoucherTally(shop, currency, int(count or 0), Decimal(str(amount or 0)).quantize(Decimal("0.01")), int(ref))
        for shop, currency, count, amount, ref in rows
    ]


# --- customer contacts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactStats:
    orders: int  # orders placed in the range
    contacts: int  # contacts recorded in the range
    after_informed: int  # of those: we had already e-mailed the customer about that order
    by_kind: dict[str, int]

    @property
    def per_100_orders(self) -> float:
        return round(self.contacts * 100 / self.orders, 1) if self.orders else 0.0


def contact_stats(session: Session, shop_ids: Collection[str], start: datetime, end: datetime) -> ContactStats:
    orders = session.scalar(
        select(func.count())
        .select_from(OrderRow)
        .where(OrderRow.shop_id.in_(shop_ids), OrderRow.created_at >= start, OrderRow.created_at < end)
    )
    informed = exists().where(
        EmailLog.order_id == CustomerContact.order_id,
        EmailLog.shop_id == CustomerContact.shop_id,
        EmailLog.sent_at < CustomerContact.noted_at,
    )
    rows = session.execute(
        select(CustomerContact.kind, func.count(), func.sum(case((informed, 1), else_=0)))
        .where(
            CustomerContact.shop_id.in_(shop_ids),
            CustomerContact.noted_at >= start,
            CustomerContact.noted_at < end,
        )
        .group_by(CustomerContact.kind)
    ).all()
    by_kind = {kind: int(count) for kind, count, _ in sorted(rows)}
    return ContactStats(
        orders=int(orders or 0),
        contacts=sum(by_kind.values()),
        after_informed=sum(int(after or 0) for _, _, after in rows),
        by_kind=by_kind,
    )


# --- today ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenIncidents:
    kind: str
    level: int
    count: int


def open_incidents(session: Session, shop_ids: Collection[str]) -> list[OpenIncidents]:
    """Unresolved incidents by kind and escalation level."""
    rows = session.execute(
        select(IncidentRow.kind, IncidentRow.level, func.count())
        .where(IncidentRow.shop_id.in_(shop_ids), IncidentRow.state != "resolved")
        .group_by(IncidentRow.kind, IncidentRow.level)
        .order_by(IncidentRow.kind, IncidentRow.level)
    ).all()
    return [OpenIncidents(kind, int(level), int(count)) for kind, level, count in rows]


# --- what customers report (connector.reports) ------------------------------------------------------


@dataclass(frozen=True)
class ReportItem:
    """Reports of one cause about one item (title and SKU of the lines the customer named)."""

    label: str
    sku: str | None
    cause: str
    count: int


@dataclass(frozen=True)
class ReportCounts:
    """Customer reports opened in the period: by item, cause and channel, and the items that keep coming back."""

    total: int
    by_item: list[ReportItem]
    by_cause: list[CauseCount]
    by_channel: list[CauseCount]
    hints: list[ReportItem]


def report_counts(
    session: Session, shop_ids: Collection[str], start: datetime, end: datetime, *, limit: int = 10, min_count: int = 3
) -> ReportCounts:
    """Report incidents (``report_*``) opened in ``[start, end)``: selected in SQL, counted here by their details."""
    rows = session.execute(
        select(IncidentRow.order_id, IncidentRow.kind, IncidentRow.details).where(
            *_incidents_in(shop_ids, start, end), IncidentRow.kind.like("report\\_%", escape="\\")
        )
    ).all()
    items: dict[tuple[str, str | None, str], set[int]] = defaultdict(set)
    causes: dict[str, int] = defaultdict(int)
    channels: dict[str, int] = defaultdict(int)
    for order_id, kind, details in rows:
        found = dict(details or {})
        cause = str(found.get("cause") or kind.removeprefix("report_"))
        causes[cause] += 1
        channels[str(found.get("channel") or UNKNOWN)] += 1
        for line in found.get("lines") or []:
            if isinstance(line, Mapping):
                items[(_label(line.get("title")), line.get("sku") or None, cause)].add(order_id)
    by_item = sorted(
        (ReportItem(label, sku, cause, len(orders)) for (label, sku, cause), orders in items.items()),
        key=lambda r: (-r.count, r.label, r.cause),
    )
    ordered = [CauseCount(k, v) for k, v in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))]
    via = [CauseCount(k, v) for k, v in sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))]
    hints = [r for r in by_item if r.count >= min_count]
    return ReportCounts(len(rows), by_item[:limit], ordered, via, hints)
