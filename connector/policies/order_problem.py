"""The report policy: what a customer reported on the report page becomes an incident of its kind.

A stored report (``connector.reports``) is taken at the order's next evaluation: the incident ``report_<cause>``
opens, the customer gets an answer at once that says what happens next and by when (``answer_within``: a
"you will hear from us by" promise, kept by ``connector.promises``), staff a call task, and for a wrong,
damaged or missing item a replacement waits as ``proposed`` for staff's one click. Once staff confirm it, the
customer hears that it is on its way, with a voucher for the ``voucher_for`` causes within the compensation
budget, and the incident is resolved. "Not received" asks the carrier data first: a delivery scan gets a
careful message (no apology that accepts the loss) and a task; a parcel on its way its status and date;
nothing known, staff only. Nothing goes to the customer for an order that awaits payment, has ended, or has
no e-mail address: staff are told instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from connector.actions import ActionKind, PlannedAction
from connector.incidents import Incidents, IncidentView
from connector.model import Order, OrderStatus
from connector.policies.base import (
    Decision,
    EndPromise,
    Open,
    PolicyBase,
    PolicyContext,
    Resolve,
    Step,
    VoucherRequest,
    awaiting_payment,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    tag,
)
from connector.policies.config import OrderProblemConfig
from connector.promises import rules
from connector.reports import carrier, replacement
from connector.reports import notes as report_notes
from connector.reports import store as report_store
from connector.reports.model import ABOUT_ITEMS, NOT_RECEIVED, ReportView, cause_of
from connector.reports.model import POLICY as POLICY_NAME

TEMPLATE = "order_problem"
CONFIRMED_TEMPLATE = "order_problem_replacement"
RESOLVED_REPLACED = "replacement confirmed by staff"
_ENDED = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.FAILED})


def _items(lines: Any) -> str:
    return ", ".join(f"{line.get('quantity', 1)}× {line.get('title')}" for line in lines or [])


class OrderProblemPolicy(PolicyBase):
    name = POLICY_NAME

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        decision = Decision()
        for incident in incidents.values():
            if cause_of(incident.kind) is not None and incident.active:
                self._after_confirmation(decision, order, incident, now, ctx)
        newest: dict[str, ReportView] = {}
        for report in report_store.pending(ctx.reports, incidents):
            newest[report.kind] = report  # one incident per kind: the newest report of it speaks
        for report in newest.values():
            self._open(decision, order, report, incidents.get(report.kind), now, ctx)
        return decision

    # --- a new report ------------------------------------------------------------------------------

    def _staff_only(self, order: Order, report: ReportView, situation: carrier.Situation | None) -> str | None:
        """Why the customer hears nothing from us about the report, or None when they get the answer."""
        if order.status in _ENDED:
            return "order_ended"
        if awaiting_payment(order):
            return "unpaid"
        if not (order.customer.email or "").strip():
            return "no_email"
        if situation is not None and situation.state == carrier.UNKNOWN:
            return "no_carrier_data"
        return None

    def _open(
        self,
        decision: Decision,
        order: Order,
        report: ReportView,
        earlier: IncidentView | None,
        now: datetime,
        ctx: PolicyContext,
    ) -> None:
        config = ctx.config.order_problem
        kind, cause = report.kind, report.cause
        occurrence = earlier.occurrence + 1 if earlier is not None else 1
        prefix = f"{occurrence}-"
        today = ctx.local_date(now)
        situation = carrier.not_received(order, ctx.promises, today, ctx.calendar.tz) if cause == NOT_RECEIVED else None
        why = self._staff_only(order, report, situation)
        answer_by = ctx.local_date(ctx.calendar.add(now, config.answer_within))
        replace = cause in ABOUT_ITEMS and config.replacement and why is None and bool(report.lines)
        email = self._answer(order, report, situation, answer_by, replace, ctx) if why is None else None
        dated = situation is not None and situation.state == carrier.IN_TRANSIT and situation.day is not None
        details: dict[str, Any] = {
            "report_id": report.id,
            "cause": cause,
            "channel": report.channel,
            "lines": [dict(line) for line in report.lines],
            "photo": report.has_photo,
            "told_customer": email is not None,
            "staff_only": why,
            "answer_by": None if email is None or dated else answer_by.isoformat(),
            "situation": situation.state if situation is not None else None,
            "replacement": {"state": "proposed"} if replace else None,
        }
        decision.incidents.append(Open(kind, 1, details))
        locale = ctx.locale
        local_now = now.astimezone(ctx.calendar.tz)
        items = f": {_items(report.lines)}" if report.lines else ""
        cause_words = report_notes.cause(locale, cause)
        if config.call_task and not dated:
            decision.plan(kind, ActionKind.CREATE_CALL_TASK, self.name, f"{prefix}call",
                          {"reason": self._call_reason(locale, cause_words, items, replace, situation),
                           "due_at": now.isoformat()})  # fmt: skip
        decision.plan(kind, ActionKind.ADD_TAGS, self.name, f"{prefix}tag", {"tags": [tag("problem")]})
        if replace:
            note = report_notes.note(locale, "open", local_now, cause=cause_words, items=items, next="", told="")
            payload = replacement.payload(order, cause, report.lines, note)
            decision.plan(kind, ActionKind.CREATE_REPLACEMENT, self.name, f"{prefix}replacement", payload)
        following = report_notes.text(locale, "replacement") if replace else ""
        if situation is not None and situation.state == carrier.DELIVERED and situation.day is not None:
            following += report_notes.text(locale, "delivered", date=situation.day.isoformat())
        if why is not None or email is None:
            told = report_notes.text(locale, "staff_only", why=report_notes.why(locale, why or "no_email"))
            text = report_notes.note(locale, "open", local_now, cause=cause_words, items=items, next=following,
                                     told=told)  # fmt: skip
            decision.plan(kind, ActionKind.ADD_NOTE, self.name, f"{prefix}note", {"text": text})
            return
        told_key = "told_date" if dated else "told"
        told = report_notes.note(locale, "open", local_now, cause=cause_words, items=items, next=following,
                                 told=report_notes.text(locale, told_key, date=answer_by.isoformat()))  # fmt: skip
        not_told = report_notes.note(locale, "open", local_now, cause=cause_words, items=items, next=following,
                                     told=report_notes.text(locale, "not_told", error="{error}"))  # fmt: skip
        notify_step = f"{prefix}notify"
        plan_note_after_message(decision, kind, self.name, f"{prefix}note", notify_step, told=told, not_told=not_told)
        plan_notify(decision, kind, self.name, notify_step, email)
        if cause in config.voucher_for and not replace:  # with a replacement the voucher comes with it
            decision.vouchers.append(VoucherRequest(self.name, f"{prefix}voucher", kind, notify_step, f"{prefix}note"))

    def _answer(
        self,
        order: Order,
        report: ReportView,
        situation: carrier.Situation | None,
        answer_by: date,
        replace: bool,
        ctx: PolicyContext,
    ) -> dict[str, Any] | None:
        """The answer at once: what happens next and by when (or, for a parcel on its way, its status and day)."""
        dated = situation is not None and situation.state == carrier.IN_TRANSIT and situation.day is not None
        email = notify_payload(
            order,
            ctx,
            TEMPLATE,
            new_delivery_date=situation.day if dated and situation is not None else None,
            hear_from_us_by=None if dated else answer_by,
        )
        if email is None:
            return None
        context = email["context"]
        if report.lines:
            context["items"] = [{"title": str(line.get("title")), "quantity": int(line.get("quantity") or 1)}
                                for line in report.lines]  # fmt: skip
        context.update(
            report_cause=report.cause,
            replacement=replace,
            situation=situation.state if situation is not None else None,
            parcel_status=situation.status if situation is not None else None,
            delivered_on=situation.day.isoformat()
            if situation is not None and situation.state == carrier.DELIVERED and situation.day
            else None,
            carrier=situation.carrier if situation is not None and situation.carrier else context.get("carrier"),
        )
        return email

    @staticmethod
    def _call_reason(
        locale: str, cause_words: str, items: str, replace: bool, situation: carrier.Situation | None
    ) -> str:
        if replace:
            what = report_notes.text(locale, "call_replacement")
        elif situation is not None and situation.state == carrier.DELIVERED:
            day = situation.day.isoformat() if situation.day else "?"
            what = report_notes.text(locale, "call_delivered", date=day)
        elif situation is not None and situation.state == carrier.UNKNOWN:
            what = report_notes.text(locale, "call_unknown")
        else:
            what = report_notes.text(locale, "call_other")
        return report_notes.text(locale, "call", cause=cause_words, items=items, what=what)

    # --- staff confirmed the replacement -----------------------------------------------------------

    def _after_confirmation(
        self, decision: Decision, order: Order, incident: IncidentView, now: datetime, ctx: PolicyContext
    ) -> None:
        """The replacement is confirmed: the answer we promised is given, the customer hears it is coming."""
        chosen: Mapping[str, Any] = incident.details.get("replacement") or {}
        if chosen.get("state") != "confirmed":
            return
        prefix = f"{incident.occurrence}-"
        at = datetime.fromisoformat(str(chosen.get("at") or now.isoformat()))
        for promise in ctx.promises:
            if promise.id is not None and promise.open and promise.awaits == rules.ANSWERED:
                on_time = at.astimezone(ctx.calendar.tz).date() <= promise.promised
                decision.promises.append(EndPromise(promise.id, rules.MET if on_time else rules.MISSED, at))
        decision.incidents.append(Resolve(incident.kind, RESOLVED_REPLACED))
        locale = ctx.locale
        text = report_notes.note(locale, "confirmed", now.astimezone(ctx.calendar.tz), who=chosen.get("by") or "staff")
        email = notify_payload(order, ctx, CONFIRMED_TEMPLATE) if not awaiting_payment(order) else None
        replaced = f"{prefix}replacement"
        if email is not None:
            lines = incident.details.get("lines") or []
            email["context"]["items"] = [{"title": str(line.get("title")), "quantity": int(line.get("quantity") or 1)}
                                         for line in lines]  # fmt: skip
            email["context"]["report_cause"] = incident.details.get("cause")
            action = PlannedAction(ActionKind.NOTIFY_CUSTOMER, self.name, f"{prefix}sent-notify", email,
                                   after_step=replaced)  # fmt: skip
            decision.actions.append(Step(action, incident.kind))
        decision.actions.append(Step(PlannedAction(ActionKind.ADD_NOTE, self.name, f"{prefix}sent-note",
                                                   {"text": text}, after_step=replaced), incident.kind))  # fmt: skip
        cause = str(incident.details.get("cause") or "")
        config: OrderProblemConfig = ctx.config.order_problem
        if email is not None and cause in config.voucher_for:
            request = VoucherRequest(
                self.name, f"{prefix}voucher", incident.kind, f"{prefix}sent-notify", f"{prefix}sent-note", replaced
            )
            decision.vouchers.append(request)


POLICY = OrderProblemPolicy()
