"""Shops: per shop its mode, webhooks (present, healthy, replaced and why), deliveries, signature failures,
reconcile, and in observe mode what ordercare would have done."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from connector.admin.observed import Observation, observed
from connector.admin.shop_status import FAILURE_DAYS, SIGNATURE_FAILURES_TO_REPLACE, shop_statuses
from connector.backfill import last_reports
from webhooks.admin import bp
from webhooks.admin.common import now, services, viewer

OBSERVED_SHOWN = 100  # the newest observed actions on the page, over all the viewer's shops


@bp.get("/shops", endpoint="shops")
def shops_page() -> ResponseReturnValue:
    shop_ids = viewer().shop_ids
    with services().sessions() as db:
        statuses = shop_statuses(db, services().shops.box, shop_ids, now())
        backfills = last_reports(db, shop_ids)
        observations: dict[str, list[Observation]] = {}
        for item in observed(db, services().settings, shop_ids, limit=OBSERVED_SHOWN):
            observations.setdefault(item.shop_id, []).append(item)
    modes = {shop_id: shop.mode for shop_id in shop_ids if (shop := services().shops.get(shop_id)) is not None}
    return render_template(
        "admin/shops.html",
        statuses=statuses,
        modes=modes,
        observations=observations,
        backfills=backfills,
        failure_days=FAILURE_DAYS,
        threshold=SIGNATURE_FAILURES_TO_REPLACE,
    )
