"""ordercare inside the Shopify admin, over HTTP against the sandbox Shopify: the entry ``/shopify/app``, the
session token checks, token exchange, Shopify staff accounts, App Bridge, frame-ancestors and the Bearer path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from connector.admin import users
from connector.crypto import SecretBox
from connector.platforms.shopify import install
from connector.platforms.shopify.adapter import SUBSCRIBED_TOPICS
from connector.sandbox.server import BackgroundServer
from connector.sandbox.shopify import ShopifySandbox
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import AdminLoginAttempt, AdminUser, ShopRow
from tests.conftest import make_settings
from webhooks import create_app

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
APP = install.AppCredentials("app-key", "app-secret-0123456789abcdefghijklmnopq")
DOMAIN = "nieuwe-winkel.myshopify.com"
SHOP_ID = "nieuwe-winkel"
OWN_APP = install.AppCredentials("own-client-id", "own-client-secret-0123456789abcdefghijkl")
OWN_DOMAIN = "eigen-winkel.myshopify.com"
APP_BRIDGE_META = '<meta name="shopify-api-key" content="app-key">'
APP_BRIDGE_SCRIPT = '<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>'
FRAMED_BY_SHOP = f"frame-ancestors https://{DOMAIN} https://admin.shopify.com;"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Web:
    client: FlaskClient
    services: Services
    sandbox: ShopifySandbox
    clock: Clock

    def entry(self, domain: str = DOMAIN, api_key: str = APP.api_key, **claims: Any) -> Any:
        url = self.sandbox.embedded_url("/shopify/app", domain, api_key, locale="en", **claims)
        return self.client.get(url)

    def counts(self) -> tuple[int, int, int]:
        """Shops, dashboard accounts and sign-in records stored."""
        with self.services.sessions() as session:
            return (
                session.scalar(select(func.count()).select_from(ShopRow)) or 0,
                session.scalar(select(func.count()).select_from(AdminUser)) or 0,
                session.scalar(select(func.count()).select_from(AdminLoginAttempt)) or 0,
            )

    def exchanges(self, domain: str = DOMAIN) -> int:
        return self.sandbox.shops[domain].counters["token_exchanges"]

    def credentials(self, shop_id: str = SHOP_ID) -> dict[str, Any]:
        with self.services.sessions() as session:
            row = session.get(ShopRow, shop_id)
            assert row is not None
            assert row.credentials
            return dict(SecretBox(self.services.settings.secret_key).open(row.credentials))


@pytest.fixture
def web(db_url: str) -> Iterator[Web]:
    clock = Clock()
    sandbox = ShopifySandbox(clock=clock)
    sandbox.register_app(APP.api_key, APP.api_secret)
    sandbox.add_shop(DOMAIN, APP.api_secret, access_token="unused")
    sandbox.add_shop("andere-winkel.myshopify.com", APP.api_secret, access_token="unused-too")
    sandbox.add_shop(OWN_DOMAIN, OWN_APP.api_secret, access_token="unused-three")
    sandbox.install_own_app(OWN_DOMAIN, OWN_APP.api_key, OWN_APP.api_secret)
    own_shop = {
        "id": "eigen",
        "platform": "shopify",
        "shop_domain": OWN_DOMAIN,
        "client_id": OWN_APP.api_key,
        "client_secret": OWN_APP.api_secret,
    }
    with BackgroundServer(sandbox) as server:
        sandbox.url = server.url
        own_shop["api_base_url"] = f"{server.url}/shops/{OWN_DOMAIN}"
        base = make_settings(db_url)
        shops = [s.model_dump(exclude_none=True) for s in base.shops] + [own_shop]
        settings = make_settings(
            db_url, shopify_app={"api_key": APP.api_key, "api_secret": APP.api_secret}, shops=shops
        )
        services = Services.build(settings, clock=clock)
        app = create_app(services)
        app.config["SHOPIFY_OAUTH_BASE_URL"] = f"{sandbox.url}/shops/{{shop}}"
        yield Web(app.test_client(), services, sandbox, clock)
        services.engine.dispose()


def _session_cookie(response: Any) -> str:
    return next(str(h) for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def _bearer(web: Web, domain: str = DOMAIN, **claims: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + web.sandbox.session_token(domain, APP.api_key, **claims)}


# --- the entry -------------------------------------------------------------------------------------------


def test_the_first_opening_installs_the_shop_and_signs_the_staff_member_in(web: Web) -> None:
    before = web.counts()
    opened = web.entry()
    assert opened.status_code == 302, opened.text
    assert urlsplit(opened.headers["Location"]).path == "/admin/"
    cookie = _session_cookie(opened)
    assert "SameSite=None" in cookie
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert FRAMED_BY_SHOP in opened.headers["Content-Security-Policy"]
    # the shop is stored as the install callback stores it, with the token from the exchange, sealed
    with web.services.sessions() as session:
        row = session.get(ShopRow, SHOP_ID)
        assert row is not None
        assert (row.source, row.status, row.key, row.installed_at) == ("installed", "active", DOMAIN, NOW)
        assert row.credentials is not None
        assert "shpat_" not in row.credentials
        account = users.find_user(session, f"shopify:{SHOP_ID}:42")
    credentials = web.credentials()
    shop = web.sandbox.shops[DOMAIN]
    assert credentials["access_token"] == shop.access_token
    assert credentials["refresh_token"].startswith("shprt_")
    assert credentials["expires_at"] == "2026-11-24T10:00:00+00:00"
    assert web.exchanges() == 1
    assert sorted(s["topic"] for s in shop.subscriptions) == sorted(SUBSCRIBED_TOPICS.values())
    # a staff account of this shop only, made for the Shopify user, without a password
    assert account is not None
    assert (account.role, account.shop_ids, account.source, account.disabled) == ("staff", (SHOP_ID,), "shopify", False)
    assert web.counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    # the dashboard inside the admin: App Bridge, framed only by this shop's admin
    page = web.client.get("/admin/")
    assert page.status_code == 200, page.text
    html = page.text
    assert APP_BRIDGE_META in html
    assert APP_BRIDGE_SCRIPT in html
    assert html.index(APP_BRIDGE_SCRIPT) < html.index("<title>")  # App Bridge is the first script in the head
    policy = page.headers["Content-Security-Policy"]
    assert FRAMED_BY_SHOP in policy
    assert "frame-ancestors 'none'" not in policy
    assert "X-Frame-Options" not in page.headers
    assert f"shopify:{SHOP_ID}:42" in html
    assert ">Password</a>" not in html  # nothing to change: Shopify signs this account in


def test_opening_again_signs_in_the_same_account_without_a_second_exchange(web: Web) -> None:
    assert web.entry().status_code == 302
    token = web.credentials()["access_token"]
    # one second before the renewal margin (5 minutes before expires_at): the token is still used
    web.clock.now = NOW + timedelta(seconds=3600 - 300 - 1)
    assert web.entry().status_code == 302
    assert web.client.get("/admin/", headers=_bearer(web)).status_code == 200
    assert web.exchanges() == 1
    assert web.credentials()["access_token"] == token
    with web.services.sessions() as session:
        assert [a.username for a in users.list_users(session)] == [f"shopify:{SHOP_ID}:42"]
    # at the margin: the next opening exchanges a new token and stores it
    web.clock.now = NOW + timedelta(seconds=3600 - 300)
    assert web.entry().status_code == 302
    assert web.exchanges() == 2
    renewed = web.credentials()
    assert renewed["access_token"] != token
    assert renewed["access_token"] == web.sandbox.shops[DOMAIN].access_token
    assert renewed["api_base_url"] == f"{web.sandbox.url}/shops/{DOMAIN}"  # the rest of the row is kept


def test_another_staff_member_gets_an_account_of_their_own(web: Web) -> None:
    assert web.entry(user_id="42").status_code == 302
    assert web.entry(user_id="77").status_code == 302
    with web.services.sessions() as session:
        names = [a.username for a in users.list_users(session)]
    assert names == [f"shopify:{SHOP_ID}:42", f"shopify:{SHOP_ID}:77"]
    assert web.exchanges() == 1


def _forged(web: Web) -> dict[str, Any]:
    real = web.sandbox.session_token(DOMAIN, APP.api_key)
    claims = jwt.decode(real, options={"verify_signature": False})
    return {"id_token": jwt.encode(claims, "not-the-app-secret-0123456789abcdefghijkl", algorithm="HS256")}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"lifetime_seconds": -11}, "exp: the session token has expired"),
        ({"nbf": int(NOW.timestamp()) + 60}, "nbf: the session token is not valid yet"),
        ({"aud": "another-app"}, "aud: not this app's client id"),
        ({"dest": "https://andere-winkel.myshopify.com"}, "dest: issued for another shop"),
        ({"iss": "https://andere-winkel.myshopify.com/admin"}, "iss: not the admin of the shop in dest"),
        ({"sub": None}, "sub: missing"),
        ("forged", "signature: not signed with this app's secret"),
    ],
)
def test_a_token_that_fails_a_check_is_refused_and_nothing_is_written(web: Web, claims: Any, reason: str) -> None:
    before = web.counts()
    if claims == "forged":
        params = {"shop": DOMAIN, "embedded": "1", "host": "x", "locale": "en", **_forged(web)}
        refused = web.client.get("/shopify/app?" + urlencode(params))
    else:
        refused = web.entry(**claims)
    assert refused.status_code == 401
    assert "ordercare could not confirm who you are" in refused.text
    assert str(escape(reason)) in refused.text
    assert not any(h.startswith("session=") for h in refused.headers.getlist("Set-Cookie"))
    assert web.counts() == before
    assert web.exchanges() == 0
    assert FRAMED_BY_SHOP in refused.headers["Content-Security-Policy"]  # the refusal shows inside the admin
    # and the dashboard stays closed to this browser
    assert web.client.get("/admin/").status_code == 302


def test_a_missing_token_is_refused(web: Web) -> None:
    before = web.counts()
    refused = web.client.get(f"/shopify/app?shop={DOMAIN}&embedded=1&host=x")
    assert refused.status_code == 401
    assert web.counts() == before


def test_the_shop_parameter_must_be_the_tokens_shop(web: Web) -> None:
    token = web.sandbox.session_token(DOMAIN, APP.api_key)
    before = web.counts()
    refused = web.client.get("/shopify/app?" + urlencode({"shop": "andere-winkel.myshopify.com", "id_token": token}))
    assert refused.status_code == 401
    assert "dest: issued for another shop" in refused.text
    assert web.counts() == before
    assert web.exchanges() == 0


def test_a_refused_exchange_stores_nothing(web: Web) -> None:
    # Shopify refuses the exchange (here: the sandbox knows no such shop); the token itself was in order
    before = web.counts()
    token = web.sandbox.session_token(DOMAIN, APP.api_key)
    del web.sandbox.shops[DOMAIN]
    refused = web.client.get("/shopify/app?" + urlencode({"shop": DOMAIN, "id_token": token, "locale": "en"}))
    assert refused.status_code == 401
    assert "Shopify refused the token exchange" in refused.text
    assert web.counts() == before


def test_the_refusal_page_speaks_the_admins_language(web: Web) -> None:
    url = web.sandbox.embedded_url("/shopify/app", DOMAIN, APP.api_key, locale="nl", lifetime_seconds=-60)
    refused = web.client.get(url)
    assert refused.status_code == 401
    assert '<html lang="nl">' in refused.text
    assert "ordercare could not confirm who you are" not in refused.text
    assert "ordercare kon niet vaststellen wie u bent" in refused.text


# --- an own-store app (client credentials) ----------------------------------------------------------------


def test_an_own_store_app_opens_its_own_shop_without_an_exchange(web: Web) -> None:
    url = web.sandbox.embedded_url("/shopify/app", OWN_DOMAIN, OWN_APP.api_key, locale="en")
    opened = web.client.get(url)
    assert opened.status_code == 302, opened.text
    with web.services.sessions() as session:
        account = users.find_user(session, "shopify:eigen:42")
    assert account is not None
    assert account.shop_ids == ("eigen",)
    assert web.exchanges(OWN_DOMAIN) == 0  # its token comes from the client credentials grant
    page = web.client.get("/admin/")
    assert '<meta name="shopify-api-key" content="own-client-id">' in page.text
    assert f"frame-ancestors https://{OWN_DOMAIN} https://admin.shopify.com;" in page.headers["Content-Security-Policy"]


def test_an_unknown_shop_is_refused_and_nothing_is_written(web: Web) -> None:
    # the own-store app installed on a store that is not its shop in the configuration
    web.sandbox.install_own_app("andere-winkel.myshopify.com", OWN_APP.api_key, OWN_APP.api_secret)
    url = web.sandbox.embedded_url("/shopify/app", "andere-winkel.myshopify.com", OWN_APP.api_key, locale="en")
    before = web.counts()
    refused = web.client.get(url)
    assert refused.status_code == 404
    assert "ordercare does not serve this shop" in refused.text
    assert "andere-winkel.myshopify.com is not the shop of this app" in refused.text
    assert web.counts() == before
    assert web.exchanges("andere-winkel.myshopify.com") == 0


# --- disabled accounts ----------------------------------------------------------------------------------


def _owner(web: Web) -> FlaskClient:
    """An owner of the installed shop, signed in with a password in a browser of their own."""
    with transaction(web.services.sessions) as session:
        users.add_user(session, "eigenaar", "een-goed-wachtwoord", [SHOP_ID], NOW, role=users.OWNER)
    owner = web.client.application.test_client()
    page = owner.get("/admin/login")
    assert page.status_code == 200
    with owner.session_transaction() as s:
        csrf = s["admin_csrf"]
    signed_in = owner.post("/admin/login", data={"username": "eigenaar", "password": "een-goed-wachtwoord",
                                                 "csrf_token": csrf})  # fmt: skip
    assert signed_in.status_code == 302
    return owner


def test_an_owner_disables_a_shopify_account_and_it_is_refused(web: Web) -> None:
    assert web.entry().status_code == 302
    assert web.client.get("/admin/").status_code == 200
    owner = _owner(web)
    accounts = owner.get("/admin/accounts?lang=en")
    assert "Signs in from the Shopify admin" in accounts.text
    with web.services.sessions() as session:
        shopify_user = users.find_user(session, f"shopify:{SHOP_ID}:42")
    assert shopify_user is not None
    with owner.session_transaction() as s:
        csrf = s["admin_csrf"]
    done = owner.post(f"/admin/accounts/{shopify_user.id}/disable", data={"csrf_token": csrf})
    assert done.status_code == 302
    # its session inside the admin has ended, a new opening and a Bearer request are refused
    assert web.client.get("/admin/").status_code == 302
    before = web.counts()
    refused = web.entry()
    assert refused.status_code == 403
    assert "Your ordercare account is disabled" in refused.text
    assert web.client.get("/admin/", headers=_bearer(web)).status_code == 403
    assert web.counts() == before
    # refused before any token exchange, even when the shop's token has run out
    web.clock.now = NOW + timedelta(hours=2)
    assert web.entry().status_code == 403
    assert web.exchanges() == 1
    # enabled again by the owner: the same account signs in
    with owner.session_transaction() as s:
        csrf = s["admin_csrf"]
    assert owner.post(f"/admin/accounts/{shopify_user.id}/enable", data={"csrf_token": csrf}).status_code == 302
    assert web.entry().status_code == 302
    assert web.client.get("/admin/").status_code == 200


def test_a_shopify_account_has_no_password(web: Web) -> None:
    assert web.entry().status_code == 302
    username = f"shopify:{SHOP_ID}:42"
    with web.services.sessions() as session:
        assert users.authenticate(session, username, "!shopify-admin") is None
        assert users.authenticate(session, username, "") is None
        account = users.find_user(session, username)
        assert account is not None
        with pytest.raises(users.AdminUserError, match="signs in through the Shopify admin"):
            users.change_password(session, account.id, "", "een-nieuw-wachtwoord", NOW)
    # a name with a colon cannot be made with a password, so no such account can be taken over
    with transaction(web.services.sessions) as session, pytest.raises(users.AdminUserError, match="username"):
        users.add_user(session, f"shopify:{SHOP_ID}:43", "een-goed-wachtwoord", [SHOP_ID], NOW)


# --- the Bearer path (App Bridge's requests when cookies are blocked) ------------------------------------


def test_a_bearer_token_signs_a_request_in_without_a_cookie(web: Web) -> None:
    assert web.entry().status_code == 302
    browser = web.client.application.test_client()  # no cookie at all: third-party cookies blocked
    page = browser.get("/admin/", headers=_bearer(web))
    assert page.status_code == 200, page.text
    assert APP_BRIDGE_META in page.text
    assert FRAMED_BY_SHOP in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    # a POST signed by the token needs no CSRF token (a browser never sends a Bearer token by itself)
    assert browser.post("/admin/logout", headers=_bearer(web)).status_code == 302
    # the token alone: each request is checked again
    expired = browser.get("/admin/", headers=_bearer(web, lifetime_seconds=-11))
    assert expired.status_code == 401
    assert "exp: the session token has expired" in expired.text
    forged = browser.get("/admin/", headers={"Authorization": "Bearer " + _forged(web)["id_token"]})
    assert forged.status_code == 401
    assert web.exchanges() == 1


def test_the_first_bearer_request_of_a_new_staff_member_makes_their_account(web: Web) -> None:
    assert web.entry().status_code == 302
    browser = web.client.application.test_client()
    assert browser.get("/admin/", headers=_bearer(web, sub="77")).status_code == 200
    with web.services.sessions() as session:
        assert users.find_user(session, f"shopify:{SHOP_ID}:77") is not None
    before = web.counts()
    assert browser.get("/admin/", headers=_bearer(web, sub="77", aud="another-app")).status_code == 401
    assert web.counts() == before


# --- outside the admin nothing changes -------------------------------------------------------------------


def test_the_dashboard_outside_the_admin_is_never_framed(web: Web) -> None:
    login = web.client.get("/admin/login")
    assert login.status_code == 200
    assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    assert login.headers["X-Frame-Options"] == "DENY"
    assert "shopify-api-key" not in login.text
    assert "app-bridge.js" not in login.text
    cookie = _session_cookie(login)
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_readme_and_the_toml_say_which_setting_needs_which_flow(web: Web) -> None:
    root = Path(__file__).parents[2]
    section = (root / "README.md").read_text(encoding="utf-8").split("## Connect a Shopify shop", 1)[1]
    section = section.split("\n## ", 1)[0]
    table = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in section.splitlines()
             if line.strip().startswith("| `")}  # fmt: skip
    assert table["`true` (the Dev Dashboard's default)"] == "`<public_url>/shopify/app`"
    assert table["`false`"] == "`<public_url>/shopify/install`"
    toml = (root / "shopify.app.toml").read_text(encoding="utf-8")
    assert 'application_url = "https://ordercare.example.com/shopify/app"' in toml  # the embedded = true option
    routes = {rule.rule for rule in web.client.application.url_map.iter_rules()}
    assert {"/shopify/app", "/shopify/install", "/shopify/callback"} <= routes
