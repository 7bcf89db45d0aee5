"""Connecting a WooCommerce shop: start the key exchange, receive the keys, then create our webhooks.

``GET /woocommerce/connect`` asks for the shop's address (or takes ``?url=``) and sends the merchant to
their site's ``/wc-auth/v1/authorize``; WooCommerce POSTs the keys to ``/woocommerce/connect/callback``
(answered exactly 200 when stored, 400 naming the bad field otherwise); the merchant returns to
``/woocommerce/connect/return``, where the order webhooks are created.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, redirect, request
from markupsafe import escape

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
bp = Blueprint("woocommerce_connect", __name__)

_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Connect WooCommerce</title></head>
<body><h1>Connect your WooCommerce shop</h1>{error}
<form method="get" action="{action}"><label for="url">Your shop's address</label>
<input id="url" name="url" type="url" required placeholder="https://winkel.example.nl" value="{value}">
<button type="submit">Connect</button></form></body></html>"""


def _page(title: str, text: str, status: int = 200) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    )
    return Response(body, status=status, mimetype="text/html")


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
        return Response(_FORM.format(error="", action="/woocommerce/connect", value=""), mimetype="text/html")
    try:
        site_url = check_site_url(url)
    except ConnectError as exc:
        error = f'<p role="alert">{escape(str(exc))}</p>'
        form = _FORM.format(error=error, action="/woocommerce/connect", value=escape(url))
        return Response(form, status=400, mimetype="text/html")
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
        return _page("Not connected", "The shop did not grant access. You can start again at any time.")
    try:
        connect = read_token(
            services.settings.secret_key, request.args.get("user_id"), services.now(), check_expiry=False
        )
    except ConnectError as exc:
        return _page("Not connected", str(exc), 400)
    shop = services.shops.get(connect.shop_id)
    if shop is None or shop.source != "installed" or shop.key != connect.site_url:
        return _page("Not connected", "The keys for this shop did not arrive. Please start again.", 400)
    from connector import platforms

    client = platforms.make_client(shop, services.settings, clock=services.now)
    try:
        changed = client.ensure_webhooks(_public("/webhooks/woocommerce"))
    except PlatformError as exc:
        return _page("Connected, webhooks pending", f"The webhooks could not be created yet: {exc.platform_message}")
    finally:
        client.close()
    summary = "; ".join(changed) if changed else "webhooks were already in place"
    return _page("Connected", f"ordercare now watches the orders of {shop.key} ({summary}).")
