"""The out-of-stock choice page ``/stock/<token>``: the customer waits, takes an alternative or cancels the item.

GET shows the order and, per out-of-stock line, the choices the e-mail named; POST hands the choice to
``connector.stock.choice`` (one transaction: the link used up, the write-back and the messages planned, the
incident resolved). A forged link is 404, an expired or used one 410, a form without the page's CSRF token 400,
a choice that was not offered 422 — each a page in the customer's language, nothing stored, nothing sent. Works
without JavaScript; the words, Dutch and English, are in ``templates/stock/<lang>/copy.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, make_response, render_template, request

from connector.address import fixcsrf
from connector.address.fixlinks import LinkState
from connector.model import Order
from connector.notify.render import format_day, normalise_locale
from connector.services import Services
from connector.shops import Shop
from connector.stock import choice as stock_choice
from connector.stock import links
from connector.store.db import transaction
from connector.store.tables import StockLink

bp = Blueprint("stock", __name__, template_folder="templates")

CSRF_COOKIE = "ordercare_stock"
LANGUAGES = ("nl", "en")  # each has templates/stock/<lang>/copy.html


@dataclass(frozen=True)
class Link:
    link: StockLink
    shop: Shop
    order: Order
    lang: str
    offered: list[stock_choice.LineOptions]


def _services() -> Services:
    services: Services = current_app.extensions["ordercare"]
    return services


def _language(order: Order | None, shop: Shop | None) -> str:
    asked = request.values.get("lang")
    if asked in LANGUAGES:
        return asked
    if order is None or shop is None:  # a link we cannot read: the browser's language, Dutch first
        return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]
    return normalise_locale(order.customer.locale, default=normalise_locale(shop.locale))


def _page(template: str, status: int, lang: str, **context: Any) -> Response:
    shop: Shop | None = context.get("shop")
    brand = _services().settings.brand_for(shop.id if shop is not None else None)
    response = make_response(render_template(template, lang=lang, brand=brand, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _contact(shop: Shop | None) -> str | None:
    if shop is None:
        return None
    voice = _services().settings.voice_for(shop.id)
    return parseaddr(voice.reply_to or voice.sender)[1] or None


def _gone(reason: str, status: int, lang: str, shop: Shop | None, used_at: datetime | None = None) -> Response:
    used_on = ""
    if used_at is not None and shop is not None:
        calendar = _services().settings.policies_for(shop.id).calendar.build(shop.timezone, shop.country)
        used_on = format_day(calendar.local_date(used_at), lang)
    return _page("stock/gone.html", status, lang, reason=reason, used_on=used_on, shop=shop, contact=_contact(shop))


def _open(signed: str) -> Link | Response:
    """The link's order, shop and choices, or the page that says why the link does not work."""
    services = _services()
    with services.sessions() as session:
        check = links.check(session, services.settings.secret_key, signed, services.now())
        order = stock_choice.stored_order(session, check.link)
        incident = stock_choice.incident_of(session, check.link)
        details = dict(incident.details or {}) if incident is not None else {}
        settled = incident is None or incident.state == "resolved"
    shop = services.shops.get(check.link.shop_id) if check.link is not None else None
    if check.link is None or order is None or shop is None:
        return _gone(LinkState.UNKNOWN.value, 404, _language(None, None), None)
    lang = _language(order, shop)
    if check.state is not LinkState.VALID:
        return _gone(check.state.value, 410, lang, shop, check.link.used_at)
    if settled:
        return _gone("settled", 410, lang, shop)
    today = services.now().astimezone(ZoneInfo(shop.timezone)).date()
    return Link(check.link, shop, order, lang, stock_choice.options(details, today))


def _form(link: Link, status: int = 200, error: bool = False) -> Response:
    secret_key = _services().settings.secret_key
    nonce = fixcsrf.nonce_of(secret_key, request.cookies.get(CSRF_COOKIE)) or fixcsrf.new_nonce()
    response = _page(
        "stock/choose.html",
        status,
        link.lang,
        shop=link.shop,
        order=link.order,
        offered=[(item, [(o, format_day(o.wait_until, link.lang)) for o in item.options]) for item in link.offered],
        error=error,
        csrf_token=fixcsrf.form_token(secret_key, nonce, link.link.id),
    )
    secure = _services().settings.public_url.startswith("https://")
    cookie = fixcsrf.cookie_value(secret_key, nonce)
    response.set_cookie(
        CSRF_COOKIE, cookie, max_age=3600, path=links.PATH, httponly=True, samesite="Lax", secure=secure
    )
    return response


@bp.get("/stock/<signed>")
def show(signed: str) -> Response:
    link = _open(signed)
    return link if isinstance(link, Response) else _form(link)


@bp.post("/stock/<signed>")
def submit(signed: str) -> Response:
    link = _open(signed)
    if isinstance(link, Response):
        return link
    services = _services()
    sent = request.form.get("csrf_token", "")
    if not fixcsrf.form_token_ok(services.settings.secret_key, request.cookies.get(CSRF_COOKIE), sent, link.link.id):
        return _gone("csrf", 400, link.lang, link.shop)
    chosen = stock_choice.read(request.form, link.offered)
    if chosen is None:
        return _form(link, 422, error=True)
    now = services.now()
    tz = services.settings.policies_for(link.shop.id).calendar.build(link.shop.timezone, link.shop.country).tz
    with transaction(services.sessions) as session:
        result = stock_choice.accept(
            session,
            link.link,
            chosen,
            now,
            shop_locale=link.shop.locale,
            tz=tz,
            observe=link.shop.observing,
            metrics=services.metrics,
        )
    if not result.accepted:
        if result.settled:
            return _gone("settled", 410, link.lang, link.shop)
        assert result.state is not None
        return _gone(result.state.value, 410, link.lang, link.shop, result.used_at)
    picked = [(item, next(o for o in item.options if o.key == chosen[item.line_id])) for item in link.offered]
    shown = [(item, option, format_day(option.wait_until, link.lang)) for item, option in picked]
    return _page("stock/done.html", 200, link.lang, shop=link.shop, order=link.order, picked=shown)
