"""Shopify app install routes: ``GET /shopify/install`` and ``GET /shopify/callback`` (OAuth code grant).

The checks and token handling live in ``connector.platforms.shopify.install``; this module turns them
into redirects and answers. The ``state`` nonce travels in a cookie signed with ``secret_key``. For a
sandbox or proxy, ``app.config["SHOPIFY_OAUTH_BASE_URL"]`` (e.g. ``http://127.0.0.1:8701/shops/{shop}``)
replaces ``https://{shop}`` and is stored as the installed shop's API base URL.
"""

from __future__ import annotations

import logging

import requests
from flask import Blueprint, Response, current_app, make_response, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from connector.crypto import SecretBox
from connector.platforms.base import PlatformError
from connector.platforms.shopify import install, make_client
from connector.services import Services
from connector.store.db import transaction

log = logging.getLogger(__name__)

bp = Blueprint("shopify_install", __name__)

STATE_COOKIE = "ordercare_shopify_state"
STATE_MAX_AGE_SECONDS = 600
NO_APP = ("No Shopify app is configured (shopify_app in the configuration).", 404)


def _configured() -> tuple[Services, install.AppCredentials | None]:
    """The services and the Shopify app the install flow is for (None when no app is configured)."""
    services: Services = current_app.extensions["ordercare"]
    app = services.settings.shopify_app
    if app is None:
        return services, None
    return services, install.AppCredentials(app.api_key, app.api_secret, app.previous_api_secret)


def _serializer(services: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(services.settings.secret_key, salt="shopify-oauth-state")


def _base_url(shop: str) -> str:
    template = current_app.config.get("SHOPIFY_OAUTH_BASE_URL") or "https://{shop}"
    return str(template).format(shop=shop)


def _refuse(error: install.InstallError) -> tuple[str, int]:
    status = 401 if str(error).startswith("hmac") else 400
    return f"Installation refused: {error}", status


def _callback_url(services: Services) -> str:
    return services.settings.public_url.rstrip("/") + "/shopify/callback"


@bp.get("/shopify/install")
def start() -> Response | tuple[str, int]:
    services, app = _configured()
    if app is None:
        return NO_APP
    try:
        shop = install.check_request(request.args, app, services.now())
    except install.InstallError as exc:
        return _refuse(exc)
    nonce = install.new_nonce()
    scopes = list(services.settings.shopify_app.scopes) if services.settings.shopify_app else []
    url = install.authorize_url(_base_url(shop), app, scopes, _callback_url(services), nonce)
    response = make_response(redirect(url, code=302))
    response.set_cookie(
        STATE_COOKIE,
        _serializer(services).dumps({"nonce": nonce, "shop": shop}),
        max_age=STATE_MAX_AGE_SECONDS,
        httponly=True,
        secure=services.settings.public_url.startswith("https://"),
        samesite="Lax",
    )
    return response


@bp.get("/shopify/callback")
def callback() -> Response | tuple[str, int]:
    services, app = _configured()
    if app is None:
        return NO_APP
    now = services.now()
    try:
        shop = install.check_request(request.args, app, now)
        try:
            saved = _serializer(services).loads(request.cookies.get(STATE_COOKIE, ""), max_age=STATE_MAX_AGE_SECONDS)
        except BadSignature:
            saved = {}
        if saved.get("shop") != shop:
            raise install.InstallError("state: this browser did not start an install for this shop")
        install.check_state(request.args, saved.get("nonce"))
        base_url = _base_url(shop)
        with requests.Session() as http:
            tokens = install.exchange_code(http, base_url, app, str(request.args.get("code") or ""), now)
    except install.InstallError as exc:
        return _refuse(exc)
    override = base_url if current_app.config.get("SHOPIFY_OAUTH_BASE_URL") else None
    with transaction(services.sessions) as session:
        row = install.store_installation(session, shop, tokens, SecretBox(services.settings.secret_key), now, override)
        shop_id = row.id
    services.shops.invalidate()
    installed = services.shops.get(shop_id)
    created: list[str] = []
    if installed is not None:
        client = make_client(installed, services.settings, clock=services.now)
        try:
            created = client.ensure_webhooks(services.settings.public_url.rstrip("/") + "/webhooks/shopify")
        except PlatformError as exc:  # the reconcile job checks the subscriptions again
            log.warning("webhook registration for %s failed: %s", shop_id, exc)
        finally:
            client.close()
    log.info("shop %s installed; %d webhook subscriptions created", shop_id, len(created))
    response = make_response(f"ordercare is installed on {shop}. You can close this page.", 200)
    response.delete_cookie(STATE_COOKIE)
    return response
