"""What a policy is: a pure ``decide(order, incidents, now, ctx) -> Decision``, and the helpers they share.

A ``Decision`` says which incidents to open, escalate or resolve, which actions to plan (each tied to an
incident kind so the outbox row names it), which vouchers to ask the compensation budget for, and when to
look at the order again. The engine (``connector.policies.engine``) writes it; policies never touch the
database or a shop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from connector.actions import IF_AFTER_FAILED, ActionKind, PlannedAction
from connector.address.check import AddressLookup
from connector.calendar import BusinessCalendar, DeliveryPromise
from connector.carriers.config import CarriersSettings
from connector.incidents import Incidents, IncidentView
from connector.model import Order, OrderStatus, Payment
from connector.policies.config import PoliciesConfig
from connector.policies.notes import render_note
from connector.promises.rules import PromiseView
from connector.reports.model import ReportView
from connector.shops import Shop

TAG_PREFIX = "ordercare:"


@dataclass(frozen=True)
class Open:
    kind: str
    level: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Escalate:
    kind: str
    level: int
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolve:
    kind: str
    reason: str


@dataclass(frozen=True)
class Annotate:
    """Merge facts into an active incident's details without changing its state."""

    kind: str
    details: Mapping[str, Any]


IncidentOp = Open | Escalate | Resolve | Annotate


@dataclass(frozen=True)
class Step:
    """A planned action and the incident kind it belongs to (None: not about an incident)."""

    action: PlannedAction
    incident: str | None


@dataclass(frozen=True)
class VoucherRequest:
    """Ask the compensation budget for a voucher; ``notify_step``/``note_step`` get told the outcome."""

    policy: str
    step: str
    incident: str
    notify_step: str | None = None
    note_step: str | None = None
    after_step: str | None = None  # the voucher is created only once this step of the policy is done


@dataclass(frozen=True)
class EndPromise:
    """End one of the order's open promises (``connector.promises.rules``: met, missed or cancelled)."""

    promise_id: int
    ended: str
    at: datetime


@dataclass
class Decision:
    incidents: list[IncidentOp] = field(default_factory=list)
    actions: list[Step] = field(default_factory=list)
    vouchers: list[VoucherRequest] = field(default_factory=list)
    next_check: datetime | None = None
    promises: list[EndPromise] = field(default_factory=list)

    def plan(self, incident: str | None, kind: ActionKind, policy: str, step: str, payload: dict[str, Any]) -> None:
        self.actions.append(Step(PlannedAction(kind=kind, policy=policy, step=step, payload=payload), incident))

    def look_again(self, when: datetime | None) -> None:
        if when is not None and (self.next_check is None or when < self.next_check):
            self.next_check = when

    @property
    def empty(self) -> bool:
        return not (self.incidents or self.actions or self.vouchers or self.promises)


@dataclass(frozen=True)
class PolicyContext:
    """What a policy may know besides the order: the shop, its settings and calendar, a lookup, and the
    order's open promises (the dates the customer was given, ``connector.promises``)."""

    shop: Shop
    config: PoliciesConfig
    calendar: BusinessCalendar
    lookup: AddressLookup | None = None
    promises: tuple[PromiseView, ...] = ()
    # one voice: the customer has an open problem on another order or a recent apology (``policies.customers``)
    quiet_customer: bool = False
    carriers: CarriersSettings | None = None  # the shop's tracking sources (``shops[i].carriers``), if any
    reports: tuple[ReportView, ...] = ()  # what the customer reported about the order (``connector.reports``)

    @property
    def locale(self) -> str:
        return _locale(self.shop.locale) or "en"

    def customer_locale(self, order: Order) -> str:
        return _locale(order.customer.locale) or self.locale

    def note(self, key: str, now: datetime, **fields: Any) -> str:
        """A short, dated staff note in the shop's language."""
        return render_note(self.locale, key, now.astimezone(self.calendar.tz), **fields)

    def local_date(self, moment: datetime) -> date:
        return self.calendar.local_date(moment)


def _locale(value: str | None) -> str | None:
    if not value:
        return None
    language = value.replace("_", "-").split("-")[0].lower()
    return language if language in ("nl", "en") else None


class Policy(Protocol):
    name: str

    def enabled(self, config: PoliciesConfig) -> bool: ...

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        """Pure: what to do about this order now, and when to look again."""


class PolicyBase:
    """What the packaged policies share: ``name`` also names the policy's section of the settings."""

    name: str

    def enabled(self, config: PoliciesConfig) -> bool:
        """Whether the shop's settings switch this policy on (its section's ``enabled``)."""
        return bool(getattr(config, self.name).enabled)


# --- shared helpers ------------------------------------------------------------------------------


# an order in one of these statuses needs no more watching before it ships: it has shipped or ended
FINISHED: Mapping[OrderStatus, str] = {
    OrderStatus.PARTIALLY_SHIPPED: "shipped",
    OrderStatus.SHIPPED: "shipped",
    OrderStatus.DELIVERED: "delivered",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REFUNDED: "refunded",
    OrderStatus.FAILED: "failed",
}


def resolve_if_active(incident: IncidentView | None, kind: str, reason: str) -> Decision:
    """The decision about a finished order: resolve the policy's incident with ``reason`` if it is still active."""
    decision = Decision()
    if incident is not None and incident.active:
        decision.incidents.append(Resolve(kind, reason))
    return decision


def tag(kind: str) -> str:
    return TAG_PREFIX + kind


def awaiting_payment(order: Order) -> bool:
    """The shop does not have the money yet: nothing is late and the customer hears nothing from us."""
    return order.payment is Payment.AWAITING


def ready_at(order: Order) -> datetime | None:
    """When the warehouse could start: payment, or placing if it was paid at once or pays on delivery;
    None while the order awaits payment (its clocks have not started)."""
    if awaiting_payment(order):
        return None
    return max(order.created_at, order.paid_at) if order.paid_at else order.created_at


def promise_for(order: Order, ctx: PolicyContext) -> DeliveryPromise | None:
    """The shop's promise: the platform's own if it names one, else the next-day promise of the method;
    none before payment."""
    start = ready_at(order)
    if start is None:
        return None
    if order.promise is not None and order.promise.deliver_on is not None:
        dispatch = order.promise.dispatch_by
        if dispatch is None:
            dispatch = ctx.calendar.at(order.promise.deliver_on, ctx.config.next_day.dispatch_by)
        return DeliveryPromise(dispatch_by=dispatch, deliver_on=order.promise.deliver_on)
    config = ctx.config.next_day
    if config.matches(order.shipping_method):
        return ctx.calendar.next_day_promise(start, config.cutoff, config.dispatch_by)
    return None


def live_shipments(order: Order) -> list[Any]:
    return [s for s in order.shipments if not s.cancelled]


def notify_payload(
    order: Order,
    ctx: PolicyContext,
    template: str,
    *,
    marketing: bool = False,
    new_delivery_date: date | None = None,
    hear_from_us_by: date | None = None,
    problems: list[str] | None = None,
    level: int | None = None,
    reason: str | None = None,
) -> dict[str, Any] | None:
    """The NOTIFY_CUSTOMER payload of the messages contract; None when the customer has no e-mail."""
    email = (order.customer.email or "").strip()
    if not email:
        return None
    shipment = next(iter(live_shipments(order)), None)
    context: dict[str, Any] = {
        "shop_name": ctx.shop.name,
        "order_number": order.number,
        "first_name": order.customer.first_name or None,
        "items": [{"title": line.title, "quantity": line.quantity} for line in order.lines],
        "new_delivery_date": new_delivery_date.isoformat() if new_delivery_date else None,
        "hear_from_us_by": hear_from_us_by.isoformat() if hear_from_us_by else None,
        "voucher": None,
        "carrier": shipment.carrier if shipment else None,
        "tracking_url": shipment.tracking_url if shipment else None,
        "reason": reason,
    }
    if problems is not None:
        context["problems"] = problems
    if level is not None:
        context["level"] = level
    return {
        "template": template,
        "to": email,
        "locale": ctx.customer_locale(order),
        "marketing": marketing,
        "context": context,
    }


def plan_note_after_message(
    decision: Decision,
    incident: str | None,
    policy: str,
    step: str,
    notify_step: str | None,
    *,
    told: str,
    not_told: str,
) -> None:
    """A staff note that reports a customer message: written once the message went (``told``), or, when it
    failed for good, saying so and why (``not_told`` with ``{error}``); without a message, ``not_told`` is
    not needed and the note is ``told`` written at once (it then reports no message)."""
    if notify_step is None:
        decision.plan(incident, ActionKind.ADD_NOTE, policy, step, {"text": told})
        return
    payload = {"text": told, IF_AFTER_FAILED: {"text": not_told}}
    action = PlannedAction(
        ActionKind.ADD_NOTE, policy, step, payload, after_step=notify_step, after_even_if_failed=True
    )
    decision.actions.append(Step(action, incident))


def plan_notify(
    decision: Decision, incident: str | None, policy: str, step: str, payload: dict[str, Any] | None
) -> str | None:
    """Plan the e-mail if there is one to send; the step name, or None when nothing was planned."""
    if payload is None:
        return None
    decision.plan(incident, ActionKind.NOTIFY_CUSTOMER, policy, step, payload)
    return step
