"""Shopify access tokens as shared state, and the session tokens of the embedded admin.

A client asks ``AccessTokens`` for the token on every call: it is read from the store each time (the shop's
row, sealed; a reinstall or another worker's refresh is seen at once), renewed shortly before it expires
(client credentials grant for a Dev Dashboard app on its own store, ``grant_type=refresh_token`` for an
expiring offline token) and once after a 401. Refresh tokens rotate, so a renewal runs under the row lock
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` write transaction serialises) and reads
the row again first: when another process already renewed, its token is used. A renewal that fails is a
``PlatformError`` for that shop alone, with no token or secret in its message.

``verify_session_token`` checks an App Bridge session token (HS256 JWT signed with the app secret) with
PyJWT; ``exp`` and ``nbf`` are compared with the ``now`` it is given, since only the service clock reads the time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import jwt
import requests
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock
from connector.crypto import SecretBox
from connector.platforms.base import PermanentError, RetryableError
from connector.platforms.shopify import install
from connector.store.db import make_engine, session_factory, transaction
from connector.store.tables import ShopRow

if TYPE_CHECKING:
    from connector.config import Settings
    from connector.shops import Shop

log = logging.getLogger(__name__)

RENEW_MARGIN_SECONDS = install.REFRESH_MARGIN_SECONDS  # renew this long before ``expires_at``
RENEW_RETRY_SECONDS = 60.0  # a renewal that could not reach Shopify is tried again after this long
SESSION_TOKEN_LEEWAY_SECONDS = 10  # clock skew allowed on exp/nbf (ShopifyAPI's session_token uses 10 s)
_TOKEN_KEYS = ("access_token", "scope", "expires_at", "refresh_token", "refresh_token_expires_at")

Credentials = dict[str, Any]
Decide = Callable[[Credentials], Credentials | None]


class TokenStore(Protocol):
    """Where one shop's current credentials live."""

    def load(self) -> Credentials:
        """The credentials as stored now (a fresh read, never a copy kept from earlier)."""
        ...

    def renew(self, decide: Decide) -> Credentials:
        """Under the shop's lock: re-read, let ``decide`` return new credentials (or None to keep the current
        ones), store them, and return what is current afterwards."""
        ...


class MemoryTokens:
    """Credentials held by one process (a legacy custom app's static token, tests); ``on_save`` sees each renewal."""

    def __init__(self, credentials: Mapping[str, Any], on_save: Callable[[Credentials], None] | None = None) -> None:
        self._credentials: Credentials = dict(credentials)
        self._on_save = on_save
        self._lock = threading.Lock()

    def load(self) -> Credentials:
        with self._lock:
            return dict(self._credentials)

    def renew(self, decide: Decide) -> Credentials:
        with self._lock:
            new = decide(dict(self._credentials))
            if new is None:
                return dict(self._credentials)
            self._credentials = dict(new)
        if self._on_save is not None:
            self._on_save(dict(new))
        return dict(new)


class StoredTokens:
    """One shop's credentials in ``shops.credentials``, sealed with ``SecretBox``, shared by every process."""

    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, shop_id: str) -> None:
        self.sessions = sessions
        self.box = box
        self.shop_id = shop_id

    def _open(self, row: ShopRow | None) -> Credentials:
        return dict(self.box.open(row.credentials)) if row is not None and row.credentials else {}

    def load(self) -> Credentials:
        with self.sessions() as session:
            return self._open(session.get(ShopRow, self.shop_id))

    def renew(self, decide: Decide) -> Credentials:
        with transaction(self.sessions) as session:
            # FOR UPDATE: a second process waits here until the first has stored its renewed pair
            row = session.get(ShopRow, self.shop_id, with_for_update=True)
            if row is None:
                raise PermanentError(f"shop {self.shop_id!r} is not stored")
            new = decide(self._open(row))
            if new is None:
                return self._open(row)
            row.credentials = self.box.seal(new)
            return new


def own_app(shop: Shop, settings: Settings) -> install.AppCredentials | None:
    """The Dev Dashboard app of a config shop that gets its token by the client credentials grant."""
    if shop.source != "config":
        return None
    config = next((s for s in settings.shops if s.id == shop.id), None)
    if config is None or not config.client_id or not config.client_secret:
        return None
    return install.AppCredentials(config.client_id, config.client_secret)


def shop_token_store(
    shop: Shop, settings: Settings, *, own_app: install.AppCredentials | None
) -> tuple[TokenStore | None, Callable[[], None] | None]:
    """Where a shop's token lives: its row for installed shops and client-credentials shops (None: a legacy
    custom app's static token from the config file), and what to call when the client closes."""
    if shop.source != "installed" and own_app is None:
        return None, None
    if shop.webhook_keys is not None:  # read through a ShopDirectory: share its sessions and SecretBox
        directory = shop.webhook_keys.directory
        return StoredTokens(directory.sessions, directory.box, shop.id), None
    engine = make_engine(settings.database_url)
    return StoredTokens(session_factory(engine), SecretBox(settings.secret_key), shop.id), engine.dispose


def redact(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` with every known secret replaced, for messages that may be logged or shown."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return text


class AccessTokens:
    """The access token a ``ShopifyClient`` sends for one shop, and how a new one is obtained.

    ``own_app``: a Dev Dashboard app on its own store (client credentials grant). ``app``: the app an
    installed shop's expiring offline token is refreshed with. Neither: a static token (legacy custom app)
    that is only ever reloaded."""

    def __init__(
        self,
        store: TokenStore,
        *,
        shop_id: str,
        base_url: str,
        http: requests.Session,
        clock: Clock,
        app: install.AppCredentials | None = None,
        own_app: install.AppCredentials | None = None,
        margin_seconds: float = RENEW_MARGIN_SECONDS,
    ) -> None:
        self.store = store
        self.shop_id = shop_id
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.clock = clock
        self.app = app
        self.own_app = own_app
        self.margin = timedelta(seconds=margin_seconds)

    def renewable(self, credentials: Mapping[str, Any]) -> bool:
        return self.own_app is not None or (self.app is not None and bool(credentials.get("refresh_token")))

    def due(self, credentials: Mapping[str, Any]) -> bool:
        """Whether these credentials need a new token before the next call."""
        if not self.renewable(credentials):
            return False
        if not credentials.get("access_token"):
            return True
        expires = credentials.get("expires_at")
        if not expires:
            return False
        return self.clock() >= datetime.fromisoformat(str(expires)) - self.margin

    def current(self) -> str:
        """The token to send now: the stored one, renewed first when it is about to expire."""
        credentials = self.store.load()
        if self.due(credentials):
            credentials = self._renew(credentials.get("access_token"), after_refusal=False)
        token = credentials.get("access_token")
        if not token:
            raise PermanentError(f"shop {self.shop_id!r} has no access token (not installed, or uninstalled)")
        return str(token)

    def refused(self, used: str) -> str | None:
        """After Shopify answered 401 to ``used``: the token to try once more (a newer stored one, e.g. after a
        reinstall or another worker's renewal, or a renewed one), or None when there is nothing new."""
        credentials = self.store.load()
        token = credentials.get("access_token")
        if token and token != used and not self.due(credentials):
            return str(token)
        if not self.renewable(credentials):
            return None
        fresh = self._renew(used, after_refusal=True).get("access_token")
        return str(fresh) if fresh and fresh != used else None

    def _renew(self, stale: str | None, *, after_refusal: bool) -> Credentials:
        def decide(current: Credentials) -> Credentials | None:
            token = current.get("access_token")
            if token and not self.due(current) and not (after_refusal and token == stale):
                return None  # another process renewed while we waited for the lock: use its token
            tokens = self._obtain(current)
            kept = {k: v for k, v in current.items() if k not in _TOKEN_KEYS}
            return {**kept, **tokens.credentials()}

        return self.store.renew(decide)

    def _obtain(self, current: Mapping[str, Any]) -> install.TokenSet:
        now = self.clock()
        refresh = current.get("refresh_token")
        if self.own_app is not None:
            grant, app = "client credentials", self.own_app
        elif self.app is not None and refresh:
            grant, app = "refresh", self.app
        else:
            raise PermanentError(f"shop {self.shop_id!r} has no access token (not installed, or uninstalled)")
        try:
            if self.own_app is not None:
                tokens = install.client_credentials_token(self.http, self.base_url, app, now)
            else:
                tokens = install.refresh_access_token(self.http, self.base_url, app, str(refresh), now)
        except install.InstallError as exc:
            secrets = (app.api_secret, str(refresh or ""), str(current.get("access_token") or ""))
            message = redact(f"shop {self.shop_id!r}: Shopify access token ({grant}) not renewed: {exc}", secrets)
            log.warning("access token not renewed", extra={"shop": self.shop_id, "grant": grant, "error": message})
            if exc.retryable:
                raise RetryableError(message, retry_after=RENEW_RETRY_SECONDS) from None
            raise PermanentError(message) from None
        log.info("access token renewed", extra={"shop": self.shop_id, "grant": grant})
        return tokens


# --- session tokens (embedded admin) -------------------------------------------------------------------


class SessionTokenError(ValueError):
    """A session token we refuse; the message names the failed check (safe to show)."""


@dataclass(frozen=True, slots=True)
class SessionToken:
    shop: str  # the ``<name>.myshopify.com`` the token was issued for (``dest``)
    user_id: str | None  # ``sub``: the staff member in the admin
    session_id: str | None  # ``sid``
    expires_at: datetime
    claims: Mapping[str, Any] = field(repr=False)


# PyJWT checks the structure, the algorithm, the signature and the audience; the time claims are checked here
# against the ``now`` given (PyJWT would compare them with the wall clock), and so are dest and iss.
_DECODE_OPTIONS: jwt.types.Options = {
    "verify_signature": True,
    "verify_aud": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}
_DECODE_PARTS = {"header": "header", "payload": "payload", "crypto": "signature"}


def _decode_problem(error: jwt.DecodeError) -> str:
    """Which part of the token could not be read, from PyJWT's complaint."""
    text = str(error)
    for word, part in _DECODE_PARTS.items():
        if word in text:
            return f"{part}: not base64url" if "padding" in text else f"{part}: not a JSON object"
    return "token: not a JWT (header.payload.signature)"


def _claims(token: str, app: install.AppCredentials) -> dict[str, Any]:
    """The claims of a token signed (HS256) with one of the app's secrets for its client id."""
    for secret in app.secrets:
        try:
            return jwt.decode(token, secret, algorithms=["HS256"], audience=app.api_key, options=_DECODE_OPTIONS)
        except jwt.InvalidSignatureError:
            continue  # the previous secret may still sign tokens while the app's secret is rotated
        except jwt.InvalidAlgorithmError:
            alg = jwt.get_unverified_header(token).get("alg")
            raise SessionTokenError(f"alg: expected HS256, got {str(alg)[:20]!r}") from None
        except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError):
            raise SessionTokenError("aud: not this app's client id") from None
        except jwt.DecodeError as exc:
            raise SessionTokenError(_decode_problem(exc)) from None
        except jwt.InvalidTokenError as exc:
            raise SessionTokenError(f"token: {str(exc)[:80]}") from None
    raise SessionTokenError("signature: not signed with this app's secret")


def _time(claims: Mapping[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise SessionTokenError(f"{name}: missing or not a number")
    return datetime.fromtimestamp(value, tz=UTC)


def _host(url: Any, name: str) -> str:
    parts = urlsplit(str(url or ""))
    if parts.scheme != "https" or not parts.netloc:
        raise SessionTokenError(f"{name}: not an https URL")
    return parts.netloc.lower()


def verify_session_token(
    token: str,
    app: install.AppCredentials,
    now: datetime,
    *,
    shop: str | None = None,
    leeway_seconds: int = SESSION_TOKEN_LEEWAY_SECONDS,
) -> SessionToken:
    """Check an App Bridge session token: HS256 signed with the app secret (or the previous one while it is
    rotated), ``aud`` = the client id, ``dest`` a ``*.myshopify.com`` shop (``shop`` if given), ``iss`` that
    shop's admin, ``exp``/``nbf`` within ``leeway_seconds`` of ``now``.
    https://shopify.dev/docs/apps/build/authentication-authorization/session-tokens"""
    raw = str(token or "").removeprefix("Bearer ")
    parts = raw.split(".")
    if len(parts) != 3 or not all(parts):  # an unsigned token (alg "none") has an empty signature
        raise SessionTokenError("token: not a JWT (header.payload.signature)")
    claims = _claims(raw, app)
    leeway = timedelta(seconds=leeway_seconds)
    expires_at = _time(claims, "exp")
    if now >= expires_at + leeway:
        raise SessionTokenError("exp: the session token has expired")
    if _time(claims, "nbf") > now + leeway:
        raise SessionTokenError("nbf: the session token is not valid yet")
    dest = _host(claims.get("dest"), "dest")
    try:
        domain = install.shop_domain(dest)
    except install.InstallError:
        raise SessionTokenError("dest: not a <name>.myshopify.com shop") from None
    if shop is not None and domain != shop.lower():
        raise SessionTokenError("dest: issued for another shop")
    issuer = urlsplit(str(claims.get("iss") or ""))
    if _host(claims.get("iss"), "iss") != domain or not issuer.path.startswith("/admin"):
        raise SessionTokenError("iss: not the admin of the shop in dest")
    return SessionToken(
        shop=domain,
        user_id=str(claims["sub"]) if claims.get("sub") is not None else None,
        session_id=str(claims["sid"]) if claims.get("sid") is not None else None,
        expires_at=expires_at,
        claims=claims,
    )
