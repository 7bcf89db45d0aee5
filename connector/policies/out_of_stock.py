"""The out-of-stock policy: a line the shop cannot fulfil gets a call task first, then the customer an e-mail.

The e-mail names the item and links to a signed choice page (``webhooks/stock.py``, ``connector.stock``): wait
until a concrete date, take an alternative, or cancel the item; with a voucher per the compensation policy.
Staff only (a call task and a note, nothing to the customer) while the order awaits payment, without an
e-mail address, with customer messages switched off, or when the customer has another open problem or a
recent apology (one voice, ``PolicyContext.quiet_customer``). Resolved when the order ships or ends, when the
customer chooses (``connector.stock.choice``), or when every short line is back in stock before that.
"""

from __future__ import annotations

from datetime import datetime

from connector.actions import ActionKind
from connector.incidents import Incidents, IncidentView
from connector.model import Order
from connector.policies.base import (
    FINISHED,
    Decision,
    Open,
    PolicyBase,
    PolicyContext,
    Resolve,
    VoucherRequest,
    awaiting_payment,
    notify_payload,
    plan_note_after_message,
    plan_notify,
    ready_at,
    resolve_if_active,
    tag,
)
from connector.policies.config import OutOfStockConfig
from connector.stock import detect
from connector.stock import notes as stock_notes

KIND = "out_of_stock"
TEMPLATE = "out_of_stock"
RESOLVED_BACK = "back in stock"


class OutOfStockPolicy(PolicyBase):
    name = "out_of_stock"

    def decide(self, order: Order, incidents: Incidents, now: datetime, ctx: PolicyContext) -> Decision:
        incident = incidents.get(KIND)
        finished = FINISHED.get(order.status)
        if finished is not None:
            return resolve_if_active(incident, KIND, f"order {finished}")
        decision = Decision()
        if incident is not None:
            if incident.active and detect.back_in_stock(order, list(incident.details.get("lines") or [])):
                self._back(decision, incident, now, ctx)
            return decision  # once per order: the choice page or staff take it from here
        short = detect.short_lines(order)
        if not short:
            return decision
        config = ctx.config.out_of_stock
        start = ready_at(order) or order.created_at
        due = ctx.calendar.add(start, config.act_after)
        if now < due:
            decision.look_again(due)
            return decision
        self._open(decision, order, short, now, ctx, config)
        return decision

    def _staff_only(self, order: Order, ctx: PolicyContext, config: OutOfStockConfig) -> str | None:
        """Why the customer hears nothing from us about it, or None when they get the e-mail."""
        if not config.notify_customer:
            return "switched_off"
        if awaiting_payment(order):
            return "unpaid"
        if not (order.customer.email or "").strip():
            return "no_email"
        if ctx.quiet_customer:
            return "one_voice"
        return None

    def _open(
        self,
        decision: Decision,
        order: Order,
        short: list[detect.ShortLine],
        now: datetime,
        ctx: PolicyContext,
        config: OutOfStockConfig,
    ) -> None:
        today = ctx.local_date(now)
        lines = []
        for line in short:
            wait = detect.wait_until(config, ctx.calendar, line.sku, today)
            lines.append(
                {
                    **line.as_dict(),
                    "wait_until": wait.isoformat() if wait else None,
                    "alternatives": detect.alternatives(order, line, config),
                }
            )
        why = self._staff_only(order, ctx, config)
        email = notify_payload(order, ctx, TEMPLATE) if why is None else None
        if email is not None:
            email["context"]["items"] = [{"title": line.title, "quantity": line.backordered} for line in short]
            email["context"]["stock_lines"] = [
                {"title": item["title"], "quantity": item["backordered"], "wait_until": item["wait_until"],
                 "alternatives": [a["title"] for a in item["alternatives"]]}
                for item in lines
            ]  # fmt: skip
        decision.incidents.append(
            Open(KIND, 1, {"lines": lines, "told_customer": email is not None, "staff_only": why, "choice": None})
        )
        locale = ctx.locale
        items = ", ".join(f"{line.backordered}× {line.title}" for line in short)
        local_now = now.astimezone(ctx.calendar.tz)
        if config.call_task:  # the phone call first: what customers remember of a shop that did this well
            reason = f"out of stock: {items}: call the customer (wait, an alternative or cancel the item)"
            decision.plan(KIND, ActionKind.CREATE_CALL_TASK, self.name, "1-call", {"reason": reason,
                          "due_at": now.isoformat()})  # fmt: skip
        decision.plan(KIND, ActionKind.ADD_TAGS, self.name, "1-tag", {"tags": [tag("out-of-stock")]})
        if why is not None:
            text = stock_notes.note(locale, "open_staff", local_now, items=items, why=stock_notes.why(locale, why))
            decision.plan(KIND, ActionKind.ADD_NOTE, self.name, "1-note", {"text": text})
            return
        told = stock_notes.note(locale, "open", local_now, items=items, told=stock_notes.text(locale, "told"))
        not_told = stock_notes.note(
            locale, "open", local_now, items=items, told=stock_notes.text(locale, "not_told", error="{error}")
        )
        plan_note_after_message(decision, KIND, self.name, "1-note", "1-notify", told=told, not_told=not_told)
        notify_step = plan_notify(decision, KIND, self.name, "1-notify", email)
        if config.voucher:
            decision.vouchers.append(VoucherRequest(self.name, "1-voucher", KIND, notify_step, "1-note"))

    def _back(self, decision: Decision, incident: IncidentView, now: datetime, ctx: PolicyContext) -> None:
        items = ", ".join(str(item.get("title")) for item in incident.details.get("lines") or [])
        text = stock_notes.note(ctx.locale, "back", now.astimezone(ctx.calendar.tz), items=items)
        decision.plan(KIND, ActionKind.ADD_NOTE, self.name, f"{incident.occurrence}-back-note", {"text": text})
        decision.incidents.append(Resolve(KIND, RESOLVED_BACK))


POLICY = OutOfStockPolicy()
