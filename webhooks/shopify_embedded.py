"""The embedded app in the Shopify admin: ``GET /shopify/app`` and the dashboard inside the admin's iframe.

Shopify opens ``/shopify/app?shop=…&host=…&embedded=1&id_token=…`` in the admin; ``connector.platforms.shopify.
embedded.open_admin`` checks the session token, gets the shop its token and finds the staff member's account,
and this module signs that account in and sends it to the dashboard. An embedded session's cookie is
``SameSite=None; Secure`` (the admin frames ordercare from another site), its pages carry App Bridge and
``frame-ancestors https://<shop> https://admin.shopify.com``, and a dashboard request with
``Authorization: Bearer <session token>`` (App Bridge adds it to the page's own requests) is signed in by that
token alone, so a browser that blocks third-party cookies still works. For a sandbox or proxy,
``app.config["SHOPIFY_OAUTH_BASE_URL"]`` replaces ``https://{shop}``, as for the install flow.
"""

from __future__ import annotations

from typing import Any, cast

import requests
from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from werkzeug.wrappers import Response

from connector.admin.users import LoginThrottle
from connector.platforms.shopify import embedded, install
from connector.services import Services
from connector.store.db import transaction
from webhooks.admin.auth import BEARER, EMBEDDED, begin_session

bp = Blueprint("shopify_embedded", __name__)

FRAMED = "ordercare_embedded"  # ``g`` key: {"shop", "api_key"} of a request shown inside the Shopify admin
LANGUAGES = ("en", "nl")


class EmbeddedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, sent ``SameSite=None; Secure`` while it is an embedded session."""

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if _embedded_session() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if _embedded_session() else super().get_cookie_secure(app)


def _embedded_session() -> bool:
    return isinstance(session.get(EMBEDDED), dict)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)  # BlueprintSetupState.app is typed as the sansio App
    app.session_interface = EmbeddedSessionInterface()


def _services() -> Services:
    found: Services = current_app.extensions["ordercare"]
    return found


def _framed() -> dict[str, str] | None:
    """The shop and app of this request when it is shown inside the Shopify admin."""
    found = g.get(FRAMED)
    if isinstance(found, dict):
        return found
    if request.blueprint == "admin" and _embedded_session():
        return dict(session[EMBEDDED])
    return None


def _language() -> str:
    """The page language outside the dashboard: Shopify's ``locale`` parameter, else the browser's."""
    asked = str(request.args.get("locale", "")).split("-")[0].lower()
    return asked if asked in LANGUAGES else request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def _refused(error: embedded.Refused) -> ResponseReturnValue:
    """A plain page that says why, framable by the admin that asked (nothing was written)."""
    try:
        shop = install.shop_domain(request.args.get("shop")) if request.args.get("shop") else None
    except install.InstallError:
        shop = None
    g.setdefault(FRAMED, {"shop": shop or "", "api_key": ""})
    with force_locale(_language()):
        page = render_template(
            "admin/embedded_refused.html", reason=error.reason, detail=str(error), language=_language()
        )
    return page, error.status


def _open(token: str, shop: str | None) -> embedded.Visit:
    services = _services()
    with requests.Session() as http:
        visit = embedded.open_admin(
            services.sessions,
            services.settings,
            token,
            services.now(),
            http=http,
            oauth_base_url=current_app.config.get("SHOPIFY_OAUTH_BASE_URL"),
            shop=shop,
        )
    if visit.installed:
        embedded.register_webhooks(services, visit.shop_id)
    return visit


@bp.get("/shopify/app")
def entry() -> ResponseReturnValue:
    """Where the admin opens ordercare: sign the staff member in and show the dashboard."""
    try:
        visit = _open(str(request.args.get("id_token") or ""), request.args.get("shop") or None)
    except embedded.Refused as error:
        return _refused(error)
    services = _services()
    now = services.now()
    with transaction(services.sessions) as db:  # the account's latest sign-in, as the Accounts page shows it
        throttle: LoginThrottle = current_app.extensions["ordercare_admin_throttle"]
        throttle.succeeded(db, visit.account.username, now)
    begin_session(visit.account, now)
    session[EMBEDDED] = g.setdefault(FRAMED, {"shop": visit.shop_domain, "api_key": visit.api_key})
    return redirect(url_for("admin.today"))


@bp.before_app_request
def _bearer() -> ResponseReturnValue | None:
    """A dashboard request with ``Authorization: Bearer <session token>``: signed in by the token alone."""
    if request.blueprint != "admin" or request.endpoint == "admin.static":
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        visit = _open(header.removeprefix("Bearer ").strip(), None)
    except embedded.Refused as error:
        return _refused(error)
    setattr(g, BEARER, visit.account)
    g.setdefault(FRAMED, {"shop": visit.shop_domain, "api_key": visit.api_key})
    return None


@bp.app_context_processor
def _app_bridge() -> dict[str, Any]:
    def app_bridge_key() -> str:
        """The client id for App Bridge's meta tag on a page inside the Shopify admin ('' elsewhere)."""
        framed = _framed()
        return str(framed.get("api_key") or "") if framed else ""

    return {"app_bridge_key": app_bridge_key}


@bp.after_app_request
def _frame_ancestors(response: Response) -> Response:
    """Inside the Shopify admin: framed only by that shop's admin (the dashboard's ``frame-ancestors 'none'``
    and ``X-Frame-Options: DENY`` stay on every other request)."""
    framed = _framed()
    if framed is None:
        return response
    response.headers["Content-Security-Policy"] = embedded.content_security_policy(framed.get("shop") or None)
    response.headers.pop("X-Frame-Options", None)
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
