"""Connecting a WooCommerce shop: start the key exchange, receive the keys, then create our webhooks.

``GET /woocommerce/connect`` asks for the shop's address (or takes ``?url=``) and sends the merchant to
their site's ``/wc-auth/v1/authorize``; WooCommerce POSTs the keys to ``/woocommerce/connect/callback``
(answered exactly 200 when stored, 400 naming the bad field otherwise); the merchant returns to
``/woocommerce/connect/return``, where the order webhooks are created.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request

from connector.platforms.base import PlatformError
from connector.platforms.woocommerce.install import (
    ConnectError,
    accept_keys,
    authorize_url,
    check_site_url,
    connect_token,
    read_token,
    shop_id_for,
)
from connector.services import Services
from connector.store.db import transaction

log = logging.getLogger(__name__)
bp = Blueprint("woocommerce_connect", __name__, template_folder="templates")


def _html(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _finished(outcome: str, status: int = 200, **context: Any) -> Response:
    """The page at the end of connecting; ``woocommerce/connected.html`` words each ``outcome``."""
    return _html("woocommerce/connected.html", status, outcome=outcome, **context)


def _services() -> Services:
    services: Services = current_app.extensions["ordercare"]
    return services


def _public(path: str) -> str:
    return _services().settings.public_url.rstrip("/") + path


@bp.get("/woocommerce/connect")
def start() -> Response:
    services = _services()
    url = request.args.get("url", "")
    if not url:
        return _html("woocommerce/connect.html", value="")
    try:
        site_url = check_site_url(url)
    except ConnectError as exc:
        return _html("woocommerce/connect.html", 400, error=str(exc), value=url)
    shop_id = shop_id_for(site_url)
    token = connect_token(services.settings.secret_key, shop_id, site_url, services.now())
    target = authorize_url(
        site_url,
        token=token,
        return_url=_public("/woocommerce/connect/return"),
        callback_url=_public("/woocommerce/connect/callback"),
    )
    return redirect(target, code=302)  # type: ignore[return-value]


@bp.post("/woocommerce/connect/callback")
def callback() -> tuple[Response, int]:
    services = _services()
    body = request.get_json(silent=True, force=True)
    try:
        with transaction(services.sessions) as session:
            shop_id = accept_keys(session, body, secret_key=services.settings.secret_key, now=services.now())
    except ConnectError as exc:
        log.info("woocommerce key callback refused", extra={"reason": str(exc).split(":")[0]})
        return Response(str(exc), status=400, mimetype="text/plain"), 400
    services.shops.invalidate()
    log.info("woocommerce shop connected", extra={"shop": shop_id})
    return Response("ok", status=200, mimetype="text/plain"), 200


@bp.get("/woocommerce/connect/return")
def finished() -> Response:
    services = _services()
    if request.args.get("success") != "1":
        return _finished("declined")
    try:
        connect = read_token(
            services.settings.secret_key, request.args.get("user_id"), services.now(), check_expiry=False
        )
    except ConnectError as exc:
        return _finished("bad_link", 400, reason=str(exc))
    shop = services.shops.get(connect.shop_id)
    if shop is None or shop.source != "installed" or shop.key != connect.site_url:
        return _finished("no_keys", 400)
    from connector import platforms

    client = platforms.make_client(shop, services.settings, clock=services.now)
    try:
        changed = client.ensure_webhooks(_public("/webhooks/woocommerce"))
    except PlatformError as exc:
        return _finished("webhooks_pending", reason=exc.platform_message)
    finally:
        client.close()
    return _finished("connected", site=shop.key, changed=changed)
