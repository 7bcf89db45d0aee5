"""The customer's choice on the out-of-stock page, handed to the outbox in one transaction.

``options`` says what the page offers per short line (from the incident the e-mail was about); ``read`` checks a
submitted form against it (every line needs one of its options; anything else changes nothing); ``accept`` uses
the link up, plans the write-back and the messages, records the choice on the incident and resolves it:

- wait: a confirmation e-mail naming the day, which becomes a promise the follow-up policy keeps;
- an alternative: the order's lines changed in the shop (EDIT_ORDER_LINES), then the confirmation; a staff note
  says what was done, or that the change failed and must be made by hand;
- cancel: the item taken off the order, a refund call task for staff (refunds stay a staff decision), then the
  confirmation naming the amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import codec, incidents
from connector.actions import IF_AFTER_FAILED, ActionKind, PlannedAction
from connector.address.fixlinks import LinkState
from connector.metrics import Metrics
from connector.model import Order
from connector.notify.render import format_money, normalise_locale
from connector.outbox.queue import plan
from connector.stock import links
from connector.stock import notes as stock_notes
from connector.store.tables import IncidentRow, OrderRow, StockLink

POLICY = "out_of_stock"
WAIT, CANCEL = "wait", "cancel"
TEMPLATE = "out_of_stock_choice"


@dataclass(frozen=True)
class Option:
    key: str  # "wait", "cancel" or the alternative's key ("alt1", ...)
    title: str | None = None  # the alternative's title
    wait_until: date | None = None


@dataclass(frozen=True)
class LineOptions:
    line: dict[str, Any]  # the incident's record of the line (``detect.ShortLine.as_dict`` and its choices)
    options: tuple[Option, ...]

    @property
    def line_id(self) -> str:
        return str(self.line["line_id"])


def options(details: dict[str, Any], today: date | None = None) -> list[LineOptions]:
    """What the page offers for each line the incident names; waiting only while its day lies after ``today``
    (a day that has come is no promise any more)."""
    found = []
    for line in details.get("lines") or []:
        if not isinstance(line, dict) or not line.get("line_id"):
            continue
        offered: list[Option] = []
        wait = date.fromisoformat(str(line["wait_until"])) if line.get("wait_until") else None
        if wait is not None and (today is None or wait > today):
            offered.append(Option(WAIT, wait_until=wait))
        for alternative in line.get("alternatives") or []:
            offered.append(Option(str(alternative["key"]), title=str(alternative["title"])))
        offered.append(Option(CANCEL))
        found.append(LineOptions(line, tuple(offered)))
    return found


def read(form: Any, offered: list[LineOptions]) -> dict[str, str] | None:
    """line id -> chosen option key, when the form picks one offered option for every line; else None."""
    chosen: dict[str, str] = {}
    for item in offered:
        value = form.get(f"choice-{item.line_id}")
        if not isinstance(value, str) or value not in {o.key for o in item.options}:
            return None
        chosen[item.line_id] = value
    return chosen or None


@dataclass(frozen=True)
class ChoiceResult:
    accepted: bool
    state: LinkState | None = None  # why not: used or expired since the page was shown, or settled
    used_at: datetime | None = None
    settled: bool = False  # the incident ended before the customer chose (back in stock, shipped, staff)


def incident_of(session: Session, link: StockLink | None) -> IncidentRow | None:
    return session.get(IncidentRow, link.incident_id) if link is not None and link.incident_id else None


def stored_order(session: Session, link: StockLink | None) -> Order | None:
    row = session.get(OrderRow, link.order_id) if link is not None else None
    return codec.load_order(row.data) if row is not None else None


def refund_text(line: dict[str, Any], locale: str) -> str | None:
    """What cancelling the line's short units gives back, e.g. "€ 24,95"; None when the price is unknown."""
    try:
        amount = Decimal(str(line.get("unit_price"))) * int(line.get("backordered") or 0)
    except (InvalidOperation, ValueError, TypeError):
        return None
    currency = str(line.get("currency") or "")
    return format_money(amount, currency, locale) if len(currency) == 3 else None


def accept(
    session: Session,
    link: StockLink,
    chosen: dict[str, str],
    now: datetime,
    *,
    shop_locale: str,
    tz: tzinfo,
    observe: bool = False,
    metrics: Metrics | None = None,
) -> ChoiceResult:
    """Carry the customer's choice out (see the module docstring); nothing changes if the link was used up or the
    incident ended meanwhile."""
    incident = incident_of(session, link)
    if incident is None or incident.state == incidents.RESOLVED:
        return ChoiceResult(False, settled=True)
    offered = {item.line_id: item for item in options(dict(incident.details or {}), now.astimezone(tz).date())}
    record = {"lines": chosen, "at": now.isoformat()}
    if not links.use(session, link.id, now, record):
        fresh = session.get(StockLink, link.id)
        state = LinkState.USED if fresh is not None and fresh.used_at else LinkState.EXPIRED
        return ChoiceResult(False, state, fresh.used_at if fresh is not None else None)
    row = session.scalars(select(OrderRow).where(OrderRow.id == link.order_id)).one()
    order = codec.load_order(row.data)
    row.next_check_at = now
    locale = normalise_locale(order.customer.locale, default=normalise_locale(shop_locale))
    local_now = now.astimezone(tz)
    for line_id, key in sorted(chosen.items()):
        item = offered[line_id]
        option = next(o for o in item.options if o.key == key)
        steps = _steps(order, item.line, option, link.id, locale, normalise_locale(shop_locale), local_now)
        for action in steps:
            plan(
                session,
                shop_id=link.shop_id,
                order_id=link.order_id,
                order_external_id=row.external_id,
                action=action,
                now=now,
                incident_id=link.incident_id,
                observe=observe,
            )
    view = incidents.IncidentView(
        incident.kind, incident.state, incident.level, incident.occurrence, incident.opened_at,
        id=incident.id, details=dict(incident.details or {}),
    )  # fmt: skip
    incidents.add_details(session, view, {"choice": record}, now)
    summary = ", ".join(f"{offered[i].line['title']}: {_said(offered[i], k)}" for i, k in sorted(chosen.items()))
    incidents.resolve(session, incident.id, f"customer chose ({summary})", now, metrics=metrics)
    return ChoiceResult(True)


def _said(item: LineOptions, key: str) -> str:
    option = next(o for o in item.options if o.key == key)
    return option.title or option.key


def _steps(
    order: Order,
    line: dict[str, Any],
    option: Option,
    link_id: str,
    locale: str,
    staff_locale: str,
    local_now: datetime,
) -> list[PlannedAction]:
    prefix = f"choice-{link_id[:12]}-{line['line_id']}-"
    title = str(line["title"])
    short = int(line.get("backordered") or 0)
    keep = max(0, int(line.get("quantity") or 0) - short)
    email = (order.customer.email or "").strip()
    context: dict[str, Any] = {
        "order_number": order.number,
        "first_name": order.customer.first_name or None,
        "items": [],
        "item": title,
        "choice": option.key if option.key in (WAIT, CANCEL) else "alternative",
    }
    steps: list[PlannedAction] = []

    def message(after: str | None, **extra: Any) -> None:
        if not email:
            return
        payload = {"template": TEMPLATE, "to": email, "locale": locale, "marketing": False,
                   "context": {**context, **extra}}  # fmt: skip
        steps.append(PlannedAction(ActionKind.NOTIFY_CUSTOMER, POLICY, prefix + "notify", payload, after_step=after))

    if option.key == WAIT:
        assert option.wait_until is not None
        text = stock_notes.note(staff_locale, "wait", local_now, item=title, date=option.wait_until.isoformat())
        steps.append(PlannedAction(ActionKind.ADD_NOTE, POLICY, prefix + "note", {"text": text}))
        message(None, new_delivery_date=option.wait_until.isoformat())  # the day becomes a promise
        return steps
    edit: dict[str, Any] = {"set": [{"line_id": str(line["line_id"]), "quantity": keep}], "add": []}
    if option.key == CANCEL:
        refund = refund_text(line, locale) or ""
        staff_refund = refund_text(line, staff_locale) or "?"
        edit["note"] = stock_notes.text(staff_locale, "cancel", item=title, refund=staff_refund)
        done = stock_notes.note(staff_locale, "cancel", local_now, item=title, refund=staff_refund)
        failed = stock_notes.note(staff_locale, "cancel_failed", local_now, item=title, refund=staff_refund,
                                  error="{error}")  # fmt: skip
        reason = f"refund {staff_refund} for {short}× {title}: the customer cancelled the out-of-stock item"
        call = {"reason": reason, "due_at": local_now.isoformat()}
        steps.append(PlannedAction(ActionKind.EDIT_ORDER_LINES, POLICY, prefix + "edit", edit))
        steps.append(PlannedAction(ActionKind.CREATE_CALL_TASK, POLICY, prefix + "refund", call))
        message(prefix + "edit", refund=refund or None)
    else:
        alternative = next(a for a in line.get("alternatives") or [] if a.get("key") == option.key)
        edit["add"] = [{"variant_id": alternative.get("variant_id"), "product_id": alternative.get("product_id"),
                        "quantity": short, "title": alternative["title"]}]  # fmt: skip
        edit["note"] = stock_notes.text(staff_locale, "alternative", item=title, alternative=alternative["title"])
        done = stock_notes.note(staff_locale, "alternative", local_now, item=title, alternative=alternative["title"])
        failed = stock_notes.note(staff_locale, "alternative_failed", local_now, item=title,
                                  alternative=alternative["title"], error="{error}")  # fmt: skip
        steps.append(PlannedAction(ActionKind.EDIT_ORDER_LINES, POLICY, prefix + "edit", edit))
        message(prefix + "edit", alternative=alternative["title"])
    steps.append(
        PlannedAction(
            ActionKind.ADD_NOTE,
            POLICY,
            prefix + "note",
            {"text": done, IF_AFTER_FAILED: {"text": failed}},
            after_step=prefix + "edit",
            after_even_if_failed=True,
        )
    )
    return steps
