"""The customer's tracking page ``/track/<token>`` and the shop's lookup form ``/track/lookup/<shop_id>``.

The page shows what ``connector.tracking.view`` says about the order, in the customer's language; the lookup
form finds an order by its number plus its postcode or e-mail (``connector.tracking.lookup``) and sends the
customer on to the order's page. Neither needs JavaScript; the form is CSRF-protected like the fix page
(``connector.address.fixcsrf``). A link that does not work, an order that cannot be found and a flood of
failed lookups each get a plain page that reveals nothing (404, 410, 429), and every answer is ``no-store``
and ``noindex``. The words, Dutch and English, are in ``templates/track/<lang>/copy.html``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request
from flask.blueprints import BlueprintSetupState

from connector.address import fixcsrf, fixlinks
from connector.model import Order
from connector.notify.render import normalise_locale, renderer_for
from connector.reports import links as report_links
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.tracking import links, lookup, view
from connector.tracking import store as tracking_store

bp = Blueprint("tracking", __name__, template_folder="templates")

LIMITER_EXTENSION = "ordercare.track_limiter"
CSRF_COOKIE = "ordercare_track"
LANGUAGES = ("nl", "en")  # each has templates/track/<lang>/copy.html
DEFAULTS = {
    "ORDERCARE_TRACK_FAILURES_PER_ORDER": 5,  # failed lookups of one order number per window
    "ORDERCARE_TRACK_FAILURES_PER_SHOP": 100,  # failed lookups of one shop per window
    "ORDERCARE_TRACK_WINDOW_MINUTES": 15,
}


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    for key, value in DEFAULTS.items():
        state.app.config.setdefault(key, value)


def _services() -> Services:
    services: Services = current_app.extensions["ordercare"]
    return services


def _limiter() -> lookup.LookupLimiter:
    """The lookup limiter of this app, made on first use (the counts themselves live in the database)."""
    limiter: lookup.LookupLimiter | None = current_app.extensions.get(LIMITER_EXTENSION)
    if limiter is None:
        config = current_app.config
        limiter = lookup.LookupLimiter(
            _services().sessions,
            per_order=int(config["ORDERCARE_TRACK_FAILURES_PER_ORDER"]),
            per_shop=int(config["ORDERCARE_TRACK_FAILURES_PER_SHOP"]),
            window=timedelta(minutes=float(config["ORDERCARE_TRACK_WINDOW_MINUTES"])),
        )
        current_app.extensions[LIMITER_EXTENSION] = limiter
    return limiter


def _language(order: Order | None, shop: Shop | None) -> str:
    """The customer's language: asked for, else the order's, else the browser's, else the shop's (Dutch first)."""
    asked = request.values.get("lang")
    if asked in LANGUAGES:
        return asked
    shop_language = normalise_locale(shop.locale if shop is not None else None, default=LANGUAGES[0])
    if order is not None:
        return normalise_locale(order.customer.locale, default=shop_language)
    return request.accept_languages.best_match(LANGUAGES) or shop_language


def _page(template: str, status: int, lang: str, **context: Any) -> Response:
    shop: Shop | None = context.get("shop")
    brand = _services().settings.brand_for(shop.id if shop is not None else None)
    response = make_response(render_template(template, lang=lang, brand=brand, **context), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never hand it to another site
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Language"] = lang
    return response


def _shop(shop_id: str) -> Shop | None:
    shop = _services().shops.get(shop_id)
    return shop if shop is not None and shop.status != "uninstalled" else None


def _contact(shop: Shop | None) -> str | None:
    """Where the customer reaches the shop: its reply-to address, else its sender."""
    if shop is None:
        return None
    voice = _services().settings.voice_for(shop.id)
    return parseaddr(voice.reply_to or voice.sender)[1] or None


def _gone(reason: str, status: int, lang: str, shop: Shop | None) -> Response:
    return _page("track/gone.html", status, lang, reason=reason, shop=shop, contact=_contact(shop))


# --- the page ------------------------------------------------------------------------------------


@bp.get("/track/<token>")
def show(token: str) -> Response:
    services = _services()
    settings = services.settings
    now = services.now()
    named = links.read(settings.secret_key, token)
    shop = _shop(named[0]) if named is not None else None
    if named is None or shop is None:
        return _gone("unknown", 404, _language(None, None), None)
    tz = ZoneInfo(shop.timezone)
    with transaction(services.sessions) as session:
        stored = tracking_store.stored_order(session, shop.id, named[1])
        state = links.state(stored.order if stored is not None else None, now)
        if stored is None or state is links.LinkState.UNKNOWN:
            return _gone("unknown", 404, _language(None, None), None)
        lang = _language(stored.order, shop)
        if state is links.LinkState.EXPIRED:
            return _gone("expired", 410, lang, shop)
        facts = tracking_store.facts(session, stored.id, now, tz)
        if request.method == "GET":
            tracking_store.count_view(session, shop.id, stored.id, now)
    fix_url = (
        fixlinks.fix_url(settings.public_url, fixlinks.sign(settings.secret_key, facts.fix_token_id))
        if facts.fix_token_id is not None
        else None
    )
    page = view.build(
        stored.order,
        incidents=facts.incidents,
        vouchers=facts.vouchers,
        promises=facts.promises,
        now=now,
        tz=tz,
        shop_name=shop.name,
        words=view.Wording(renderer_for(settings.templates_dir), lang),
        fix_url=fix_url,
        contact=_contact(shop),
    )
    report = view.Action("report", report_links.page_url(settings.public_url, token, report_links.TRACKING))
    others = tuple(a for a in page.actions if a.kind != "contact")
    contact = tuple(a for a in page.actions if a.kind == "contact")
    page = replace(page, actions=(*others, report, *contact))  # "report a problem" (``webhooks.report``)
    return _page("track/page.html", 200, lang, page=page, shop=shop)


# --- the lookup form -----------------------------------------------------------------------------


def _form(
    shop: Shop, lang: str, status: int = 200, *, number: str = "", error: str | None = None, retry: int | None = None
) -> Response:
    secret_key = _services().settings.secret_key
    nonce = fixcsrf.nonce_of(secret_key, request.cookies.get(CSRF_COOKIE)) or fixcsrf.new_nonce()
    response = _page(
        "track/lookup.html",
        status,
        lang,
        shop=shop,
        number=number[: lookup.MAX_FIELD],
        error=error,
        retry_minutes=(retry + 59) // 60 if retry is not None else None,
        chosen_lang=request.values.get("lang") if request.values.get("lang") in LANGUAGES else None,
        csrf_token=fixcsrf.form_token(secret_key, nonce, f"track-lookup:{shop.id}"),
    )
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    secure = _services().settings.public_url.startswith("https://")
    cookie = fixcsrf.cookie_value(secret_key, nonce)
    response.set_cookie(CSRF_COOKIE, cookie, max_age=3600, path="/track/", httponly=True, samesite="Lax", secure=secure)
    return response


@bp.get("/track/lookup/<shop_id>")
def lookup_form(shop_id: str) -> Response:
    shop = _shop(shop_id)
    if shop is None:
        return _gone("unknown_shop", 404, _language(None, None), None)
    return _form(shop, _language(None, shop), number=request.args.get("order", ""))


@bp.post("/track/lookup/<shop_id>")
def lookup_submit(shop_id: str) -> Response:
    services = _services()
    shop = _shop(shop_id)
    if shop is None:
        return _gone("unknown_shop", 404, _language(None, None), None)
    lang = _language(None, shop)
    secret_key = services.settings.secret_key
    sent = request.form.get("csrf_token", "")
    if not fixcsrf.form_token_ok(secret_key, request.cookies.get(CSRF_COOKIE), sent, f"track-lookup:{shop.id}"):
        return _gone("csrf", 400, lang, shop)
    number = request.form.get("order", "").strip()
    check = request.form.get("check", "").strip()
    if not number or not check:
        return _form(shop, lang, 422, number=number, error="required")
    now = services.now()
    limiter = _limiter()
    refused = limiter.refused_until(shop.id, number, now)
    if refused is not None:
        retry = max(1, int((refused - now).total_seconds()))
        return _form(shop, lang, 429, number=number, error="too_many", retry=retry)
    with services.sessions() as session:
        found = lookup.find(session, shop.id, number, check)
    if found is None or links.state(found.order, now) is not links.LinkState.VALID:
        limiter.failed(shop.id, number, now)
        return _form(shop, lang, 404, number=number, error="not_found")
    token = links.token_for(secret_key, shop.id, found.order.external_id)
    target = f"/track/{token}" + (f"?lang={request.form['lang']}" if request.form.get("lang") in LANGUAGES else "")
    response = make_response(redirect(target, 303))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
