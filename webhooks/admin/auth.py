"""Signing in and out, the session's idle and absolute expiry, CSRF on every POST, response headers.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax; SameSite=None and Secure for a session begun inside
the Shopify admin, ``webhooks.shopify_embedded``, which also signs in requests by App Bridge's Bearer token).
It holds the account id, the account's session generation at sign-in, when the session began and when it was
last used (by the service clock); the account and its shops are read from the database on every request, so
removing or disabling an account (which raises its generation), changing its password or removing a shop takes
effect at the next request.
Failed sign-ins are counted in the database, so the throttle holds across web processes.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from connector.admin.queries import shops
from connector.admin.users import Account, AccountDisabled, LoginThrottle, authenticate, get_account
from connector.store.db import transaction
from webhooks.admin import bp
from webhooks.admin.common import Viewer, now, safe_next, services, tel_href
from webhooks.admin.i18n import language, local_day, local_time, money, remember_language

ACCOUNT, GENERATION, STARTED, SEEN, CSRF = (
    "admin_account",
    "admin_generation",
    "admin_started",
    "admin_seen",
    "admin_csrf",
)
# a session begun from the Shopify admin (``webhooks.shopify_embedded``): {"shop": domain, "api_key": client id}
EMBEDDED = "admin_embedded"
# ``g`` key: the account a request's ``Authorization: Bearer`` session token signed in (no cookie, no CSRF token)
BEARER = "admin_bearer"
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})


def csrf_token() -> str:
    token = session.get(CSRF)
    if not token:
        token = session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


def lang_url(code: str) -> str:
    """This page's address in another language."""
    if request.endpoint is None:
        return "?lang=" + code
    args: dict[str, Any] = dict(request.args.items())
    args.update(request.view_args or {}, lang=code)
    return url_for(str(request.endpoint), **args)


def csv_url(table: str) -> str:
    """This page's address with its filters, asking for one table as CSV."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("page", "format", "table")}
    args.update(request.view_args or {}, format="csv", table=table)
    return url_for(str(request.endpoint), **args)


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    return {
        "admin_csrf_token": csrf_token,
        "local_time": local_time,
        "local_day": local_day,
        "csv_url": csv_url,
        "lang_url": lang_url,
        "language": language,
        "money": money,
        "tel_href": tel_href,
    }


def _end_session() -> None:
    for key in (ACCOUNT, GENERATION, STARTED, SEEN, CSRF, EMBEDDED):
        session.pop(key, None)


def begin_session(account: Account, current: datetime) -> None:
    """Sign ``account`` in on this browser: a fresh session (and CSRF token) at its current generation."""
    _end_session()
    session[ACCOUNT] = account.id
    session[GENERATION] = account.session_generation
    session[STARTED] = session[SEEN] = current.timestamp()
    csrf_token()


def keep_session(account: Account) -> None:
    """Keep this browser signed in after a change that raised the account's generation (its password)."""
    session[GENERATION] = account.session_generation


def _still_valid(account: Account) -> bool:
    """The account may sign in, and nothing ended its sessions since this one began."""
    generation = session.get(GENERATION)
    return not account.disabled and isinstance(generation, int) and generation == account.session_generation


def _expired(current: datetime) -> bool:
    config = current_app.config
    seen, started = session.get(SEEN), session.get(STARTED)
    if not isinstance(seen, (int, float)) or not isinstance(started, (int, float)):
        return True
    idle = timedelta(minutes=float(config["ORDERCARE_ADMIN_IDLE_MINUTES"])).total_seconds()
    longest = timedelta(hours=float(config["ORDERCARE_ADMIN_MAX_HOURS"])).total_seconds()
    stamp = current.timestamp()
    return stamp - seen > idle or stamp - started > longest or seen > stamp + 60


@bp.before_request
def _guard() -> ResponseReturnValue | None:
    remember_language()
    bearer: Account | None = g.get(BEARER)
    if request.method == "POST" and bearer is None:  # a Bearer token is never sent by the browser on its own
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get(CSRF)
        if not expected or not hmac.compare_digest(str(expected), sent):
            expired = gettext("The form had expired or did not come from this dashboard. Please try again.")
            abort(403, description=expired)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if bearer is not None:
        with services().sessions() as db:
            g.admin_viewer = Viewer(account=bearer, shops=tuple(shops(db, bearer.shop_ids)))
        return None
    account_id = session.get(ACCOUNT)
    current = now()
    back = url_for("admin.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if account_id is None:
        return redirect(back)
    if _expired(current):
        _end_session()
        flash(gettext("Your session has ended. Please sign in again."))
        return redirect(back)
    with services().sessions() as db:
        account = get_account(db, int(account_id))
        visible = tuple(shops(db, account.shop_ids)) if account else ()
    if account is None or not _still_valid(account):
        _end_session()
        flash(gettext("Your session has ended. Please sign in again."))
        return redirect(back)
    session[SEEN] = current.timestamp()
    g.admin_viewer = Viewer(account=account, shops=visible)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions["ordercare_admin_throttle"]
    return throttle


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("admin/login.html", username="", next=safe_next(""))
    username = request.form.get("username", "").strip()[:255]
    password = request.form.get("password", "")
    current = now()
    with services().sessions() as db:
        blocked = _throttle().blocked_until(db, username, current)
    if blocked is not None:
        minutes = max(1, ceil((blocked - current).total_seconds() / 60))
        error = ngettext(
            "Too many failed sign-ins for this name. Try again in %(num)d minute.",
            "Too many failed sign-ins for this name. Try again in %(num)d minutes.",
            minutes,
        )
        return render_template("admin/login.html", username=username, error=error, next=safe_next("")), 429
    try:
        with services().sessions() as db:
            account = authenticate(db, username, password) if username and password else None
    except AccountDisabled:
        error = gettext("This account is disabled. An owner of your shop can enable it again.")
        return render_template("admin/login.html", username=username, error=error, next=safe_next("")), 403
    with transaction(services().sessions) as db:
        if account is None:
            _throttle().failed(db, username, current)
        else:
            _throttle().succeeded(db, username, current)
    if account is None:
        error = gettext("That name and password do not match an account.")
        return render_template("admin/login.html", username=username, error=error, next=safe_next("")), 401
    begin_session(account, current)
    return redirect(safe_next(url_for("admin.today")))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    _end_session()
    flash(gettext("You are signed out."))
    return redirect(url_for("admin.login"))


@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
def _error_page(error: HTTPException) -> ResponseReturnValue:
    titles = {400: gettext("That did not work"), 403: gettext("Not allowed"), 404: gettext("Not found")}
    title = titles.get(error.code or 500, error.name)
    return render_template("admin/error.html", error=error, error_title=title), error.code or 500
