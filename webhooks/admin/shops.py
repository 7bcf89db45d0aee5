"""Shops: per shop its webhooks (present, healthy, replaced and why), deliveries, signature failures, reconcile."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from connector.admin.shop_status import FAILURE_DAYS, SIGNATURE_FAILURES_TO_REPLACE, shop_statuses
from webhooks.admin import bp
from webhooks.admin.common import now, services, viewer


@bp.get("/shops", endpoint="shops")
def shops_page() -> ResponseReturnValue:
    with services().sessions() as db:
        statuses = shop_statuses(db, services().shops.box, viewer().shop_ids, now())
    return render_template(
        "admin/shops.html",
        statuses=statuses,
        failure_days=FAILURE_DAYS,
        threshold=SIGNATURE_FAILURES_TO_REPLACE,
    )
