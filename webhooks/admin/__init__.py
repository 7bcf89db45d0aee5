"""The merchant's dashboard at ``/admin``: today's work, incidents with their timeline, and patterns.

One Blueprint, ``bp``; the views live in small modules (``auth``, ``today``, ``incidents``, ``patterns``,
``orders``, ``shops``) and read the store through ``queries`` and ``connector.admin.insights``, always filtered on the
signed-in account's shops.
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="../templates",
    static_folder="../static/admin",
    static_url_path="/static",
)

DEFAULTS = {
    "ORDERCARE_ADMIN_IDLE_MINUTES": 8 * 60,  # a session ends after this long without a request
    "ORDERCARE_ADMIN_MAX_HOURS": 24,  # and at the latest this long after signing in
    "ORDERCARE_ADMIN_LOGIN_FAILURES": 5,  # failed sign-ins per username before a pause
    "ORDERCARE_ADMIN_LOGIN_WINDOW_MINUTES": 15,
    "ORDERCARE_ADMIN_PAGE_SIZE": 50,
}


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    from datetime import timedelta

    from connector.admin.users import LoginThrottle
    from webhooks.admin import i18n

    app = state.app
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    services = app.extensions.get("ordercare")
    if not app.secret_key and services is not None:
        app.secret_key = services.settings.secret_key
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    i18n.init(app)
    app.extensions["ordercare_admin_throttle"] = LoginThrottle(
        max_failures=int(app.config["ORDERCARE_ADMIN_LOGIN_FAILURES"]),
        window=timedelta(minutes=float(app.config["ORDERCARE_ADMIN_LOGIN_WINDOW_MINUTES"])),
    )


from webhooks.admin import accounts, auth, incidents, messages, orders, patterns, replacements, search, shops, today  # noqa: E402  (routes register on import)

__all__ = [
    "accounts", "auth", "bp", "incidents", "messages", "orders", "patterns", "replacements", "search", "shops", "today",
]  # fmt: skip
