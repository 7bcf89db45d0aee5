"""The orders list: one search box over number, customer name, e-mail, postcode and tracking number, with filters.

Everything is selected in SQL and only within the viewer's shops. Number and e-mail are columns of ``orders``
(the e-mail is stored lower-cased, so that match uses its index); name, postcode and tracking number live only
in the order snapshot, so they are read from the JSON with the database's own path functions
(``json_extract``/``json_each`` on SQLite, ``->>``/``jsonb_array_elements`` on PostgreSQL) instead of a LIKE
on the whole JSON text, which would also hit keys, product titles and notes, and miss non-ASCII names (stored
``\\u`` escaped). No column or migration is added: those three matches scan the viewer's orders, which is
fine for the few hundred thousand orders a self-hosted shop has; a searched-for name, postcode or tracking
number would be the columns to add if that ever gets slow.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from connector.store.tables import IncidentRow, OrderRow

OPEN_STATES = ("open", "escalated")
OPEN_CHOICES = {"yes": True, "no": False}  # the ``open`` filter's values


@dataclass(frozen=True)
class OrderFilters:
    q: str = ""  # order number (with or without '#'), name, e-mail, postcode or tracking number
    shop_id: str | None = None
    open_incident: bool | None = None  # True: has an open incident; False: has none open
    kind: str | None = None  # has an incident of this kind (an open one when ``open_incident`` is True)
    start: datetime | None = None  # placed at or after
    end: datetime | None = None  # placed before


@dataclass(frozen=True)
class OpenIncident:
    id: int
    kind: str
    state: str
    level: int


@dataclass(frozen=True)
class OrderItem:
    id: int
    shop_id: str
    number: str
    status: str
    created_at: datetime
    customer_name: str
    open_incidents: tuple[OpenIncident, ...] = ()


def _text(value: Any) -> ColumnElement[str]:
    expression: ColumnElement[str] = value.as_string()
    return expression


def _squeezed(value: ColumnElement[str]) -> ColumnElement[str]:
    """Upper case without spaces: ``1234 ab`` and ``1234AB`` compare equal."""
    squeezed: ColumnElement[str] = func.upper(func.replace(value, " ", ""))
    return squeezed


def _first_name() -> ColumnElement[str]:
    return _text(OrderRow.data[("customer", "first_name")])


def _last_name() -> ColumnElement[str]:
    return _text(OrderRow.data[("customer", "last_name")])


def _has_tracking_number(session: Session, wanted: str) -> ColumnElement[bool]:
    """Some parcel of the order has this tracking number (compared upper case, without spaces)."""
    if session.get_bind().dialect.name == "postgresql":
        shipments = OrderRow.data["shipments"]
        array = case((func.jsonb_typeof(shipments) == "array", shipments), else_=func.jsonb_build_array())
        pg_parcels = func.jsonb_array_elements(array).table_valued("value", name="parcel")
        number: ColumnElement[str] = pg_parcels.c.value.op("->>")("tracking_number")
        source: Any = pg_parcels
    else:
        lite_parcels = func.json_each(OrderRow.data, "$.shipments").table_valued("value", name="parcel")
        number = func.json_extract(lite_parcels.c.value, "$.tracking_number")
        source = lite_parcels
    return exists(select(true()).select_from(source).where(_squeezed(number) == wanted))


def _matches(session: Session, q: str) -> ColumnElement[bool]:
    bare = q.lstrip("#").strip()
    squeezed = "".join(q.split()).upper()
    name = func.lower(func.coalesce(_first_name(), "") + " " + func.coalesce(_last_name(), ""))
    postcode = _text(OrderRow.data[("shipping_address", "postcode")])
    conditions = [
        OrderRow.number.in_({q, bare, "#" + bare}),
        OrderRow.customer_email == q.lower(),
        name.contains(" ".join(q.lower().split()), autoescape=True),
        _squeezed(postcode) == squeezed,
        _has_tracking_number(session, squeezed),
    ]
    return or_(*conditions)


def _open_incident(kind: str | None = None, only_open: bool = True) -> ColumnElement[bool]:
    query = select(IncidentRow.id).where(IncidentRow.order_id == OrderRow.id)
    if only_open:
        query = query.where(IncidentRow.state.in_(OPEN_STATES))
    if kind is not None:
        query = query.where(IncidentRow.kind == kind)
    return exists(query)


def _conditions(session: Session, shop_ids: Collection[str], filters: OrderFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [OrderRow.shop_id.in_(list(shop_ids))]
    if filters.q.strip():
        conditions.append(_matches(session, filters.q.strip()))
    if filters.shop_id:
        conditions.append(OrderRow.shop_id == filters.shop_id)
    if filters.kind:
        conditions.append(_open_incident(filters.kind, only_open=filters.open_incident is True))
    if filters.open_incident is True and not filters.kind:
        conditions.append(_open_incident())
    if filters.open_incident is False:
        conditions.append(~_open_incident())
    if filters.start is not None:
        conditions.append(OrderRow.created_at >= filters.start)
    if filters.end is not None:
        conditions.append(OrderRow.created_at < filters.end)
    return conditions


OrderQuery = Select[int, str, str, str, datetime, str, str, str | None]


def _query(session: Session, shop_ids: Collection[str], filters: OrderFilters) -> OrderQuery:
    return (
        select(
            OrderRow.id, OrderRow.shop_id, OrderRow.number, OrderRow.status, OrderRow.created_at,
            _first_name(), _last_name(), OrderRow.customer_email,
        )
        .where(*_conditions(session, shop_ids, filters))
        .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
    )  # fmt: skip


def _items(session: Session, rows: Sequence[Any]) -> list[OrderItem]:
    incidents = _open_incidents(session, [row.id for row in rows])
    return [
        OrderItem(
            order_id, shop_id, number, status, created_at,
            " ".join(p for p in (first, last) if p) or (email or ""),
            tuple(incidents.get(order_id, ())),
        )
        for order_id, shop_id, number, status, created_at, first, last, email in rows
    ]  # fmt: skip


def search_orders(
    session: Session, shop_ids: Collection[str], filters: OrderFilters, page: int, per_page: int
) -> tuple[list[OrderItem], bool]:
    """One page of matching orders, newest first, and whether another page follows."""
    query = _query(session, shop_ids, filters).limit(per_page + 1).offset((page - 1) * per_page)
    rows = session.execute(query).all()
    return _items(session, rows[:per_page]), len(rows) > per_page


def iter_orders(
    session: Session, shop_ids: Collection[str], filters: OrderFilters, batch: int = 500
) -> Iterator[OrderItem]:
    """Every matching order, newest first, in batches (CSV export)."""
    result = session.execute(_query(session, shop_ids, filters).execution_options(yield_per=batch))
    for rows in result.partitions():
        yield from _items(session, rows)


def _open_incidents(session: Session, order_ids: Sequence[int]) -> dict[int, list[OpenIncident]]:
    found: dict[int, list[OpenIncident]] = {}
    if not order_ids:
        return found
    for row in session.scalars(
        select(IncidentRow)
        .where(IncidentRow.order_id.in_(list(order_ids)), IncidentRow.state.in_(OPEN_STATES))
        .order_by(IncidentRow.opened_at, IncidentRow.id)
    ):
        found.setdefault(row.order_id, []).append(OpenIncident(row.id, row.kind, row.state, row.level))
    return found


def incident_kinds(session: Session, shop_ids: Collection[str]) -> list[str]:
    """The incident kinds seen in the viewer's shops: the choices of the kind filter."""
    rows = session.scalars(
        select(IncidentRow.kind).distinct().where(IncidentRow.shop_id.in_(list(shop_ids))).limit(100)
    )
    return sorted(kind for kind in rows if kind)
