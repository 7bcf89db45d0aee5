"""Today: open incidents by kind and level, call tasks due, failed actions to retry, vouchers vs budget."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.admin import calls, insights, wording
from connector.admin.queries import action_state, call_task, failed_actions
from connector.outbox.queue import retry_failed
from connector.store.db import transaction
from webhooks.admin import bp
from webhooks.admin.common import daily_voucher_budget, day_bounds, now, safe_next, services, today, viewer
from webhooks.admin.i18n import words
from webhooks.admin.tabular import Table, csv_response, wants_csv


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
        tasks = calls.cards(db, who.shop_ids, end_of_day)
        recent = calls.recent(db, who.shop_ids, now())
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
            [
                (c.task.id, c.task.shop_id, c.task.order_number, c.task.reason, c.task.due_at, c.task.assigned_to)
                for c in tasks
            ],
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
        recent=recent,
        failed=failed,
        budgets=budgets,
        outcomes=calls.OUTCOMES,
        undo_minutes=calls.UNDO_MINUTES,
        current=now(),
        shop_now={shop.id: now().astimezone(ZoneInfo(shop.timezone)) for shop in who.shops},
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


def _task_shop(task_id: int) -> str:
    """The shop of a call task the viewer may act on; 404 for any other."""
    with services().sessions() as db:
        shop_id = calls.shop_of_task(db, viewer().shop_ids, task_id)
    if shop_id is None:
        abort(404)
    return shop_id


def _terms(shop_id: str) -> calls.ShopTerms:
    shop = services().shops.get(shop_id)
    if shop is None:
        abort(404)
    policies = services().settings.policies_for(shop_id)
    calendar = policies.calendar.build(shop.timezone, shop.country)
    return calls.ShopTerms(
        calendar=calendar, locale=shop.locale, observing=shop.observing,
        confirm_agreed_date=policies.calls.confirm_agreed_date, shop_name=shop.name,
    )  # fmt: skip


@bp.post("/call-tasks/<int:task_id>/done")
def complete_call_task(task_id: int) -> ResponseReturnValue:
    shop_id = _task_shop(task_id)
    terms = _terms(shop_id)
    current = now()
    try:
        choice = calls.read_choice(request.form, current, terms.calendar.tz)
        with transaction(services().sessions) as db:
            task = calls.task_for_update(db, viewer().shop_ids, task_id)
            if task is None:
                abort(404)
            done = calls.record(
                db, task, choice, terms, viewer().account.username, current, lambda p: words(p, shop_id)
            )
    except calls.Refused as refused:
        abort(400, description=words(refused.words, shop_id))
    outcome = wording.literal(done.text)
    messages = [wording.call_message("closed" if done.effect.closes else "still_open", id=task_id, outcome=outcome)]
    if done.promise_ids and done.effect.promise_on is not None:
        messages.append(wording.call_message("promised", day=done.effect.promise_on))
    if done.confirmation is not None:
        key = CONFIRMATIONS.get(done.confirmation, "no_confirmation")
        messages.append(wording.call_message(key, day=done.effect.promise_on or "", until=done.undo_until))
    if done.effect.outcome == calls.CANCELS and done.note_action_id is not None and not terms.observing:
        messages.append(wording.call_message("note_planned"))
    messages.append(wording.call_message("undo_until", until=done.undo_until))
    for message in messages:
        flash(words(message, shop_id))
    return redirect(safe_next(url_for("admin.today")))


NOTE_STATES = {"taken_back": "note_taken_back", "written": "note_written", "writing": "note_writing"}
# what became of the e-mail confirming an agreed day: recording it, and undoing it
CONFIRMATIONS = {
    calls.PLANNED: "confirmation_planned", calls.OBSERVED: "confirmation_observed", calls.OFF: "no_confirmation",
    calls.UNPAID: "confirmation_unpaid", calls.NO_EMAIL: "confirmation_no_email",
}  # fmt: skip
CONFIRMATION_STATES = {"taken_back": "confirmation_taken_back", "written": "confirmation_sent"}


@bp.post("/call-tasks/<int:task_id>/undo")
def undo_call_task(task_id: int) -> ResponseReturnValue:
    shop_id = _task_shop(task_id)
    try:
        with transaction(services().sessions) as db:
            task = calls.task_for_update(db, viewer().shop_ids, task_id)
            if task is None:
                abort(404)
            undone = calls.undo(db, task, now())
    except calls.Refused as refused:
        abort(400, description=words(refused.words, shop_id))
    messages = [wording.call_message("undone", id=task_id, outcome=wording.literal(undone.text))]
    if undone.promise_taken_back:
        messages.append(wording.call_message("promise_taken_back"))
    if undone.note in NOTE_STATES:
        messages.append(wording.call_message(NOTE_STATES[undone.note]))
    if undone.confirmation in CONFIRMATION_STATES:
        messages.append(wording.call_message(CONFIRMATION_STATES[undone.confirmation]))
    for message in messages:
        flash(words(message, shop_id))
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
