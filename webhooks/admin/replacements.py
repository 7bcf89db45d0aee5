"""The dashboard's part of a customer's report: the report with its photo, and the replacement's one click.

``POST /admin/replacements/<id>/confirm`` (or ``/decline``) acts through ``connector.reports.confirm``; the photo
is served only here, to signed-in staff of the order's shop, never cached and never sniffed as anything else.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.reports import confirm
from connector.reports import store as report_store
from connector.store.db import transaction
from webhooks.admin import bp
from webhooks.admin.common import now, safe_next, services, viewer


@bp.context_processor
def _report_parts() -> dict[str, Any]:
    def reports(order_id: int) -> list[report_store.StaffReport]:
        with services().sessions() as db:
            return report_store.for_staff(db, viewer().shop_ids, order_id)

    def replacements(order_id: int) -> list[confirm.Proposed]:
        with services().sessions() as db:
            return confirm.for_order(db, viewer().shop_ids, order_id)

    return {"order_reports": reports, "order_replacements": replacements}


def _decide(action_id: int, choice: str) -> ResponseReturnValue:
    with transaction(services().sessions) as db:
        done = confirm.decide(db, viewer().shop_ids, action_id, choice, viewer().account.username, now())
    if done is None:
        flash(gettext("This replacement was already handled."))
    elif choice == confirm.CONFIRMED:
        flash(gettext("Replacement confirmed: it is created in the shop at no cost to the customer."))
    else:
        flash(gettext("Replacement declined: nothing is sent to the shop."))
    return redirect(safe_next(url_for("admin.today")))


@bp.post("/replacements/<int:action_id>/confirm")
def confirm_replacement(action_id: int) -> ResponseReturnValue:
    return _decide(action_id, confirm.CONFIRMED)


@bp.post("/replacements/<int:action_id>/decline")
def decline_replacement(action_id: int) -> ResponseReturnValue:
    return _decide(action_id, confirm.DECLINED)


@bp.get("/reports/<int:report_id>/photo")
def report_photo(report_id: int) -> ResponseReturnValue:
    with services().sessions() as db:
        found = report_store.photo_for_staff(db, viewer().shop_ids, report_id)
    if found is None:
        abort(404)
    data, kind = found
    response = Response(data, mimetype=kind)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Content-Disposition"] = f"inline; filename=report-{report_id}.{kind.rsplit('/', 1)[-1]}"
    return response
