"""The report page ``/report/<token>`` ("something is wrong with my order") and its lookup ``/report/lookup/<shop>``.

The token is the order's tracking token (``connector.reports.links``): the page opens from every ordercare
e-mail and from the tracking page, and the lookup form finds the order by its number plus postcode or e-mail
(``connector.tracking.lookup``, with the tracking lookup's limiter). A POST is stored as a report
(``connector.reports.store``); the report policy answers at the order's next evaluation. Each form carries
a random id bound to the CSRF cookie, so the same form sent twice is refused as reused. A forged, expired or
reused link, an unknown order, an open report, an oversized or non-image photo and a flood of reports each
get a plain page in the customer's language, and nothing is stored or sent. No JavaScript; ``no-store``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, make_response, redirect, request

from connector import incidents
from connector.address import fixcsrf
from connector.model import Order
from connector.notify.render import format_day
from connector.reports import form as report_form
from connector.reports import links as report_links
from connector.reports import photo as report_photo
from connector.reports import store as report_store
from connector.reports.model import ABOUT_ITEMS, CAUSES, CHANNELS, ReportView
from connector.shops import Shop
from connector.store.db import transaction
from connector.tracking import links, lookup
from connector.tracking import store as tracking_store
from webhooks.tracking import LANGUAGES, _contact, _language, _limiter, _page, _services, _shop

bp = Blueprint("report", __name__)

CSRF_COOKIE = "ordercare_report"
FORM_SLACK = 64 * 1024  # the form's other fields on top of the photo


def _gone(reason: str, status: int, lang: str, shop: Shop | None, **extra: Any) -> Response:
    return _page("report/gone.html", status, lang, reason=reason, shop=shop, contact=_contact(shop), **extra)


def _csrf_subject(shop_id: str, external_id: str, form_id: str) -> str:
    return f"report:{shop_id}:{external_id}:{form_id}"


def _submission(secret_key: str, form_id: str) -> str:
    return hmac.new(secret_key.encode(), f"report-form:{form_id}".encode(), hashlib.sha256).hexdigest()[:48]


def _max_photo(shop: Shop) -> int:
    return _services().settings.policies_for(shop.id).order_problem.photo_max_kb * 1024


def _form(
    token: str,
    shop: Shop,
    order: Order,
    lang: str,
    status: int = 200,
    *,
    error: str | None = None,
    sent: dict[str, Any] | None = None,
) -> Response:
    secret_key = _services().settings.secret_key
    nonce = fixcsrf.nonce_of(secret_key, request.cookies.get(CSRF_COOKIE)) or fixcsrf.new_nonce()
    form_id = fixcsrf.new_nonce()
    via = request.values.get("via")
    response = _page(
        "report/form.html",
        status,
        lang,
        shop=shop,
        order_number=order.number,
        lines=report_form.shipped_lines(order),
        causes=CAUSES,
        about_items=ABOUT_ITEMS,
        error=error,
        sent=sent or {},
        max_mb=max(1, _max_photo(shop) // (1024 * 1024)),
        via=via if via in CHANNELS else report_links.EMAIL,
        chosen_lang=request.values.get("lang") if request.values.get("lang") in LANGUAGES else None,
        form_id=form_id,
        csrf_token=fixcsrf.form_token(secret_key, nonce, _csrf_subject(shop.id, order.external_id, form_id)),
    )
    secure = _services().settings.public_url.startswith("https://")
    cookie = fixcsrf.cookie_value(secret_key, nonce)
    response.set_cookie(
        CSRF_COOKIE, cookie, max_age=3600, path="/report/", httponly=True, samesite="Lax", secure=secure
    )
    return response


def _already(report: ReportView, shop: Shop, lang: str, status: int) -> Response:
    day = format_day(report.submitted_at.astimezone(ZoneInfo(shop.timezone)).date(), lang)
    return _gone("already", status, lang, shop, cause=report.cause, day=day)


@bp.route("/report/<token>", methods=["GET", "POST"])
def report(token: str) -> Response:
    services = _services()
    settings = services.settings
    now = services.now()
    named = links.read(settings.secret_key, token)
    shop = _shop(named[0]) if named is not None else None
    if named is None or shop is None:
        return _gone("unknown", 404, _language(None, None), None)
    with services.sessions() as session:
        stored = tracking_store.stored_order(session, shop.id, named[1])
        state = links.state(stored.order if stored is not None else None, now)
        if stored is None or state is links.LinkState.UNKNOWN:
            return _gone("unknown", 404, _language(None, None), None)
        lang = _language(stored.order, shop)
        if state is links.LinkState.EXPIRED:
            return _gone("expired", 410, lang, shop)
        reports = report_store.for_orders(session, [stored.id], now).get(stored.id, ())
        found = incidents.load_for_orders(session, [stored.id]).get(stored.id, {})
    still_open = report_store.open_report(reports, found)
    if request.method == "GET":
        if still_open is not None:
            return _already(still_open, shop, lang, 200)
        return _form(token, shop, stored.order, lang)
    return _submit(token, shop, stored, lang, still_open)


def _submit(token: str, shop: Shop, stored: lookup.StoredOrder, lang: str, still_open: ReportView | None) -> Response:
    services = _services()
    secret_key = services.settings.secret_key
    config = services.settings.policies_for(shop.id).order_problem
    limit = _max_photo(shop) + FORM_SLACK
    if request.content_length is None or request.content_length > limit:  # refused before the body is read
        return _gone("too_large" if request.content_length else "csrf", 413 if request.content_length else 400,
                     lang, shop)  # fmt: skip
    request.max_content_length = limit
    order = stored.order
    form_id = request.form.get("form_id", "")
    sent_token = request.form.get("csrf_token", "")
    subject = _csrf_subject(shop.id, order.external_id, form_id)
    if not form_id or not fixcsrf.form_token_ok(secret_key, request.cookies.get(CSRF_COOKIE), sent_token, subject):
        return _gone("csrf", 400, lang, shop)
    with services.sessions() as session:
        if report_store.submission_used(session, _submission(secret_key, form_id)):
            return _gone("reused", 409, lang, shop)
    if still_open is not None:
        return _already(still_open, shop, lang, 409)
    now = services.now()
    with services.sessions() as session:
        per_order, per_shop = report_store.recent_counts(
            session, shop.id, stored.id, now - timedelta(days=1), now - timedelta(hours=1)
        )
    if per_order >= config.per_order_per_day or per_shop >= config.per_shop_per_hour:
        response = _gone("too_many", 429, lang, shop)
        response.headers["Retry-After"] = "3600"
        return response
    cause = request.form.get("cause") or ""
    chosen = request.form.getlist("line")
    text = (request.form.get("text") or "")[: report_form.MAX_TEXT]
    sent: dict[str, Any] = {"cause": cause, "lines": chosen, "text": text}
    upload = request.files.get("photo")
    data = upload.read(_max_photo(shop) + 1) if upload is not None and upload.filename else b""
    try:
        photo = report_photo.check(data, _max_photo(shop))
        draft = report_form.read(cause, chosen, text, order, photo)
    except report_photo.PhotoRefused as refused:
        status = 413 if refused.code == report_photo.TOO_LARGE else 415
        return _form(token, shop, order, lang, status, error=refused.code, sent=sent)
    except report_form.FormProblem as problem:
        return _form(token, shop, order, lang, 422, error=problem.code, sent=sent)
    via = request.form.get("via")
    with transaction(services.sessions) as session:
        saved = report_store.save(
            session,
            shop_id=shop.id,
            order_id=stored.id,
            draft=draft,
            channel=via if via in CHANNELS else report_links.EMAIL,
            language=lang,
            submission=_submission(secret_key, form_id),
            now=now,
        )
    if saved is None:
        return _gone("reused", 409, lang, shop)
    return _page("report/done.html", 200, lang, shop=shop, order_number=order.number, cause=draft.cause,
                 contact=_contact(shop))  # fmt: skip


# --- the lookup form -----------------------------------------------------------------------------


def _lookup_form(
    shop: Shop, lang: str, status: int = 200, *, number: str = "", error: str | None = None, retry: int | None = None
) -> Response:
    secret_key = _services().settings.secret_key
    nonce = fixcsrf.nonce_of(secret_key, request.cookies.get(CSRF_COOKIE)) or fixcsrf.new_nonce()
    response = _page(
        "report/lookup.html",
        status,
        lang,
        shop=shop,
        number=number[: lookup.MAX_FIELD],
        error=error,
        retry_minutes=(retry + 59) // 60 if retry is not None else None,
        chosen_lang=request.values.get("lang") if request.values.get("lang") in LANGUAGES else None,
        csrf_token=fixcsrf.form_token(secret_key, nonce, f"report-lookup:{shop.id}"),
    )
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    secure = _services().settings.public_url.startswith("https://")
    cookie = fixcsrf.cookie_value(secret_key, nonce)
    response.set_cookie(
        CSRF_COOKIE, cookie, max_age=3600, path="/report/", httponly=True, samesite="Lax", secure=secure
    )
    return response


@bp.get("/report/lookup/<shop_id>")
def lookup_form(shop_id: str) -> Response:
    shop = _shop(shop_id)
    if shop is None:
        return _gone("unknown_shop", 404, _language(None, None), None)
    return _lookup_form(shop, _language(None, shop), number=request.args.get("order", ""))


@bp.post("/report/lookup/<shop_id>")
def lookup_submit(shop_id: str) -> Response:
    services = _services()
    shop = _shop(shop_id)
    if shop is None:
        return _gone("unknown_shop", 404, _language(None, None), None)
    lang = _language(None, shop)
    secret_key = services.settings.secret_key
    sent = request.form.get("csrf_token", "")
    if not fixcsrf.form_token_ok(secret_key, request.cookies.get(CSRF_COOKIE), sent, f"report-lookup:{shop.id}"):
        return _gone("csrf", 400, lang, shop)
    number = request.form.get("order", "").strip()
    check = request.form.get("check", "").strip()
    if not number or not check:
        return _lookup_form(shop, lang, 422, number=number, error="required")
    now = services.now()
    limiter = _limiter()  # the tracking lookup's: both guess at the same order numbers
    refused = limiter.refused_until(shop.id, number, now)
    if refused is not None:
        retry = max(1, int((refused - now).total_seconds()))
        return _lookup_form(shop, lang, 429, number=number, error="too_many", retry=retry)
    with services.sessions() as session:
        found = lookup.find(session, shop.id, number, check)
    if found is None or links.state(found.order, now) is not links.LinkState.VALID:
        limiter.failed(shop.id, number, now)
        return _lookup_form(shop, lang, 404, number=number, error="not_found")
    token = links.token_for(secret_key, shop.id, found.order.external_id)
    chosen = request.form.get("lang")
    target = f"/report/{token}?via={report_links.LOOKUP}" + (f"&lang={chosen}" if chosen in LANGUAGES else "")
    response = make_response(redirect(target, 303))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
