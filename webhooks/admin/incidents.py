"""The incident list (filters, pages, CSV) and one incident's timeline."""

from __future__ import annotations

from math import ceil
from typing import Any

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.admin.queries import (
    STATES,
    IncidentFilters,
    IncidentItem,
    IncidentView,
    filter_options,
    incident_view,
    iter_incidents,
    search_incidents,
)
from webhooks.admin import bp
from webhooks.admin.common import date_range, positive_int, services, viewer
from webhooks.admin.tabular import Table, csv_response, wants_csv

INCIDENT_COLUMNS = (
    "id", "shop", "order", "kind", "state", "level", "opened_at", "resolved_at", "resolution",
    "shipping_method", "carrier", "country",
)  # fmt: skip


def incident_row(i: IncidentItem) -> tuple[Any, ...]:
    return (
        i.id, i.shop_id, i.order_number, i.kind, i.state, i.level, i.opened_at, i.resolved_at, i.resolution,
        i.shipping_method, i.carrier, i.country,
    )  # fmt: skip


def _filters() -> IncidentFilters:
    args = request.args
    state = args.get("state", "").strip() or None
    if state is not None and state not in STATES:
        abort(400, description=gettext("state: choose one of %(choices)s", choices=", ".join(STATES)))
    period = date_range(None, viewer().zone)

    def text(name: str) -> str | None:
        value = args.get(name, "").strip()
        return value[:255] or None

    return IncidentFilters(
        kind=text("kind"),
        state=state,
        shipping_method=text("method"),
        carrier=text("carrier"),
        country=(text("country") or "").upper() or None,
        start=period.start if period else None,
        end=period.end if period else None,
    )


@bp.get("/incidents")
def incident_list() -> ResponseReturnValue:
    who = viewer()
    filters = _filters()
    if wants_csv():
        with services().sessions() as db:
            rows = [incident_row(i) for i in iter_incidents(db, who.shop_ids, filters)]
        return csv_response([Table("incidents", "Incidents", INCIDENT_COLUMNS, rows)], "incidents")
    per_page = int(current_app.config["ORDERCARE_ADMIN_PAGE_SIZE"])
    page = positive_int("page", 1)
    with services().sessions() as db:
        items, total = search_incidents(db, who.shop_ids, filters, page, per_page)
        options = filter_options(db, who.shop_ids)
    pages = max(1, ceil(total / per_page))
    query = {k: v for k, v in request.args.items() if k not in ("page", "format", "table") and v}
    return render_template(
        "admin/incidents.html",
        items=items,
        total=total,
        page=page,
        pages=pages,
        options=options,
        states=list(STATES),
        args=request.args,
        query=query,
    )


def timeline_tables(view: IncidentView) -> list[Table]:
    return [
        Table("timeline", "Timeline", ("at", "lane", "what", "detail"),
              [(e.at, e.lane, e.title, e.detail) for e in view.timeline]),
        Table("events", "What we saw", ("received_at", "topic", "outcome"),
              [(e.received_at, e.topic, e.outcome) for e in view.events]),
        Table("actions", "What we did", ("id", "kind", "policy", "state", "attempts", "created_at", "done_at", "error"),
              [(a.id, a.kind, a.policy, a.state, len(a.attempts), a.created_at, a.done_at, a.last_error)
               for a in view.actions]),
        Table("emails", "E-mails", ("sent_at", "template", "subject"),
              [(m.sent_at, m.template, m.subject) for m in view.emails]),
        Table("vouchers", "Vouchers", ("created_at", "code", "amount", "currency", "state", "reason"),
              [(v.created_at, v.code, v.amount, v.currency, v.state, v.reason) for v in view.vouchers]),
    ]  # fmt: skip


def timeline_page(view: IncidentView | None, name: str, **extra: Any) -> ResponseReturnValue:
    """An incident's or order's timeline page (``name``: its CSV file), or 404 when the viewer may not see it."""
    if view is None:
        abort(404)
    if wants_csv():
        return csv_response(timeline_tables(view), name)
    return render_template("admin/incident.html", view=view, **extra)


@bp.get("/incidents/<int:incident_id>")
def incident_detail(incident_id: int) -> ResponseReturnValue:
    with services().sessions() as db:
        view = incident_view(db, viewer().shop_ids, incident_id)
    return timeline_page(view, f"incident-{incident_id}")
