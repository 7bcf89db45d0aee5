"""Patterns ("learn from your mistakes"): incidents per week, top causes, on-time rates, voucher
spend, customer contacts — as charts, tables and CSV."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from connector.admin import insights
from webhooks.admin import bp, charts
from webhooks.admin.common import DateRange, date_range, services, viewer
from webhooks.admin.tabular import Table, csv_response, wants_csv

DEFAULT_DAYS = 12 * 7
MAX_DAYS = 3 * 366


def _period() -> DateRange:
    period = date_range(DEFAULT_DAYS, viewer().zone, MAX_DAYS)
    assert period is not None
    return period


def _cause_table(name: str, title: str, rows: list[insights.CauseCount]) -> Table:
    return Table(name, title, ("cause", "incidents"), [(c.label, c.count) for c in rows])


def _rate_table(name: str, title: str, rows: list[insights.OnTimeRate]) -> Table:
    return Table(
        name, title, ("label", "shipped", "late", "on_time_rate"), [(r.label, r.shipped, r.late, r.rate) for r in rows]
    )


@bp.get("/patterns")
def patterns() -> ResponseReturnValue:
    who, period = viewer(), _period()
    ids, start, end = who.shop_ids, period.start, period.end
    with services().sessions() as db:
        weeks = insights.incidents_per_week(db, ids, start, end, who.zone)
        causes = insights.top_causes(db, ids, start, end)
        on_time = insights.on_time_rates(db, ids, start, end)
        spend = insights.voucher_spend_per_month(db, ids, start, end, who.zone)
        contacts = insights.contact_stats(db, ids, start, end)
        reports = insights.report_counts(db, ids, start, end)
    tables = [
        Table("incidents_per_week", _("Incidents per week"), ("week", "kind", "incidents"),
              [(w.week, w.kind, w.count) for w in weeks]),
        _cause_table("by_carrier", _("Incidents by carrier"), causes.by_carrier),
        _cause_table("by_shipping_method", _("Incidents by shipping method"), causes.by_shipping_method),
        _cause_table("by_product", _("Incidents by product"), causes.by_product),
        _cause_table("by_warehouse_step", _("Stuck orders by status"), causes.by_warehouse_step),
        _cause_table("by_address_problem", _("Address problems"), causes.by_address_problem),
        Table("out_of_stock", _("Out of stock by item"), ("item", "sku", "orders", "sold_while_out_of_stock"),
              [(c.label, c.sku or "", c.count, c.sold_while_out) for c in causes.out_of_stock]),
        Table("reports_by_item", _("Customer reports by item"), ("item", "sku", "cause", "orders"),
              [(r.label, r.sku or "", r.cause, r.count) for r in reports.by_item]),
        _cause_table("reports_by_cause", _("Customer reports by cause"), reports.by_cause),
        _cause_table("reports_by_channel", _("Customer reports by channel"), reports.by_channel),
        _rate_table("on_time_by_carrier", _("On time by carrier"), on_time.by_carrier),
        _rate_table("on_time_by_shipping_method", _("On time by shipping method"), on_time.by_shipping_method),
        Table("voucher_spend", _("Voucher spend per month"), ("month", "currency", "vouchers", "amount"),
              [(m.month, m.currency, m.vouchers, m.amount) for m in spend]),
        Table("contacts", _("Customer contacts"), ("kind", "contacts"), sorted(contacts.by_kind.items())),
        Table("contact_summary", _("Customer contacts summary"),
              ("orders", "contacts", "per_100_orders", "after_we_informed"),
              [(contacts.orders, contacts.contacts, contacts.per_100_orders, contacts.after_informed)]),
    ]  # fmt: skip
    if wants_csv():
        return csv_response(tables, "patterns")
    return render_template(
        "admin/patterns.html",
        period=period,
        tables={t.name: t for t in tables},
        causes=causes,
        on_time=on_time,
        spend=spend,
        contacts=contacts,
        reports=reports,
        range_args={"from": period.first.isoformat(), "to": period.last.isoformat()},
    )


def _incidents_chart() -> bytes:
    who, period = viewer(), _period()
    with services().sessions() as db:
        counts = insights.incidents_per_week(db, who.shop_ids, period.start, period.end, who.zone)
    return charts.incidents_per_week(insights.weeks_between(period.start, period.end, who.zone), counts)


def _on_time_chart() -> bytes:
    who, period = viewer(), _period()
    with services().sessions() as db:
        rates = insights.on_time_rates(db, who.shop_ids, period.start, period.end)
    return charts.on_time(rates.by_carrier)


def _spend_chart() -> bytes:
    who, period = viewer(), _period()
    with services().sessions() as db:
        spend = insights.voucher_spend_per_month(db, who.shop_ids, period.start, period.end, who.zone)
    return charts.voucher_spend(spend)


CHARTS: dict[str, Callable[[], bytes]] = {
    "incidents-per-week": _incidents_chart,
    "on-time-by-carrier": _on_time_chart,
    "voucher-spend": _spend_chart,
}


@bp.get("/patterns/<name>.svg")
def chart(name: str) -> ResponseReturnValue:
    build = CHARTS.get(name)
    if build is None:
        abort(404)
    response = Response(build(), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
