"""Today: open incidents by kind and level, call tasks due, failed actions to retry, vouchers vs budget."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.admin import insights, wording
from connector.admin.queries import action_state, call_task, call_tasks_due, failed_actions
from connector.outbox.queue import retry_failed
from connector.store.db import transaction
from webhooks.admin import bp
from webhooks.admin.common import daily_voucher_budget, day_bounds, now, safe_next, services, today, viewer
from webhooks.admin.i18n import words
from webhooks.admin.tabular import Table, csv_response, wants_csv

FREE_TEXT = "other"  # the outcome that is the staff's notes alone
MAX_TEXT = 1000


@dataclass(frozen=True)
class BudgetLine:
    shop_id: str
    shop_name: str
    currency: str
    vouchers: int
    amount: Decimal
    refused: int
    budget: Decimal | None

    @property
    def share(self) -> int | None:
        if not self.budget:
            return None
        return min(100, round(self.amount * 100 / self.budget))


def _budget_lines() -> list[BudgetLine]:
    settings = services().settings
    lines = []
    with services().sessions() as db:
        for shop in viewer().shops:
            zone = ZoneInfo(shop.timezone)
            start, end = day_bounds(today(zone), today(zone), zone)
            tallies = insights.vouchers_issued(db, [shop.id], start, end)
            budget = daily_voucher_budget(settings, shop.id)
            if not tallies:
                lines.append(BudgetLine(shop.id, shop.name, "EUR", 0, Decimal("0.00"), 0, budget))
            for t in tallies:
                lines.append(BudgetLine(shop.id, shop.name, t.currency, t.vouchers, t.amount, t.refused, budget))
    return lines


@bp.get("/", endpoint="today")
def today_page() -> ResponseReturnValue:
    who = viewer()
    zone = who.zone
    _, end_of_day = day_bounds(today(zone), today(zone), zone)
    with services().sessions() as db:
        open_incidents = insights.open_incidents(db, who.shop_ids)
        tasks = call_tasks_due(db, who.shop_ids, end_of_day)
        failed = failed_actions(db, who.shop_ids)
    budgets = _budget_lines()
    tables = [
        Table(
            "open_incidents",
            "Open incidents",
            ("kind", "level", "count"),
            [(r.kind, r.level, r.count) for r in open_incidents],
        ),
        Table(
            "call_tasks",
            "Call tasks due",
            ("id", "shop", "order", "reason", "due_at", "assigned_to"),
            [(t.id, t.shop_id, t.order_number, t.reason, t.due_at, t.assigned_to) for t in tasks],
        ),
        Table(
            "failed_actions",
            "Failed actions",
            ("id", "shop", "order", "kind", "attempts", "error", "failed_at"),
            [(a.id, a.shop_id, a.order_number, a.kind, a.attempts, a.last_error, a.failed_at) for a in failed],
        ),
        Table(
            "vouchers_today",
            "Vouchers today",
            ("shop", "currency", "vouchers", "amount", "refused", "budget"),
            [(b.shop_id, b.currency, b.vouchers, b.amount, b.refused, b.budget) for b in budgets],
        ),
    ]
    if wants_csv():
        return csv_response(tables, "today")
    return render_template(
        "admin/today.html",
        open_incidents=open_incidents,
        open_total=sum(r.count for r in open_incidents),
        tasks=tasks,
        failed=failed,
        budgets=budgets,
        outcomes=list(wording.CALL_OUTCOMES),
        current=now(),
    )


@bp.post("/call-tasks/<int:task_id>/assign")
def assign_call_task(task_id: int) -> ResponseReturnValue:
    name = request.form.get("assigned_to", "").strip()
    if not name or len(name) > 255:
        abort(400, description=gettext("assigned_to: give the name of who will call (at most 255 characters)"))
    with transaction(services().sessions) as db:
        task = call_task(db, viewer().shop_ids, task_id)
        if task is None:
            abort(404)
        task.assigned_to = name
    flash(gettext("Call task %(id)s is assigned to %(name)s.", id=task_id, name=name))
    return redirect(safe_next(url_for("admin.today")))


@bp.post("/call-tasks/<int:task_id>/done")
def complete_call_task(task_id: int) -> ResponseReturnValue:
    choice = request.form.get("outcome", "")
    text = request.form.get("outcome_text", "").strip()
    if not choice:
        abort(400, description=gettext("outcome: choose what came of the call; nothing was recorded"))
    if choice not in wording.CALL_OUTCOMES:
        abort(400, description=gettext("outcome: choose one of %(choices)s", choices=", ".join(wording.CALL_OUTCOMES)))
    preset = "" if choice == FREE_TEXT else words(wording.call_outcome(choice))  # in the words of who called
    outcome = f"{preset}: {text}" if preset and text else (preset or text)
    if not outcome:
        abort(400, description=gettext("outcome_text: say what came of the call"))
    if len(outcome) > MAX_TEXT:
        abort(400, description=gettext("outcome_text: at most %(count)s characters", count=MAX_TEXT))
    with transaction(services().sessions) as db:
        task = call_task(db, viewer().shop_ids, task_id)
        if task is None:
            abort(404)
        if task.state != "done":
            task.state = "done"
            task.outcome = outcome
            task.done_at = now()
            task.assigned_to = task.assigned_to or viewer().account.username
    flash(gettext("Call task %(id)s is done: %(outcome)s.", id=task_id, outcome=outcome))
    return redirect(safe_next(url_for("admin.today")))


@bp.post("/actions/<int:action_id>/retry")
def retry_action(action_id: int) -> ResponseReturnValue:
    shop_ids = set(viewer().shop_ids)
    with transaction(services().sessions) as db:
        retried = retry_failed(db, action_id, now(), shop_ids=shop_ids)
        state = None if retried else action_state(db, shop_ids, action_id)
    if not retried and state is None:
        abort(404)
    if retried:
        flash(gettext("Action %(id)s will be tried again.", id=action_id))
    else:
        found = words(wording.action_state(state or ""))
        flash(gettext("Action %(id)s is %(state)s, not failed.", id=action_id, state=found))
    return redirect(safe_next(url_for("admin.today")))
