"""ordercare embedded in the Shopify admin, without Flask: the session token, the shop, its token, the account.

Shopify opens the app URL (``/shopify/app``) in an iframe of the admin with ``shop``, ``host``, ``embedded=1`` and
``id_token``, the session token; afterwards App Bridge sends the same kind of token as ``Authorization: Bearer``
on the page's own requests. ``open_admin`` serves both: it checks the token every time
(``auth.verify_session_token``: HS256 with the app secret, ``aud``, ``dest``, ``iss``, ``exp``/``nbf``), finds the
shop, gets the shop an access token by token exchange when it has none that is still valid (Shopify managed
installation: the first opening after an install, or a reinstall, stores the shop as the install callback
does), and maps the token's ``sub`` (the Shopify user) to a dashboard account of that shop
(``connector.admin.users.shopify_account``). A refused token, a shop ordercare does not serve, or a disabled
account raise ``Refused`` before anything is written.
https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens
https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/token-exchange
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.admin.users import Account, AccountDisabled, AdminUserError, find_shopify_account, shopify_account
from connector.crypto import SecretBox
from connector.platforms.base import PlatformError
from connector.platforms.shopify import install
from connector.platforms.shopify.auth import SessionToken, SessionTokenError, verify_session_token
from connector.store.db import transaction
from connector.store.tables import ShopRow

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.services import Services

log = logging.getLogger(__name__)

ADMIN_ORIGIN = "https://admin.shopify.com"
# App Bridge v4 from Shopify's CDN, with the app's client id in a meta tag (shopify.dev/docs/api/app-bridge-library)
APP_BRIDGE_SCRIPT = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
_TOKEN_KEYS = ("access_token", "scope", "expires_at", "refresh_token", "refresh_token_expires_at")


class Refused(Exception):
    """An embedded request ordercare does not serve; nothing was written. ``reason``: ``token`` (the session
    token failed a check, or Shopify refused to exchange it), ``unknown_shop``, ``disabled`` (the account),
    ``unavailable`` (Shopify could not be reached for the token exchange). The message is safe to show."""

    STATUS = {"token": 401, "unknown_shop": 404, "disabled": 403, "unavailable": 503}

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = self.STATUS[reason]


@dataclass(frozen=True, slots=True)
class EmbeddedApp:
    """An app whose session tokens ordercare accepts: the public app (``shopify_app``, any shop it is installed
    on) or a shop's own Dev Dashboard app (``client_id``/``client_secret``, that one shop only)."""

    credentials: install.AppCredentials
    shop_domain: str | None = None  # an own-store app: the only shop it opens
    shop_id: str | None = None

    @property
    def installs(self) -> bool:
        """Whether opening it may store a shop (the public app, by token exchange)."""
        return self.shop_domain is None


@dataclass(frozen=True, slots=True)
class Visit:
    """A staff member who opened ordercare from the Shopify admin, signed in."""

    shop_id: str
    shop_domain: str
    api_key: str  # the app's client id, for App Bridge's meta tag
    account: Account
    token: SessionToken
    account_created: bool = False
    installed: bool = False  # the shop was stored (or stored again after an uninstall) by this visit
    exchanged: bool = False  # the shop got its access token by token exchange in this visit


def embedded_apps(settings: Settings) -> tuple[EmbeddedApp, ...]:
    """Every app whose session tokens this configuration accepts."""
    apps: list[EmbeddedApp] = []
    if settings.shopify_app is not None:
        app = settings.shopify_app
        apps.append(EmbeddedApp(install.AppCredentials(app.api_key, app.api_secret, app.previous_api_secret)))
    for shop in settings.shops:
        if shop.platform == "shopify" and shop.client_id and shop.client_secret and shop.shop_domain:
            credentials = install.AppCredentials(shop.client_id, shop.client_secret)
            apps.append(EmbeddedApp(credentials, shop.shop_domain.strip().lower(), shop.id))
    return tuple(apps)


def _unverified(token: str) -> Mapping[str, Any]:
    """The claims as written, only to choose the app whose secret then checks them."""
    try:
        claims = jwt.decode(token.removeprefix("Bearer "), options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _app_for(token: str, apps: tuple[EmbeddedApp, ...]) -> EmbeddedApp | None:
    claims = _unverified(token)
    audience = claims.get("aud")
    dest = str(claims.get("dest") or "").removeprefix("https://").lower()
    matching = [app for app in apps if app.credentials.api_key == audience]
    own = next((app for app in matching if app.shop_domain == dest), None)
    public = next((app for app in matching if app.installs), None)
    return own or public or next(iter(matching), None) or next(iter(apps), None)


def read_session_token(
    token: str, settings: Settings, now: datetime, *, shop: str | None = None
) -> tuple[SessionToken, EmbeddedApp]:
    """The checked session token and the app it belongs to; ``Refused("token")`` names the failed check."""
    apps = embedded_apps(settings)
    app = _app_for(token, apps)
    if app is None:
        raise Refused("token", "no Shopify app is configured (shopify_app, or a shop's client_id and client_secret)")
    try:
        checked = verify_session_token(token, app.credentials, now, shop=_shop_param(shop))
    except SessionTokenError as exc:
        raise Refused("token", str(exc)) from None
    if not checked.user_id:
        raise Refused("token", "sub: missing (not a staff member of the shop)")
    return checked, app


def _shop_param(shop: str | None) -> str | None:
    if shop is None:
        return None
    try:
        return install.shop_domain(shop)
    except install.InstallError as exc:
        raise Refused("token", str(exc)) from None


def _shop_row(session: Session, domain: str, *, lock: bool = False) -> ShopRow | None:
    query = select(ShopRow).where(ShopRow.platform == "shopify", ShopRow.key == domain)
    return session.scalars(query.with_for_update() if lock else query).first()


def has_valid_token(credentials: Mapping[str, Any], now: datetime) -> bool:
    """An access token that does not expire, or expires more than the renewal margin after ``now``."""
    if not credentials.get("access_token"):
        return False
    expires = credentials.get("expires_at")
    if not expires:
        return True
    return now < datetime.fromisoformat(str(expires)) - timedelta(seconds=install.REFRESH_MARGIN_SECONDS)


def _needs_token(row: ShopRow | None, box: SecretBox, now: datetime) -> bool:
    """A shop of the public app that must get a token by token exchange: not stored, uninstalled, or installed
    without a valid token. Shops in the config file get theirs from it (or the client credentials grant)."""
    if row is None or row.status == "uninstalled":
        return True
    if row.source != "installed":
        return False
    return not has_valid_token(box.open(row.credentials) if row.credentials else {}, now)


def _exchange(http: requests.Session, base_url: str, app: EmbeddedApp, token: str, now: datetime) -> install.TokenSet:
    try:
        return install.exchange_session_token(http, base_url, app.credentials, token.removeprefix("Bearer "), now)
    except install.InstallError as exc:
        log.warning("token exchange refused", extra={"error": str(exc)})
        if exc.retryable:
            raise Refused("unavailable", f"Shopify could not be reached for the token exchange: {exc}") from None
        raise Refused("token", f"Shopify refused the token exchange: {exc}") from None


def _store_token(
    sessions: sessionmaker[Session],
    box: SecretBox,
    checked: SessionToken,
    app: EmbeddedApp,
    token: str,
    now: datetime,
    *,
    http: requests.Session,
    base_url: str,
    api_base_url: str | None,
) -> tuple[bool, bool]:
    """Token exchange under the shop's row lock (another request may have stored a token meanwhile: then
    nothing is asked). Returns (exchanged, installed)."""
    with transaction(sessions) as session:
        row = _shop_row(session, checked.shop, lock=True)
        if not _needs_token(row, box, now):
            return False, False
        tokens = _exchange(http, base_url, app, token, now)
        if row is None or row.status == "uninstalled":
            install.store_installation(session, checked.shop, tokens, box, now, api_base_url)
            log.info("shop installed from the Shopify admin", extra={"shop": checked.shop})
            return True, True
        current = box.open(row.credentials) if row.credentials else {}
        kept = {key: value for key, value in current.items() if key not in _TOKEN_KEYS}
        row.credentials = box.seal({**kept, **tokens.credentials()})
        return True, False


def open_admin(
    sessions: sessionmaker[Session],
    settings: Settings,
    token: str,
    now: datetime,
    *,
    http: requests.Session,
    oauth_base_url: str | None = None,
    shop: str | None = None,
) -> Visit:
    """Sign a staff member in from the Shopify admin by a session token alone (the entry's ``id_token`` or App
    Bridge's Bearer token), checked each time. ``oauth_base_url``: ``https://{shop}`` replaced (a sandbox or
    proxy, e.g. ``http://127.0.0.1:8701/shops/{shop}``), then stored as a new shop's API base URL. ``shop``: the
    request's ``shop`` parameter, which must be the token's ``dest``."""
    checked, app = read_session_token(token, settings, now, shop=shop)
    user_id = str(checked.user_id)
    box = SecretBox(settings.secret_key)
    with sessions() as session:
        row = _shop_row(session, checked.shop)
        if not app.installs and (row is None or row.id != app.shop_id or checked.shop != app.shop_domain):
            raise Refused("unknown_shop", f"shop: {checked.shop} is not the shop of this app in the configuration")
        if row is not None and row.status != "uninstalled":
            existing = find_shopify_account(session, row.id, user_id)
            if existing is not None and existing.disabled:
                raise Refused("disabled", "this account is disabled; an owner of the shop can enable it again")
        needs = app.installs and _needs_token(row, box, now)
    exchanged = installed = False
    if needs:
        template = oauth_base_url or "https://{shop}"
        exchanged, installed = _store_token(
            sessions,
            box,
            checked,
            app,
            token,
            now,
            http=http,
            base_url=template.format(shop=checked.shop),
            api_base_url=template.format(shop=checked.shop) if oauth_base_url else None,
        )
    try:
        with transaction(sessions) as session:
            row = _shop_row(session, checked.shop)
            if row is None:
                raise Refused("unknown_shop", f"shop: ordercare does not serve {checked.shop}")
            account, created = shopify_account(session, row.id, user_id, now)
            shop_id = row.id
    except AccountDisabled:
        raise Refused("disabled", "this account is disabled; an owner of the shop can enable it again") from None
    except AdminUserError as exc:
        raise Refused("token", str(exc)) from None
    if created:
        log.info("dashboard account made for a Shopify user", extra={"shop": shop_id, "account": account.username})
    return Visit(
        shop_id=shop_id,
        shop_domain=checked.shop,
        api_key=app.credentials.api_key,
        account=account,
        token=checked,
        account_created=created,
        installed=installed,
        exchanged=exchanged,
    )


def register_webhooks(services: Services, shop_id: str) -> list[str]:
    """After a shop was stored from the admin: its webhook subscriptions, as the install callback makes them
    (the reconcile job checks them again if this fails)."""
    from connector.platforms.shopify import make_client

    services.shops.invalidate()
    shop = services.shops.get(shop_id)
    if shop is None:
        return []
    client = make_client(shop, services.settings, clock=services.now)
    try:
        return client.ensure_webhooks(services.settings.public_url.rstrip("/") + "/webhooks/shopify")
    except PlatformError as exc:
        log.warning("webhook registration for %s failed: %s", shop_id, exc)
        return []
    finally:
        client.close()


def content_security_policy(shop_domain: str | None) -> str:
    """The dashboard's policy for a page shown inside the Shopify admin: framed only by that shop's admin
    (``frame-ancestors https://<shop>.myshopify.com https://admin.shopify.com``, shopify.dev "Set up iframe
    protection"), with App Bridge's script from Shopify's CDN. ``shop_domain`` must be a checked
    ``*.myshopify.com`` domain (None: the admin alone)."""
    ancestors = " ".join(a for a in (f"https://{shop_domain}" if shop_domain else "", ADMIN_ORIGIN) if a)
    return (
        f"default-src 'none'; script-src {APP_BRIDGE_SCRIPT}; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; form-action 'self'; frame-ancestors {ancestors}; base-uri 'none'"
    )
