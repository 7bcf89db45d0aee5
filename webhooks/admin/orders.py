"""One order with everything on it, and recording a customer contact ("where is my order?", ...)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from connector.admin import wording
from connector.admin.insights import CONTACT_KINDS
from connector.admin.queries import order_in_scope, order_view, orders_by_number
from connector.store.db import transaction
from connector.store.tables import CustomerContact, OrderRow
from webhooks.admin import bp
from webhooks.admin.common import now, safe_next, services, viewer
from webhooks.admin.i18n import words
from webhooks.admin.incidents import timeline_page


@bp.get("/orders/<int:order_id>")
def order_detail(order_id: int) -> ResponseReturnValue:
    with services().sessions() as db:
        view = order_view(db, viewer().shop_ids, order_id)
    return timeline_page(view, f"order-{order_id}")


@bp.post("/contacts")
def record_contact() -> ResponseReturnValue:
    kind = request.form.get("kind", "")
    if kind not in CONTACT_KINDS:
        abort(400, description=gettext("kind: choose one of %(choices)s", choices=", ".join(CONTACT_KINDS)))
    shop_ids = viewer().shop_ids
    with transaction(services().sessions) as db:
        order = _order(db, shop_ids)
        db.add(CustomerContact(shop_id=order.shop_id, order_id=order.id, kind=kind, noted_at=now(), source="dashboard"))
        number = order.number
    flash(gettext("Noted: %(about)s on order %(number)s.", about=words(wording.contact(kind)), number=number))
    return redirect(safe_next(url_for("admin.patterns")))


def _order(db: Session, shop_ids: tuple[str, ...]) -> OrderRow:
    raw_id = request.form.get("order_id", "").strip()
    if raw_id:
        if not raw_id.isdigit():
            abort(400, description=gettext("order_id: %(value)r is not an order id", value=raw_id))
        found = order_in_scope(db, shop_ids, int(raw_id))
        if found is None:
            abort(404)
        return found
    number = request.form.get("order_number", "").strip()[:64]
    if not number:
        abort(400, description=gettext("order_number: give the order number the customer called about"))
    matches = orders_by_number(db, shop_ids, number)
    if not matches:
        abort(400, description=gettext("order_number: no order %(value)r in your shops", value=number))
    if len(matches) > 1:
        abort(
            400,
            description=gettext(
                "order_number: several orders are numbered %(value)r; record it from the order's page", value=number
            ),
        )
    return matches[0]
