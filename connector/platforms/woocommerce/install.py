"""Connecting a WooCommerce shop through its key exchange (``/wc-auth/v1/authorize``), keys sealed at rest.

The merchant is sent to their own site with a signed ``user_id`` naming the shop id we will store them
under; WooCommerce POSTs the new keys to our callback, which checks that signature, seals the keys with
a fresh webhook secret in ``ShopRow.credentials`` and must answer exactly 200 (otherwise WooCommerce
deletes the keys). Webhooks are created afterwards with the client's ``ensure_webhooks``. Shops from the
config file (keys typed in by hand) need none of this.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config import normalise_site_url
from connector.crypto import SecretBox
from connector.model import Platform
from connector.store.tables import ShopRow

SALT = "ordercare-woocommerce-connect"
CONNECT_TTL = timedelta(hours=2)
APP_NAME = "ordercare"
SCOPE = "read_write"
_SITE_URL = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?(/[^\s?#]*)?$", re.IGNORECASE)


class ConnectError(ValueError):
    """A connect request or key callback we refuse; the message names the bad field."""


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    shop_id: str
    site_url: str  # normalised, with the trailing slash
    nonce: str
    expires_at: datetime


def check_site_url(url: str) -> str:
    url = (url or "").strip()
    if not _SITE_URL.match(url):
        raise ConnectError(f"url: expected the shop's address like https://winkel.example.nl, got {url[:80]!r}")
    return normalise_site_url(url)


def shop_id_for(site_url: str) -> str:
    """Our id for a connected site: its host name, e.g. ``winkel-example-nl``."""
    parts = urlsplit(site_url)
    raw = f"{parts.hostname or ''}{parts.path.rstrip('/')}"
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower().removeprefix("www.")).strip("-")
    return (slug or "woocommerce")[:63].rstrip("-")


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def connect_token(secret_key: str, shop_id: str, site_url: str, now: datetime, nonce: str | None = None) -> str:
    """The signed ``user_id`` WooCommerce echoes back: which shop, which site, until when, and a nonce."""
    payload = {
        "shop": shop_id,
        "url": normalise_site_url(site_url),
        "nonce": nonce or secrets.token_hex(8),
        "exp": int((now + CONNECT_TTL).timestamp()),
    }
    return str(_serializer(secret_key).dumps(payload))


def read_token(secret_key: str, token: Any, now: datetime, *, check_expiry: bool = True) -> ConnectRequest:
    if not isinstance(token, str) or not token:
        raise ConnectError("user_id: missing")
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature:
        raise ConnectError("user_id: not signed by this service") from None
    if not isinstance(data, dict) or not all(k in data for k in ("shop", "url", "nonce", "exp")):
        raise ConnectError("user_id: incomplete")
    expires_at = datetime.fromtimestamp(int(data["exp"]), tz=now.tzinfo)
    if check_expiry and now >= expires_at:
        raise ConnectError("user_id: the connect link has expired; start again")
    return ConnectRequest(str(data["shop"]), str(data["url"]), str(data["nonce"]), expires_at)


def authorize_url(site_url: str, *, token: str, return_url: str, callback_url: str, app_name: str = APP_NAME) -> str:
    """Where to send the merchant: their site's key-exchange page asking for read/write keys for us."""
    query = urlencode(
        {
            "app_name": app_name,
            "scope": SCOPE,
            "user_id": token,
            "return_url": return_url,
            "callback_url": callback_url,
        }
    )
    return f"{normalise_site_url(site_url)}wc-auth/v1/authorize?{query}"


def _keys(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ConnectError("body: expected a JSON object")
    key_id = body.get("key_id")
    if isinstance(key_id, bool) or not isinstance(key_id, int):
        raise ConnectError("key_id: expected a number")
    key, secret = body.get("consumer_key"), body.get("consumer_secret")
    if not isinstance(key, str) or not re.fullmatch(r"ck_[A-Za-z0-9]{8,128}", key):
        raise ConnectError("consumer_key: expected ck_...")
    if not isinstance(secret, str) or not re.fullmatch(r"cs_[A-Za-z0-9]{8,128}", secret):
        raise ConnectError("consumer_secret: expected cs_...")
    if body.get("key_permissions") != SCOPE:
        raise ConnectError(f"key_permissions: {SCOPE} needed, got {body.get('key_permissions')!r}")
    return {"key_id": key_id, "consumer_key": key, "consumer_secret": secret}


def accept_keys(session: Session, body: Any, *, secret_key: str, now: datetime) -> str:
    """Store the keys of a key-exchange callback; returns the shop id. Raises ``ConnectError``, storing nothing."""
    keys = _keys(body)
    request = read_token(secret_key, body.get("user_id"), now)
    row = session.get(ShopRow, request.shop_id)
    if row is not None and row.source != "installed":
        raise ConnectError(f"user_id: shop {request.shop_id!r} is set up in the config file")
    if row is not None and row.platform != Platform.WOOCOMMERCE:
        raise ConnectError(f"user_id: shop {request.shop_id!r} is not a WooCommerce shop")
    if row is not None and (row.settings or {}).get("connect_nonce") == request.nonce:
        raise ConnectError("user_id: this connect link was already used")
    other = session.scalars(
        select(ShopRow).where(ShopRow.platform == Platform.WOOCOMMERCE.value, ShopRow.key == request.site_url)
    ).first()
    if other is not None and other.id != request.shop_id:
        raise ConnectError(f"user_id: {request.site_url} is already connected as {other.id!r}")
    box = SecretBox(secret_key)
    previous = box.open(row.credentials) if row is not None and row.credentials else {}
    credentials = {
        **keys,
        "url": request.site_url,
        # keep the secret of a reconnected shop, so webhooks already created stay valid
        "webhook_secret": previous.get("webhook_secret") or secrets.token_hex(24),
    }
    if row is None:
        row = ShopRow(id=request.shop_id, created_at=now, settings={})
        session.add(row)
    row.platform = Platform.WOOCOMMERCE.value
    row.key = request.site_url
    row.name = row.name or urlsplit(request.site_url).hostname
    row.status = "active"
    row.source = "installed"
    row.credentials = box.seal(credentials)
    row.installed_at = now
    row.uninstalled_at = None
    row.settings = {**(row.settings or {}), "connect_nonce": request.nonce}
    session.flush()
    return request.shop_id
