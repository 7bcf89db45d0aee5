"""Finding an order (one search box, filters, pages, CSV) and the customer's page with all their orders."""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.admin.customer import CustomerView, customer_key, customer_view
from connector.admin.queries import channel_words
from connector.admin.search import OPEN_CHOICES, OrderFilters, OrderItem, incident_kinds, iter_orders, search_orders
from connector.store.tables import OrderRow
from webhooks.admin import bp
from webhooks.admin.common import date_range, positive_int, services, viewer
from webhooks.admin.tabular import Table, csv_response, wants_csv

ORDER_COLUMNS = ("id", "shop", "order", "customer", "placed_at", "status", "open_incidents")


def _secret() -> str:
    return services().settings.secret_key


def customer_url(order: OrderRow) -> str | None:
    """The address of this order's customer page (no e-mail in it), or None when the order names no customer."""
    key = customer_key(_secret(), order)
    return url_for("admin.customer", key=key) if key else None


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    return {"customer_url": customer_url, "channel_words": channel_words}


def _filters() -> OrderFilters:
    args, who = request.args, viewer()
    shop_id = args.get("shop", "").strip() or None
    if shop_id is not None and who.shop(shop_id) is None:
        abort(400, description=gettext("shop: choose one of %(choices)s", choices=", ".join(who.shop_ids)))
    open_choice = args.get("open", "").strip()
    if open_choice and open_choice not in OPEN_CHOICES:
        abort(400, description=gettext("open: choose one of %(choices)s", choices=", ".join(OPEN_CHOICES)))
    period = date_range(None, who.zone)
    return OrderFilters(
        q=args.get("q", "").strip()[:255],
        shop_id=shop_id,
        open_incident=OPEN_CHOICES.get(open_choice),
        kind=args.get("kind", "").strip()[:32] or None,
        start=period.start if period else None,
        end=period.end if period else None,
    )


def order_row(o: OrderItem) -> tuple[object, ...]:
    kinds = " ".join(i.kind for i in o.open_incidents)
    return (o.id, o.shop_id, o.number, o.customer_name, o.created_at, o.status, kinds)


@bp.get("/orders")
def order_list() -> ResponseReturnValue:
    who = viewer()
    filters = _filters()
    if wants_csv():
        with services().sessions() as db:
            rows = [order_row(o) for o in iter_orders(db, who.shop_ids, filters)]
        return csv_response([Table("orders", "Orders", ORDER_COLUMNS, rows)], "orders")
    per_page = int(current_app.config["ORDERCARE_ADMIN_PAGE_SIZE"])
    page = positive_int("page", 1)
    with services().sessions() as db:
        items, more = search_orders(db, who.shop_ids, filters, page, per_page)
        kinds = incident_kinds(db, who.shop_ids)
    query = {k: v for k, v in request.args.items() if k not in ("page", "lang", "format", "table") and v}
    return render_template(
        "admin/orders.html", items=items, page=page, more=more, kinds=kinds, args=request.args, query=query
    )


@bp.get("/customers/<key>")
def customer(key: str) -> ResponseReturnValue:
    with services().sessions() as db:
        view = customer_view(db, viewer().shop_ids, _secret(), key)
    if view is None:
        abort(404)
    if wants_csv():
        return csv_response(customer_tables(view), "customer")
    return render_template("admin/customer.html", view=view)


def customer_tables(view: CustomerView) -> list[Table]:
    return [
        Table("orders", "Orders", ("id", "shop", "order", "placed_at", "channel", "status"),
              [(o.id, o.shop_id, o.number, o.created_at, o.channel, o.status) for o in view.orders]),
        Table("timeline", "Timeline", ("at", "order", "lane", "what", "detail"),
              [(e.entry.at, e.order_number, e.entry.lane, e.entry.title, e.entry.detail) for e in view.timeline]),
    ]  # fmt: skip
