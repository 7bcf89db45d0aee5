"""How a Shopify shop connects: the config combinations, session tokens of the embedded admin, token exchange."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import requests

from connector.config import ConfigError, settings_from_mapping
from connector.platforms.shopify import auth, install
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import ShopifySandbox

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
APP = install.AppCredentials("embedded-client-id", "embedded-app-secret-" + "0123456789abcdef" * 3)  # 64 bytes: HS512
DOMAIN = "winkel.myshopify.com"


def _settings(**shop: Any) -> Any:
    config = {"id": "winkel", "platform": "shopify", "shop_domain": DOMAIN, **shop}
    return settings_from_mapping({"secret_key": "test-secret-key-0123456789abcdef", "shops": [config]}, env={})


def _problems(**shop: Any) -> list[str]:
    with pytest.raises(ConfigError) as err:
        _settings(**shop)
    return err.value.problems


def test_the_allowed_credential_combinations() -> None:
    legacy = _settings(access_token="shpat_x", webhook_secret="shpss_legacy").shops[0]
    assert (legacy.access_token, legacy.client_id, legacy.webhook_secret) == ("shpat_x", None, "shpss_legacy")
    own = _settings(client_id="cid", client_secret="shpss_own").shops[0]
    assert (own.client_id, own.client_secret, own.access_token) == ("cid", "shpss_own", None)
    assert own.webhook_secret == "shpss_own"  # the client secret signs the app's webhooks
    rotated = _settings(client_id="cid", client_secret="shpss_new", webhook_secret="shpss_new",
                        previous_webhook_secret="shpss_old").shops[0]  # fmt: skip
    assert (rotated.webhook_secret, rotated.previous_webhook_secret) == ("shpss_new", "shpss_old")


@pytest.mark.parametrize(
    ("shop", "problem"),
    [
        ({"client_id": "cid"}, "shops[0]: client_id without client_secret: a Dev Dashboard app needs both"),
        ({"client_secret": "s"}, "shops[0]: client_secret without client_id: a Dev Dashboard app needs both"),
        ({"access_token": "t", "client_id": "c", "client_secret": "s"},
         "shops[0]: access_token and client_id, client_secret: give either access_token (a legacy "
         "custom app) or client_id and client_secret (a Dev Dashboard app), not both"),
        ({}, "shops[0]: a shopify shop needs client_id and client_secret (a Dev Dashboard app) or "
             "access_token (a legacy custom app)"),
        ({"access_token": "t"},
         "shops[0]: a shopify shop with access_token needs webhook_secret (the app's API secret key)"),
    ],
)  # fmt: skip
def test_combinations_that_are_refused_name_the_keys(shop: dict[str, Any], problem: str) -> None:
    assert _problems(**shop) == [problem]


def test_client_credentials_keys_are_only_for_shopify() -> None:
    raw = {"secret_key": "test-secret-key-0123456789abcdef", "shops": [
        {"id": "thee", "platform": "woocommerce", "url": "https://thee.example.nl", "consumer_key": "ck",
         "consumer_secret": "cs", "webhook_secret": "w", "client_id": "cid"}]}  # fmt: skip
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(raw, env={})
    assert err.value.problems == ["shops[0]: client_id: only for a shopify shop (a Dev Dashboard app)"]


# --- session tokens ------------------------------------------------------------------------------------


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(NOW.timestamp())
    claims = {"iss": f"https://{DOMAIN}/admin", "dest": f"https://{DOMAIN}", "aud": APP.api_key, "sub": "42",
              "exp": now + 60, "nbf": now, "iat": now, "jti": "j1", "sid": "s1"}  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(secret: str = APP.api_secret, algorithm: str = "HS256", **changes: Any) -> str:
    return jwt.encode(_claims(**changes), secret, algorithm=algorithm)


def test_a_valid_session_token() -> None:
    token = auth.verify_session_token(_token(), APP, NOW, shop=DOMAIN)
    assert (token.shop, token.user_id, token.session_id) == (DOMAIN, "42", "s1")
    assert token.expires_at == NOW + timedelta(seconds=60)
    assert auth.verify_session_token("Bearer " + _token(), APP, NOW).shop == DOMAIN
    rotated = install.AppCredentials(APP.api_key, "the-new-secret-" + "0" * 32, previous_api_secret=APP.api_secret)
    assert auth.verify_session_token(_token(), rotated, NOW).shop == DOMAIN


def test_exp_and_nbf_with_the_leeway() -> None:
    leeway = auth.SESSION_TOKEN_LEEWAY_SECONDS
    expires = NOW + timedelta(seconds=60)
    assert auth.verify_session_token(_token(), APP, expires + timedelta(seconds=leeway - 1)).shop == DOMAIN
    with pytest.raises(auth.SessionTokenError, match="exp: the session token has expired"):
        auth.verify_session_token(_token(), APP, expires + timedelta(seconds=leeway))
    later = int(NOW.timestamp()) + leeway
    assert auth.verify_session_token(_token(nbf=later), APP, NOW).shop == DOMAIN
    with pytest.raises(auth.SessionTokenError, match="nbf: the session token is not valid yet"):
        auth.verify_session_token(_token(nbf=later + 1), APP, NOW)


def test_only_the_given_now_decides_exp_and_nbf() -> None:
    # far from the wall clock on both sides: PyJWT's own time checks would refuse the first and the second
    leeway = auth.SESSION_TOKEN_LEEWAY_SECONDS
    for then in (datetime(2001, 3, 1, 12, 0, tzinfo=UTC), datetime(2100, 1, 1, 8, 0, tzinfo=UTC)):
        stamp = int(then.timestamp())
        token = _token(exp=stamp + 60, nbf=stamp, iat=stamp)
        assert auth.verify_session_token(token, APP, then).expires_at == then + timedelta(seconds=60)
        with pytest.raises(auth.SessionTokenError, match=r"^exp: the session token has expired$"):
            auth.verify_session_token(token, APP, then + timedelta(seconds=60 + leeway))
        with pytest.raises(auth.SessionTokenError, match=r"^nbf: the session token is not valid yet$"):
            auth.verify_session_token(token, APP, then - timedelta(seconds=leeway + 1))


def test_the_previous_secret_counts_only_while_it_is_named() -> None:
    new_secret = "the-new-secret-" + "1" * 32
    rotating = install.AppCredentials(APP.api_key, new_secret, previous_api_secret=APP.api_secret)
    assert auth.verify_session_token(_token(), rotating, NOW).shop == DOMAIN
    assert auth.verify_session_token(_token(secret=new_secret), rotating, NOW).shop == DOMAIN
    rotated = install.AppCredentials(APP.api_key, new_secret)
    with pytest.raises(auth.SessionTokenError, match=r"^signature: not signed with this app's secret$"):
        auth.verify_session_token(_token(), rotated, NOW)


def test_an_audience_list_that_holds_the_client_id() -> None:
    assert auth.verify_session_token(_token(aud=["another-app", APP.api_key]), APP, NOW).shop == DOMAIN
    with pytest.raises(auth.SessionTokenError, match=r"^aud: not this app's client id$"):
        auth.verify_session_token(_token(aud=["another-app"]), APP, NOW)


def _unsigned_with_signature() -> str:
    """An ``alg: none`` token with a made-up signature part (so it has the shape of a signed one)."""
    return jwt.encode(_claims(), "", algorithm="none") + "c2lnbmF0dXJl"


def _signed_payload(payload: bytes) -> str:
    return jwt.api_jws.encode(payload, APP.api_secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (_token(secret="another-apps-secret-" + "0" * 32), "signature: not signed with this app's secret"),
        (_token(algorithm="HS512"), "alg: expected HS256, got 'HS512'"),
        (jwt.encode(_claims(), "", algorithm="none"), "token: not a JWT"),
        (_unsigned_with_signature(), "alg: expected HS256, got 'none'"),
        (_token(aud=None), "aud: not this app's client id"),
        (_token(nbf=None), "nbf: missing or not a number"),
        (_token(exp="soon"), "exp: missing or not a number"),
        ("!!!." + _token().split(".", 1)[1], "header: not base64url"),
        ("WzFd." + _token().split(".", 1)[1], "header: not a JSON object"),
        (_signed_payload(b"not json"), "payload: not a JSON object"),
        (_signed_payload(b"[1, 2]"), "payload: not a JSON object"),
        (_token(aud="other-client-id"), "aud: not this app's client id"),
        (_token(dest="https://andere.myshopify.com", iss="https://andere.myshopify.com/admin"),
         "dest: issued for another shop"),
        (_token(dest="https://evil.example.com", iss="https://evil.example.com/admin"),
         "dest: not a <name>.myshopify.com shop"),
        (_token(iss="https://andere.myshopify.com/admin"), "iss: not the admin of the shop in dest"),
        (_token(iss=f"https://{DOMAIN}/"), "iss: not the admin of the shop in dest"),
        (_token(dest=f"http://{DOMAIN}"), "dest: not an https URL"),
        (_token(exp=None), "exp: missing or not a number"),
        ("a.b", "token: not a JWT"),
    ],
)  # fmt: skip
def test_session_tokens_that_are_refused(token: str, message: str) -> None:
    with pytest.raises(auth.SessionTokenError, match="^" + message.replace("(", "\\(").replace(")", "\\)")):
        auth.verify_session_token(token, APP, NOW, shop=DOMAIN)


# --- token exchange against the sandbox -----------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[ShopifySandbox]:
    box = ShopifySandbox(clock=lambda: NOW)
    box.register_app(APP.api_key, APP.api_secret)
    box.add_shop(DOMAIN, APP.api_secret)
    with BackgroundServer(box) as server:
        box.url = server.url
        yield box


def test_token_exchange_gives_an_expiring_offline_token(sandbox: ShopifySandbox) -> None:
    shop = sandbox.shops[DOMAIN]
    session_token = sandbox.session_token(DOMAIN, APP.api_key)
    assert auth.verify_session_token(session_token, APP, NOW, shop=DOMAIN).shop == DOMAIN  # ours and PyJWT's agree
    with requests.Session() as http:
        tokens = install.exchange_session_token(http, shop.base_url, APP, session_token, NOW)
        assert tokens.expires_at == NOW + timedelta(hours=1)
        assert tokens.refresh_token in shop.refresh_tokens
        assert shop.tokens[tokens.access_token] == NOW + timedelta(hours=1)
        expired = sandbox.session_token(DOMAIN, APP.api_key, lifetime_seconds=-11)
        with pytest.raises(install.InstallError, match="400 \\(invalid_subject_token: Token exchange cannot be"):
            install.exchange_session_token(http, shop.base_url, APP, expired, NOW)
        other = sandbox.session_token("andere.myshopify.com", APP.api_key)
        with pytest.raises(install.InstallError, match="invalid_subject_token"):
            install.exchange_session_token(http, shop.base_url, APP, other, NOW)
    assert shop.counters["tokens_issued"] == 1
