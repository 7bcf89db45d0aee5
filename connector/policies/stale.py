"""The stale policy: orders stuck in the queue — paid and not shipped, on hold or unpaid for too long.

Past the threshold the order is tagged, staff get a note with the likely reason and the customer an
update with a concrete date (or the date they will hear from us by); past ``call_task_after`` a call
task follows. Resolved when the order ships or ends; a change of reason starts a new occurrence.

An order the customer collects (``DeliveryMethod.PICK_UP``) is stale when it is not ready for pickup: paid and
still unfulfilled after ``unshipped_after``. Staff get the tag, the note and the call task; the customer gets no
"not shipped yet, new delivery date" message, which would be wrong for a pickup. Once the shop starts on it
(Shopify marks a fulfilment order in progress, and a "ready for pickup" one is not told apart from it) it waits
for the customer, which is not the shop being late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from connector.actions import ActionKind
from connector.calendar import Duration
from connector.incidents import RESOLVED, Incidents, IncidentView
from connector.model import Order, OrderStatus
from connector.policies.base import (
    FINISHED,
    Decision,
    Escalate,
    Open,
    PolicyBase,
    PolicyContext,
    Resolve,
    awaiting_payment,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    ready_at,
    resolve_if_active,
    tag,
)
from connector.policies.config import StaleConfig
from connector.policies.notes import day, phrase
from connector.promises.rules import kept_date

KIND = "stale"
OWN_HOLD_PREFIX = "ordercare"  # holds we placed (their handle) do not make an order stale


@dataclass(frozen=True)
class _Reason:
    name: str
    threshold: str  # the StaleConfig field


_NOT_READY = _Reason("not_ready", "unshipped_after")  # a pickup order not ready for pickup

_REASONS: dict[OrderStatus, _Reason] = {
    OrderStatus.PAID: _Reason("unshipped", "unshipped_after"),
    OrderStatus.PROCESSING: _Reason("unshipped", "unshipped_after"),
    OrderStatus.ON_HOLD: _Reason("on_hold", "on_hold_after"),
    OrderStatus.PLACED: _Reason("pending", "pending_after"),
}


def _since(order: Order, reason: str) -> datetime:
    """When the order's wait began: placing for a pending order, payment (``ready_at``) for the others."""
    if reason == "pending":
        return order.created_at
    return ready_at(order) or order.created_at


def _reason(order: Order) -> _Reason | None:
    """Why an open order waits; one that awaits payment is "pending" whatever its status says."""
    if awaiting_payment(order) and order.status not in FINISHED:
        return _REASONS[OrderStatus.PLACED]
    reason = _REASONS.get(order.status)
    if reason is not None and reason.name == "unshipped" and not order.delivery_method.delivered:
        return _NOT_READY if order.status is OrderStatus.PAID else None
    return reason


class StalePolicy(PolicyBase):
    name = "stale"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        incident = incidents.get(KIND)
        reason = _reason(order)
        if reason is None:
            return resolve_if_active(incident, KIND, FINISHED.get(order.status, order.status.value))
        decision = Decision()
        active = incident is not None and incident.active
        if active and incident is not None and incident.details.get("reason") != reason.name:
            decision.incidents.append(Resolve(KIND, f"no longer {incident.details.get('reason')}"))
            incident, active = _resolved(incident), False
        address = incidents.get("address")
        if address is not None and address.active:
            return decision  # waiting for the customer's address: that incident explains the delay
        if reason.name == "on_hold" and any((h.handle or "").startswith(OWN_HOLD_PREFIX) for h in order.active_holds):
            return decision
        config = ctx.config.stale
        since = _since(order, reason.name)
        threshold: Duration = getattr(config, reason.threshold)
        due = ctx.calendar.add(since, threshold)
        call_due = ctx.calendar.add(since, config.call_task_after)
        if not active:
            if now < due:
                decision.look_again(due)
                return decision
            self._open(decision, order, incident, reason.name, since, now, ctx, config)
            level = 1
            occurrence = incident.occurrence + 1 if incident is not None else 1
        else:
            assert incident is not None
            level, occurrence = incident.level, incident.occurrence
        if level < 2:
            if now >= call_due:
                self._call(decision, occurrence, reason.name, now, ctx)
            else:
                decision.look_again(call_due)
        return decision

    def _open(
        self,
        decision: Decision,
        order: Order,
        incident: IncidentView | None,
        reason: str,
        since: datetime,
        now: datetime,
        ctx: PolicyContext,
        config: StaleConfig,
    ) -> None:
        occurrence = incident.occurrence + 1 if incident is not None else 1
        prefix = f"{occurrence}-"
        new_date, hear_by = _dates(reason, now, ctx)
        email = (
            notify_payload(
                order, ctx, "stale_update", new_delivery_date=new_date, hear_from_us_by=hear_by, reason=reason
            )
            if config.notify_customer and not awaiting_payment(order) and reason != _NOT_READY.name
            else None  # no "your order is late" to a customer who has not paid, nor a delivery date for a
            # pickup: staff get the note and the call task
        )
        decision.incidents.append(
            Open(
                KIND,
                1,
                {
                    "reason": reason,
                    "since": since.isoformat(),
                    "told_customer": email is not None,
                    "new_delivery_date": new_date.isoformat() if new_date and email is not None else None,
                },
            )
        )

        def note(told: str) -> str:
            return ctx.note(f"stale_{reason}", now, since=day(ctx.locale, ctx.local_date(since)), told=told)

        decision.plan(KIND, ActionKind.ADD_TAGS, self.name, prefix + "tag", {"tags": [tag("stale")]})
        told = note(phrase(ctx.locale, "told") if email is not None else "")
        notify_step = prefix + "notify" if email is not None else None
        not_told = note(phrase(ctx.locale, "not_told", error="{error}"))
        plan_note_after_message(decision, KIND, self.name, prefix + "note", notify_step, told=told, not_told=not_told)
        plan_notify(decision, KIND, self.name, prefix + "notify", email)

    def _call(self, decision: Decision, occurrence: int, reason: str, now: datetime, ctx: PolicyContext) -> None:
        prefix = f"{occurrence}-"
        decision.incidents.append(Escalate(KIND, 2, {"call_task": True}))
        decision.plan(
            KIND,
            ActionKind.CREATE_CALL_TASK,
            self.name,
            prefix + "call",
            {"reason": f"order stuck ({reason}): call the customer", "due_at": now.isoformat()},
        )
        decision.plan(KIND, ActionKind.ADD_NOTE, self.name, prefix + "call-note", {"text": ctx.note("stale_call", now)})


def _resolved(incident: IncidentView) -> IncidentView:
    return replace(incident, state=RESOLVED)


def _dates(reason: str, now: datetime, ctx: PolicyContext) -> tuple[date | None, date | None]:
    """Unshipped: the delivery date if it leaves by the next dispatch; otherwise when we will write again."""
    calendar = ctx.calendar
    today = calendar.local_date(now)
    if reason == "unshipped":
        config = ctx.config.next_day
        honest = calendar.next_day_promise(now, config.cutoff, config.dispatch_by).deliver_on
        return kept_date(ctx.promises, honest), None  # a later date we already gave stays the date
    return None, calendar.add_working_days_to_date(today, 1)


POLICY = StalePolicy()
