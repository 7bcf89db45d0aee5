"""The promise follow-up policy: a date we gave the customer is met, or followed up before it passes.

It ends the order's open promises whose event happened (``met``, or ``missed`` when it came too late) or
whose order was cancelled. For a promise still open at its follow-up time (``rules.follow_up_at``) the
customer gets ``promise_followup``: the carrier's new day when it names one after today, else the honest
"we do not know yet, you will hear from us by ..." (itself a new promise); staff get a note, and a call
task as ``call_task`` says. Nothing for an order that awaits payment or a customer without an e-mail.
"""

from __future__ import annotations

from datetime import date, datetime

from connector.actions import ActionKind
from connector.incidents import Incidents
from connector.model import Order
from connector.policies.base import (
    Decision,
    EndPromise,
    PolicyBase,
    PolicyContext,
    awaiting_payment,
    notify_payload,
    plan_note_after_message,
    plan_notify,
)
from connector.policies.notes import day, phrase
from connector.promises import rules
from connector.promises.rules import FollowUpTimes, PromiseView

TEMPLATE = "promise_followup"


class PromiseFollowupPolicy(PolicyBase):
    name = "promise_followup"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        decision = Decision()
        waiting: list[PromiseView] = []
        for promise in ctx.promises:
            if promise.id is None or not promise.open:
                continue
            ended = rules.settle(promise, order, ctx.calendar.tz)
            if ended is not None:
                decision.promises.append(EndPromise(promise.id, *ended))
            else:
                waiting.append(promise)
        if not waiting or awaiting_payment(order) or not (order.customer.email or "").strip():
            return decision
        config = ctx.config.promise_followup
        times = FollowUpTimes(config.hear_from_us_at, config.not_delivered_at, ctx.config.next_day.dispatch_by)
        dues = {p.id: rules.follow_up_at(p, order, times, ctx.calendar) for p in waiting}
        promise = min(waiting, key=lambda p: dues[p.id])
        due = dues[promise.id]
        if now < due:
            decision.look_again(due)
            return decision
        self._follow_up(decision, order, promise, now, ctx)
        return decision

    def _follow_up(
        self, decision: Decision, order: Order, promise: PromiseView, now: datetime, ctx: PolicyContext
    ) -> None:
        config = ctx.config.promise_followup
        new_date, hear_by = self._dates(order, promise, now, ctx)
        email = notify_payload(order, ctx, TEMPLATE, new_delivery_date=new_date, hear_from_us_by=hear_by)
        if email is None:
            return
        shipped = order.status.is_shipped
        email["context"].update(promised_date=promise.promised.isoformat(), promise_kind=promise.kind, shipped=shipped)
        # "no_date": staff are asked to call once, at the first follow-up without a date (not at the follow-ups of
        # our own follow-ups: they know the order by then)
        first = promise.policy != self.name
        call = config.call_task == "always" or (config.call_task == "no_date" and new_date is None and first)
        prefix = f"{promise.id}-"
        locale = ctx.locale
        promised = phrase(
            locale, "promised_delivery" if promise.kind == rules.DELIVERY_BY else "promised_word",
            date=day(locale, promise.promised),
        )  # fmt: skip
        outcome = (
            phrase(locale, "new_date", date=day(locale, new_date))
            if new_date is not None
            else phrase(locale, "no_date", date=day(locale, hear_by or promise.promised))
        )
        state = phrase(locale, "on_its_way" if shipped else "not_shipped")

        def note(told: str) -> str:
            call_text = phrase(locale, "call") if call else ""
            return ctx.note("promise_followup", now, promised=promised, state=state, outcome=outcome, told=told,
                            call=call_text)  # fmt: skip

        told = note(phrase(locale, "told"))
        not_told = note(phrase(locale, "not_told", error="{error}"))
        step = prefix + "notify"
        plan_note_after_message(decision, None, self.name, prefix + "note", step, told=told, not_told=not_told)
        plan_notify(decision, None, self.name, step, email)
        if call:
            decision.plan(
                None,
                ActionKind.CREATE_CALL_TASK,
                self.name,
                prefix + "call",
                {
                    "reason": f"promised {promise.kind.replace('_', ' ')} {promise.promised.isoformat()} not kept "
                    "and no new date known: call the customer",
                    "due_at": now.isoformat(),
                },
            )

    def _dates(
        self, order: Order, promise: PromiseView, now: datetime, ctx: PolicyContext
    ) -> tuple[date | None, date | None]:
        """The carrier's day if it lies after the day the message goes; else when we write again."""
        sent_on = ctx.local_date(ctx.config.messages.send_at(now, ctx.calendar.tz))
        carrier = rules.carrier_day(order, ctx.calendar.tz) if order.status.is_shipped else None
        if carrier is not None and carrier > sent_on:
            return carrier, None
        after = ctx.config.promise_followup.hear_again_after_working_days
        return None, ctx.calendar.add_working_days_to_date(max(sent_on, promise.promised), after)


POLICY = PromiseFollowupPolicy()
