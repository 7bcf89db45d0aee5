"""The address-fix page ``/fix/<token>``: the customer corrects a shipping address in a minute.

GET shows the order, the address as we have it, what is wrong with it and a form; for Dutch addresses the
"look up" button fills street and city from postcode + house number (PDOK by default, or the lookup in
``app.extensions["ordercare.address_lookup"]``). POST checks the address (``connector.address.form``) and
hands it to ``connector.address.fix``, which stores it, plans the shop update, the release of our hold and
a staff note, resolves the incident and uses the link up, in one transaction. Works without JavaScript;
CSRF-protected by a signed cookie (``connector.address.fixcsrf``); the words, Dutch and English, are in
``templates/fix/<lang>/copy.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from flask import Blueprint, Response, current_app, make_response, render_template, request

from connector.address import fix as address_fix
from connector.address import fixcsrf, fixlinks, form
from connector.address.check import AddressLookup, lookup_provider
from connector.calendar import BusinessCalendar
from connector.model import Address, Order
from connector.notify.render import Item, format_day, format_items, normalise_locale, renderer_for
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import FixToken

bp = Blueprint("fix", __name__, template_folder="templates")

LOOKUP_EXTENSION = "ordercare.address_lookup"
CSRF_COOKIE = "ordercare_fix"
LANGUAGES = ("nl", "en")  # each has templates/fix/<lang>/copy.html


@dataclass(frozen=True)
class Link:
    """A link that works: its token, the order and shop it is for, the customer's language."""

    token: FixToken
    shop: Shop
    order: Order
    lang: str
    country: str  # the address's, else the shop's


def _services() -> Services:
    services: Services = current_app.extensions["ordercare"]
    return services


def _lookup(services: Services, shop: Shop) -> AddressLookup | None:
    if LOOKUP_EXTENSION in current_app.extensions:  # set by the host (tests, demo); None turns lookups off
        injected: AddressLookup | None = current_app.extensions[LOOKUP_EXTENSION]
        return injected
    config = services.settings.policies_for(shop.id).address.lookup
    return lookup_provider(config.provider, config.base_url, config.timeout_seconds)


def _calendar(services: Services, shop: Shop) -> BusinessCalendar:
    return services.settings.policies_for(shop.id).calendar.build(shop.timezone, shop.country)


def _language(order: Order | None, shop: Shop | None) -> str:
    asked = request.values.get("lang")
    if asked in LANGUAGES:
        return asked
    if order is None or shop is None:  # a link we cannot read: the browser's language, Dutch first
        return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]
    return normalise_locale(order.customer.locale, default=normalise_locale(shop.locale))


def _page(template: str, status: int, lang: str, **context: Any) -> Response:
    link: Link | None = context.get("link")
    shop: Shop | None = link.shop if link is not None else context.get("shop")
    brand = _services().settings.brand_for(shop.id if shop is not None else None)
    response = make_response(render_template(template, lang=lang, brand=brand, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _gone(state: fixlinks.LinkState, used_at: datetime | None, lang: str, shop: Shop | None) -> Response:
    used_on = ""
    if used_at is not None and shop is not None:
        used_on = format_day(_calendar(_services(), shop).local_date(used_at), lang)
    status = 404 if state is fixlinks.LinkState.UNKNOWN else 410
    contact = _contact(shop)
    return _page("fix/gone.html", status, lang, reason=state.value, used_on=used_on, shop=shop, contact=contact)


def _contact(shop: Shop | None) -> str | None:
    """Where the customer reaches the shop: its reply-to address, else its sender."""
    if shop is None:
        return None
    voice = _services().settings.voice_for(shop.id)
    return parseaddr(voice.reply_to or voice.sender)[1] or None


def _open(signed: str) -> Link | Response:
    """The link's order and shop, or the page that says why the link does not work (404, 410)."""
    services = _services()
    with services.sessions() as session:
        check = fixlinks.check(session, services.settings.secret_key, signed, services.now())
        order = address_fix.stored_order(session, check.token)
    shop = services.shops.get(check.token.shop_id) if check.token is not None else None
    if check.token is None or order is None or shop is None:
        return _gone(fixlinks.LinkState.UNKNOWN, None, _language(None, None), None)
    lang = _language(order, shop)
    if check.state is not fixlinks.LinkState.VALID:
        return _gone(check.state, check.token.used_at, lang, shop)
    return Link(check.token, shop, order, lang, form.country_of(order.shipping_address, shop.country))


def _render_form(link: Link, state: form.FormState, status: int = 200, problems: list[str] | None = None) -> Response:
    services = _services()
    secret_key = services.settings.secret_key
    nonce = fixcsrf.nonce_of(secret_key, request.cookies.get(CSRF_COOKIE)) or fixcsrf.new_nonce()
    response = _page(
        "fix/form.html",
        status,
        link.lang,
        link=link,
        state=state,
        items=format_items([Item(line.title, line.quantity) for line in link.order.lines], link.lang),
        current=form.address_lines(link.order.shipping_address),
        problem_texts=renderer_for(services.settings.templates_dir).problem_texts(problems or [], link.lang),
        csrf_token=fixcsrf.form_token(secret_key, nonce, link.token.id),
        lookup_enabled=form.can_look_up(link.country),
        example=form.postcode_example(link.country),
    )
    secure = services.settings.public_url.startswith("https://")
    cookie = fixcsrf.cookie_value(secret_key, nonce)
    response.set_cookie(CSRF_COOKIE, cookie, max_age=3600, path="/fix/", httponly=True, samesite="Lax", secure=secure)
    return response


# --- the routes ----------------------------------------------------------------------------------


@bp.get("/fix/<signed>")
def show(signed: str) -> Response:
    link = _open(signed)
    if isinstance(link, Response):
        return link
    lookup = _lookup(_services(), link.shop)
    state = form.FormState(form.initial_values(link.order.shipping_address))
    return _render_form(link, state, problems=form.shown_problems(link.order, lookup))


@bp.post("/fix/<signed>")
def submit(signed: str) -> Response:
    link = _open(signed)
    if isinstance(link, Response):
        return link
    services = _services()
    sent = request.form.get("csrf_token", "")
    if not fixcsrf.form_token_ok(services.settings.secret_key, request.cookies.get(CSRF_COOKIE), sent, link.token.id):
        return _page("fix/gone.html", 400, link.lang, reason="csrf", used_on="", shop=link.shop)
    values = form.read_form(request.form)
    lookup = _lookup(services, link.shop)
    if request.form.get("action") == "lookup" and form.can_look_up(link.country):
        return _render_form(link, form.look_up(values, link.country, lookup, explicit=True))
    state, address = form.save(values, form.base_address(link.order), link.country, lookup)
    if address is None:
        return _render_form(link, state, 422)
    return _accept(link, address)


def _accept(link: Link, address: Address) -> Response:
    """Hand the address over; thank the customer, or say the link was used up meanwhile."""
    services = _services()
    now = services.now()
    calendar = _calendar(services, link.shop)
    note = renderer_for(services.settings.templates_dir).render_note(
        "note_address_fixed", link.shop.locale, {"at": calendar.local(now), "address": form.one_line(address)}
    )
    with transaction(services.sessions) as session:
        result = address_fix.accept(session, link.token, address, note, now, metrics=services.metrics)
    if not result.accepted:
        assert result.state is not None
        return _gone(result.state, result.used_at, link.lang, link.shop)
    # released now: out with today's dispatch if before the cut-off, then the next delivery day
    config = services.settings.policies_for(link.shop.id).next_day
    delivery = calendar.next_day_promise(now, config.cutoff, config.dispatch_by).deliver_on
    return _page(
        "fix/done.html",
        200,
        link.lang,
        order=link.order,
        shop=link.shop,
        address_lines=form.address_lines(address),
        delivery=format_day(delivery, link.lang),
    )
