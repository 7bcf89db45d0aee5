"""Installing ordercare on a Shopify shop and the token grants, without Flask.

Checks for the install and callback requests (query HMAC, timestamp window, ``*.myshopify.com`` shop,
``state`` nonce), the code exchange for an expiring offline token (``expiring=1``), its refresh, the client
credentials grant (a Dev Dashboard app on its own store), token exchange (embedded apps), and storing the
shop with its credentials sealed by ``SecretBox``. The routes in ``webhooks/shopify_install.py`` are a thin
shell over these functions; ``auth`` keeps the tokens current.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from shopify.utils.shop_url import sanitize_shop_domain
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.crypto import SecretBox
from connector.store.tables import ShopRow

TIMESTAMP_WINDOW_SECONDS = 300  # how far an install/callback timestamp may be from our clock
REFRESH_MARGIN_SECONDS = 300  # renew an expiring access token (refresh or client credentials) this long before expiry
_HTTP_TIMEOUT = (3.05, 15.0)


class InstallError(ValueError):
    """An install or callback request we refuse, or a token request Shopify refused; the message says why
    (safe to show: it never holds a token or a secret). ``retryable``: the token endpoint could not be reached
    or failed (network, 5xx), so the same request may succeed later."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class AppCredentials:
    api_key: str
    api_secret: str
    previous_api_secret: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_secret, self.previous_api_secret) if s)


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None

    def credentials(self) -> dict[str, Any]:
        data: dict[str, Any] = {"access_token": self.access_token, "scope": self.scope}
        if self.expires_at is not None:
            data["expires_at"] = self.expires_at.isoformat()
        if self.refresh_token:
            data["refresh_token"] = self.refresh_token
        if self.refresh_token_expires_at is not None:
            data["refresh_token_expires_at"] = self.refresh_token_expires_at.isoformat()
        return data


# --- request checks --------------------------------------------------------------------------------


def _encoded_pairs(params: Mapping[str, Any]) -> str:
    """Shopify's message for the query HMAC: sorted ``k=v`` pairs without ``hmac``, joined by ``&``."""
    pairs = []
    for key, value in params.items():
        if key == "hmac":
            continue
        if key.endswith("[]"):
            key = key[:-2]
            value = json.dumps([str(v) for v in (value if isinstance(value, list | tuple) else [value])])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        value = str(value).replace("%", "%25")
        pairs.append(f"{key}={value}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Hex HMAC-SHA256 of the query parameters, as Shopify signs install and callback URLs."""
    return hmac.new(secret.encode(), _encoded_pairs(params).encode(), hashlib.sha256).hexdigest()


def verify_query(params: Mapping[str, Any], app: AppCredentials) -> None:
    given = str(params.get("hmac") or "")
    if not given:
        raise InstallError("hmac: missing")
    if not any(hmac.compare_digest(query_hmac(params, s).encode(), given.encode()) for s in app.secrets):
        raise InstallError("hmac: does not match the request")


def check_timestamp(params: Mapping[str, Any], now: datetime, window_seconds: int = TIMESTAMP_WINDOW_SECONDS) -> None:
    raw = str(params.get("timestamp") or "")
    if not raw.isdigit():
        raise InstallError("timestamp: missing or not a number")
    age = now.timestamp() - int(raw)
    if abs(age) > window_seconds:
        raise InstallError(f"timestamp: outside the {window_seconds} s window (replayed or stale request)")


def shop_domain(value: Any) -> str:
    """The shop parameter, accepted only as ``<name>.myshopify.com``."""
    raw = str(value or "").strip().lower()
    if not raw.endswith(".myshopify.com") or sanitize_shop_domain(raw) != raw:
        raise InstallError(f"shop: {str(value)[:100]!r} is not a <name>.myshopify.com domain")
    return raw


def check_request(params: Mapping[str, Any], app: AppCredentials, now: datetime) -> str:
    """HMAC, timestamp and shop of an install or callback request; returns the shop domain."""
    verify_query(params, app)
    check_timestamp(params, now)
    return shop_domain(params.get("shop"))


def new_nonce() -> str:
    return secrets.token_hex(32)


def check_state(params: Mapping[str, Any], expected: str | None) -> None:
    given = str(params.get("state") or "")
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise InstallError("state: does not match the nonce of this browser session")


def authorize_url(base_url: str, app: AppCredentials, scopes: list[str], redirect_uri: str, state: str) -> str:
    """Where the merchant approves the app; no ``grant_options[]`` so the token is an offline one."""
    query = urlencode(
        {"client_id": app.api_key, "scope": ",".join(scopes), "redirect_uri": redirect_uri, "state": state}
    )
    return f"{base_url.rstrip('/')}/admin/oauth/authorize?{query}"


# --- tokens ------------------------------------------------------------------------------------------


def _token_set(body: Any, now: datetime) -> TokenSet:
    if not isinstance(body, dict) or not body.get("access_token"):
        raise InstallError("access token response: no access_token")
    expires_in = body.get("expires_in")
    refresh_in = body.get("refresh_token_expires_in")
    return TokenSet(
        access_token=str(body["access_token"]),
        scope=str(body.get("scope") or ""),
        expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
        refresh_token_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
    )


def _refusal(response: requests.Response) -> str:
    """Shopify's ``error`` / ``error_description`` of a refused token request (OAuth error body), if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    words = [str(body[k])[:200] for k in ("error", "error_description") if isinstance(body.get(k), str)]
    return f" ({': '.join(words)})" if words else ""


def _post_token(http: requests.Session, base_url: str, data: dict[str, str], now: datetime) -> TokenSet:
    """POST ``/admin/oauth/access_token`` form-encoded. The error says what Shopify answered, never what was sent."""
    url = f"{base_url.rstrip('/')}/admin/oauth/access_token"
    try:
        response = http.post(url, data=data, headers={"Accept": "application/json"}, timeout=_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise InstallError(f"access token request failed: {type(exc).__name__}", retryable=True) from None
    status = response.status_code
    if status != 200:
        message = f"access token request refused: {status}{_refusal(response)}"
        raise InstallError(message, status=status, retryable=status >= 500 or status == 429)
    try:
        return _token_set(response.json(), now)
    except ValueError:
        raise InstallError("access token response is not JSON", status=status, retryable=True) from None


def exchange_code(http: requests.Session, base_url: str, app: AppCredentials, code: str, now: datetime) -> TokenSet:
    """Code -> expiring offline token (``expiring=1``) with its refresh token."""
    data = {"client_id": app.api_key, "client_secret": app.api_secret, "code": code, "expiring": "1"}
    return _post_token(http, base_url, data, now)


def refresh_access_token(
    http: requests.Session, base_url: str, app: AppCredentials, refresh_token: str, now: datetime
) -> TokenSet:
    data = {
        "client_id": app.api_key,
        "client_secret": app.api_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return _post_token(http, base_url, data, now)


def client_credentials_token(http: requests.Session, base_url: str, app: AppCredentials, now: datetime) -> TokenSet:
    """The client credentials grant of a Dev Dashboard app on its own organisation's store: client id and
    secret -> an access token that expires (``expires_in``, about 24 h) and has no refresh token; ask again.
    https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant"""
    data = {"grant_type": "client_credentials", "client_id": app.api_key, "client_secret": app.api_secret}
    return _post_token(http, base_url, data, now)


TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a grant name)
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105


def exchange_session_token(
    http: requests.Session, base_url: str, app: AppCredentials, session_token: str, now: datetime
) -> TokenSet:
    """Token exchange of an embedded app: a verified session token (``auth.verify_session_token``) -> an
    expiring offline token with its refresh token. Shopify answers 400 ``invalid_subject_token`` for a
    session token it does not accept.
    https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/token-exchange"""
    data = {
        "client_id": app.api_key,
        "client_secret": app.api_secret,
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": session_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": OFFLINE_TOKEN_TYPE,
        "expiring": "1",
    }
    return _post_token(http, base_url, data, now)


# --- storing the shop --------------------------------------------------------------------------------

_SHOP_ID = re.compile(r"[^a-z0-9_-]+")


def shop_id_for(domain: str) -> str:
    return _SHOP_ID.sub("-", domain.removesuffix(".myshopify.com"))[:63].strip("-") or "shop"


def store_installation(
    session: Session,
    domain: str,
    tokens: TokenSet,
    box: SecretBox,
    now: datetime,
    api_base_url: str | None = None,
) -> ShopRow:
    """Create or re-activate the shop row with its sealed credentials (``source = installed``)."""
    row = session.scalars(select(ShopRow).where(ShopRow.platform == "shopify", ShopRow.key == domain)).first()
    if row is None:
        shop_id = shop_id_for(domain)
        if session.get(ShopRow, shop_id) is not None:
            shop_id = f"{shop_id[:54]}-{secrets.token_hex(4)}"
        row = ShopRow(id=shop_id, platform="shopify", key=domain, name=domain, created_at=now, settings={})
        session.add(row)
    credentials = tokens.credentials()
    if api_base_url:
        credentials["api_base_url"] = api_base_url
    if row.source != "config":
        row.source = "installed"
        row.credentials = box.seal(credentials)
    row.status = "active"
    row.installed_at = now
    row.uninstalled_at = None
    session.flush()
    return row
