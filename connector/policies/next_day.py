"""The next-day policy: an order with a next-day method that missed its dispatch deadline.

The promise comes from the platform when it names one, else from the calendar (cut-off, dispatch
deadline, carrier delivery days). Past the deadline and not shipped: tag, staff note, an apology with the
new concrete delivery date and a voucher within the compensation budget. Resolved once it ships.
"""

from __future__ import annotations

from datetime import datetime

from connector.actions import ActionKind
from connector.incidents import Incidents
from connector.model import Order, OrderStatus
from connector.policies.base import (
    FINISHED,
    Decision,
    Open,
    PolicyBase,
    PolicyContext,
    VoucherRequest,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    promise_for,
    resolve_if_active,
    tag,
)
from connector.policies.notes import day, moment, phrase

KIND = "next_day"

_WAITING = frozenset({OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.ON_HOLD})


class NextDayPolicy(PolicyBase):
    name = "next_day"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        incident = incidents.get(KIND)
        if order.status in FINISHED:
            return resolve_if_active(incident, KIND, FINISHED[order.status])
        decision = Decision()
        config = ctx.config.next_day
        if incident is not None or order.status not in _WAITING or not config.matches(order.shipping_method):
            return decision  # once per order; unpaid orders carry no promise yet
        if not order.delivery_method.delivered:
            return decision  # collected at the shop ("morgen afhalen"): no delivery was promised
        address = incidents.get("address")
        if address is not None and address.active:
            return decision  # held for the customer's address: not a missed promise of the shop
        promise = promise_for(order, ctx)
        if promise is None:
            return decision
        if now < promise.dispatch_by:
            decision.look_again(promise.dispatch_by)
            return decision
        new_date = ctx.calendar.next_day_promise(now, config.cutoff, config.dispatch_by).deliver_on
        email = (
            notify_payload(order, ctx, "next_day_missed", new_delivery_date=new_date, reason="late")
            if config.notify_customer
            else None
        )
        decision.incidents.append(
            Open(
                KIND,
                1,
                {
                    "dispatch_by": promise.dispatch_by.isoformat(),
                    "promised": promise.deliver_on.isoformat(),
                    "new_delivery_date": new_date.isoformat(),
                    "told_customer": email is not None,
                },
            )
        )
        locale = ctx.locale

        def note(told: str) -> str:
            deadline = moment(locale, promise.dispatch_by.astimezone(ctx.calendar.tz))
            return ctx.note("next_day", now, method=order.shipping_method, promised=day(locale, promise.deliver_on),
                            deadline=deadline, new_date=day(locale, new_date), told=told)  # fmt: skip

        decision.plan(KIND, ActionKind.ADD_TAGS, self.name, "1-tag", {"tags": [tag("next-day")]})
        told = note(phrase(locale, "told") if email is not None else "")
        notify_step = "1-notify" if email is not None else None
        not_told = note(phrase(locale, "not_told", error="{error}"))
        plan_note_after_message(decision, KIND, self.name, "1-note", notify_step, told=told, not_told=not_told)
        notify_step = plan_notify(decision, KIND, self.name, "1-notify", email)
        if config.voucher:
            decision.vouchers.append(VoucherRequest(self.name, "1-voucher", KIND, notify_step, "1-note"))
        return decision


POLICY = NextDayPolicy()
