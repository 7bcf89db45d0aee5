"""Accounts: owner and staff roles, adding, disabling and removing accounts from the dashboard, sessions that end
with their account, changing one's password, and the sign-in throttle shared by several web processes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from connector.admin.users import (
    OWNER,
    STAFF,
    AdminUserError,
    add_user,
    authenticate,
    disable_user,
    find_user,
    list_users,
    remove_user,
)
from connector.config import Settings
from connector.services import Services
from connector.store.db import make_engine, upgrade
from connector.store.tables import AdminUser
from tests.test_migrations import scratch_database
from webhooks import create_app
from webhooks.admin.i18n import LANG

from . import builders as b
from .web import post, sign_in

NEW_PASSWORD = "a new and longer secret"


def _add(session: Session, username: str, role: str, shops: list[str], now: datetime) -> int:
    return add_user(session, username, b.PASSWORD, shops, now, role=role, method=b.FAST_KDF).id


@pytest.fixture
def team(session: Session, now: datetime) -> dict[str, int]:
    """olga owns both shops, sam works at fietsen, tess at theewinkel."""
    ids = {
        "olga": _add(session, "olga", OWNER, ["fietsen", "theewinkel"], now),
        "sam": _add(session, "sam", STAFF, ["fietsen"], now),
        "tess": _add(session, "tess", STAFF, ["theewinkel"], now),
    }
    session.commit()
    return ids


def _browser(app: Flask) -> FlaskClient:
    browser = app.test_client()
    with browser.session_transaction() as session:
        session[LANG] = "en"
    return browser


def _state(services: Services) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    with services.sessions() as session:
        return [(a.username, a.role, a.disabled, a.shop_ids) for a in list_users(session)]


def _hash(services: Services, username: str) -> str:
    with services.sessions() as session:
        return session.scalars(select(AdminUser.password_hash).where(AdminUser.username == username)).one()


BEFORE = [
    ("olga", OWNER, False, ("fietsen", "theewinkel")),
    ("sam", STAFF, False, ("fietsen",)),
    ("tess", STAFF, False, ("theewinkel",)),
]


def test_staff_get_403_on_accounts_and_owners_200(
    client: FlaskClient, app: Flask, services: Services, team: dict[str, int]
) -> None:
    sign_in(client, "sam")
    page = client.get("/admin/")
    assert b'href="/admin/accounts"' not in page.data
    assert b'href="/admin/password"' in page.data
    refused = client.get("/admin/accounts")
    assert refused.status_code == 403
    assert b"Only an owner of the shop manages its accounts." in refused.data
    form = {"username": "mallory", "password": b.PASSWORD, "role": OWNER, "shop": "fietsen"}
    assert post(client, "/admin/accounts", **form).status_code == 403
    assert post(client, f"/admin/accounts/{team['tess']}/disable").status_code == 403
    assert post(client, f"/admin/accounts/{team['olga']}/remove", confirmed="yes").status_code == 403
    assert _state(services) == BEFORE

    owner = _browser(app)
    sign_in(owner, "olga")
    listed = owner.get("/admin/accounts")
    assert listed.status_code == 200
    assert b'href="/admin/accounts" aria-current="page"' in listed.data
    text = listed.get_data(as_text=True)
    for username in ("olga", "sam", "tess"):
        assert f'id="account-{team[username]}"' in text
    assert text.count("Staff</span>") == 2
    assert text.count("Owner</span>") == 1
    assert text.count("Active</span>") == 3
    # no buttons against oneself
    assert f"/admin/accounts/{team['olga']}/disable" not in text
    assert f"/admin/accounts/{team['sam']}/disable" in text


def test_an_owner_sees_and_manages_only_the_accounts_of_their_shops(
    client: FlaskClient, session: Session, services: Services, team: dict[str, int], now: datetime
) -> None:
    _add(session, "otto", OWNER, ["fietsen"], now)
    session.commit()
    sign_in(client, "otto")
    text = client.get("/admin/accounts").get_data(as_text=True)
    assert f'id="account-{team["sam"]}"' in text
    assert f'id="account-{team["tess"]}"' not in text  # theewinkel is not otto's
    assert f'id="account-{team["olga"]}"' not in text  # olga also has theewinkel
    assert post(client, f"/admin/accounts/{team['tess']}/disable").status_code == 404
    assert post(client, f"/admin/accounts/{team['olga']}/remove", confirmed="yes").status_code == 404
    refused = post(client, "/admin/accounts", username="tom", password=b.PASSWORD, role=STAFF, shop="theewinkel")
    assert refused.status_code == 400
    assert b"Choose shops from your own list." in refused.data
    assert [name for name, *_ in _state(services)] == ["olga", "otto", "sam", "tess"]


def test_an_owner_adds_an_account_that_can_sign_in(
    client: FlaskClient, app: Flask, services: Services, team: dict[str, int]
) -> None:
    sign_in(client, "olga")
    added = post(client, "/admin/accounts", username="vera", password=b.PASSWORD, role=STAFF, shop="theewinkel")
    assert (added.status_code, added.headers["Location"]) == (302, "/admin/accounts")
    assert b"vera can sign in now." in client.get("/admin/accounts").data
    assert _state(services) == [*BEFORE, ("vera", STAFF, False, ("theewinkel",))]
    assert _hash(services, "vera").startswith("scrypt:32768:8:1$")
    vera = _browser(app)
    assert sign_in(vera, "vera").status_code == 302
    page = vera.get("/admin/")
    assert page.status_code == 200
    assert b'<span class="who">vera \xc2\xb7 ' in page.data


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "sam", "password": b.PASSWORD, "role": STAFF}, b"There is already an account called sam."),
        ({"username": "vera", "password": "short", "role": STAFF}, b"Use a password of at least 10 characters."),
        ({"username": "ve ra", "password": b.PASSWORD, "role": STAFF}, b"A name starts with a letter or digit"),
        ({"username": "vera", "password": b.PASSWORD, "role": "boss"}, b"Choose owner or staff."),
        ({"username": "vera", "password": b.PASSWORD}, b"Choose owner or staff."),
    ],
)
def test_a_refused_account_says_why_and_adds_nothing(
    client: FlaskClient, services: Services, team: dict[str, int], form: dict[str, str], message: bytes
) -> None:
    sign_in(client, "olga")
    refused = post(client, "/admin/accounts", shop="fietsen", **form)
    assert refused.status_code == 400
    assert message in refused.data
    assert f'value="{form["username"]}"'.encode() in refused.data  # the form keeps what was typed
    assert _state(services) == BEFORE


def test_adding_without_a_shop_is_refused(client: FlaskClient, services: Services, team: dict[str, int]) -> None:
    sign_in(client, "olga")
    refused = post(client, "/admin/accounts", username="vera", password=b.PASSWORD, role=STAFF)
    assert refused.status_code == 400
    assert b"Choose at least one shop the account may see." in refused.data
    assert _state(services) == BEFORE


def test_disabling_ends_a_session_at_its_next_request(
    client: FlaskClient, app: Flask, services: Services, team: dict[str, int]
) -> None:
    sam = _browser(app)
    sign_in(sam, "sam")
    assert sam.get("/admin/incidents").status_code == 200
    sign_in(client, "olga")

    done = post(client, f"/admin/accounts/{team['sam']}/disable")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/accounts")
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert "sam is disabled and signed out everywhere." in page
    assert "Disabled since Tue 24 Nov" in page
    assert _state(services)[1] == ("sam", STAFF, True, ("fietsen",))

    ended = sam.get("/admin/incidents")
    assert (ended.status_code, ended.headers["Location"]) == (302, "/admin/login?next=/admin/incidents")
    assert b"Your session has ended. Please sign in again." in sam.get(ended.headers["Location"]).data
    again = sign_in(sam, "sam")
    assert again.status_code == 403
    assert b"This account is disabled. An owner of your shop can enable it again." in again.data
    assert sam.get("/admin/").status_code == 302
    assert sign_in(sam, "sam", "wrong password!").status_code == 401  # a wrong password says nothing more

    assert post(client, f"/admin/accounts/{team['sam']}/enable").status_code == 302
    assert b"sam can sign in again." in client.get("/admin/accounts").data
    assert sign_in(sam, "sam").status_code == 302
    assert sam.get("/admin/").status_code == 200
    assert _state(services) == BEFORE


def test_removing_asks_first_then_ends_the_session(
    client: FlaskClient, app: Flask, services: Services, session: Session, team: dict[str, int], now: datetime
) -> None:
    sam = _browser(app)
    sign_in(sam, "sam")
    sign_in(client, "olga")

    asked = post(client, f"/admin/accounts/{team['sam']}/remove")
    assert asked.status_code == 200
    assert b"Remove sam?" in asked.data
    assert b'name="confirmed" value="yes"' in asked.data
    assert _state(services) == BEFORE  # asking removes nothing
    assert sam.get("/admin/").status_code == 200

    done = post(client, f"/admin/accounts/{team['sam']}/remove", confirmed="yes")
    assert (done.status_code, done.headers["Location"]) == (302, "/admin/accounts")
    assert b"sam is removed and signed out everywhere." in client.get("/admin/accounts").data
    assert [name for name, *_ in _state(services)] == ["olga", "tess"]
    assert sam.get("/admin/").status_code == 302
    assert sign_in(sam, "sam").status_code == 401


def test_a_new_account_never_inherits_the_sessions_of_a_removed_one(
    client: FlaskClient, app: Flask, session: Session, team: dict[str, int], now: datetime
) -> None:
    tess = _browser(app)
    sign_in(tess, "tess")  # tess has the highest id
    with tess.session_transaction() as cookie:
        kept = dict(cookie)
    sign_in(client, "olga")
    assert post(client, f"/admin/accounts/{team['tess']}/remove", confirmed="yes").status_code == 302
    _add(session, "tess", STAFF, ["theewinkel"], now)
    session.commit()
    again = find_user(session, "tess")
    session.commit()
    assert again is not None
    assert again.id != team["tess"]
    with tess.session_transaction() as cookie:
        cookie.update(kept)  # the removed account's cookie, replayed
    assert tess.get("/admin/").status_code == 302


def test_ids_of_removed_accounts_are_never_reused(session: Session, now: datetime) -> None:
    first = _add(session, "anna", OWNER, ["fietsen"], now)
    newest = _add(session, "bert", STAFF, ["fietsen"], now)
    remove_user(session, "bert", now)
    session.commit()
    assert _add(session, "carla", STAFF, ["fietsen"], now) == newest + 1
    assert first < newest


def test_an_owner_cannot_disable_or_remove_themselves(
    client: FlaskClient, services: Services, team: dict[str, int]
) -> None:
    sign_in(client, "olga")
    for path in (f"/admin/accounts/{team['olga']}/disable", f"/admin/accounts/{team['olga']}/remove"):
        refused = post(client, path, confirmed="yes")
        assert refused.status_code == 400, path
        assert b"That is your own account: another owner can disable or remove it." in refused.data
    assert _state(services) == BEFORE
    assert client.get("/admin/").status_code == 200


def test_the_last_owner_of_a_shop_stays(session: Session, team: dict[str, int], now: datetime) -> None:
    with pytest.raises(AdminUserError, match="'olga' is the last owner of fietsen, theewinkel who can sign in") as e:
        disable_user(session, "olga", now)
    assert (e.value.reason, e.value.fields) == ("last_owner", {"name": "olga", "shops": "fietsen, theewinkel"})
    _add(session, "otto", OWNER, ["fietsen"], now)
    with pytest.raises(AdminUserError, match="'olga' is the last owner of theewinkel who can sign in"):
        remove_user(session, "olga", now)
    disable_user(session, "otto", now)  # olga still owns fietsen
    with pytest.raises(AdminUserError, match="'olga' is the last owner of fietsen, theewinkel"):
        remove_user(session, "olga", now)  # a disabled owner does not count
    assert [(a.username, a.disabled) for a in list_users(session)] == [
        ("olga", False),
        ("otto", True),
        ("sam", False),
        ("tess", False),
    ]


def test_changing_the_password_asks_the_current_one(
    client: FlaskClient, app: Flask, services: Services, team: dict[str, int]
) -> None:
    other = _browser(app)
    sign_in(other, "sam")
    sign_in(client, "sam")
    assert client.get("/admin/password").status_code == 200
    before = _hash(services, "sam")

    for form, message in [
        ({"current_password": "not my password", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
         b"The current password is not right. Nothing was changed."),
        ({"current_password": b.PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "x"},
         b"The two new passwords differ. Nothing was changed."),
        ({"current_password": b.PASSWORD, "new_password": "short", "new_password_again": "short"},
         b"Use a password of at least 10 characters."),
        ({"current_password": b.PASSWORD, "new_password": b.PASSWORD, "new_password_again": b.PASSWORD},
         b"Choose a new password that differs from the current one."),
    ]:  # fmt: skip
        refused = post(client, "/admin/password", **form)
        assert refused.status_code == 400, form
        assert message in refused.data
        assert _hash(services, "sam") == before
        assert other.get("/admin/").status_code == 200  # nothing ended

    changed = post(
        client,
        "/admin/password",
        current_password=b.PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert (changed.status_code, changed.headers["Location"]) == (302, "/admin/password")
    assert b"Your password is changed." in client.get("/admin/password").data
    assert client.get("/admin/").status_code == 200  # this browser stays signed in
    assert other.get("/admin/").status_code == 302  # every other one is signed out
    assert sign_in(other, "sam").status_code == 401
    assert sign_in(other, "sam", NEW_PASSWORD).status_code == 302
    with services.sessions() as session:
        assert authenticate(session, "sam", b.PASSWORD) is None


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/accounts", {"username": "vera", "password": b.PASSWORD, "role": STAFF, "shop": "fietsen"}),
        ("/admin/accounts/{sam}/disable", {}),
        ("/admin/accounts/{sam}/remove", {"confirmed": "yes"}),
        ("/admin/password", {"current_password": b.PASSWORD, "new_password": NEW_PASSWORD,
                             "new_password_again": NEW_PASSWORD}),
    ],
)  # fmt: skip
def test_account_forms_without_the_csrf_token_change_nothing(
    client: FlaskClient, services: Services, team: dict[str, int], path: str, form: dict[str, str]
) -> None:
    sign_in(client, "olga")
    before = _hash(services, "olga")
    url = path.format(sam=team["sam"])
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 403
    assert _state(services) == BEFORE
    assert _hash(services, "olga") == before


def test_enable_without_the_csrf_token_changes_nothing(
    client: FlaskClient, services: Services, session: Session, team: dict[str, int], now: datetime
) -> None:
    disable_user(session, "sam", now)
    session.commit()
    sign_in(client, "olga")
    assert client.post(f"/admin/accounts/{team['sam']}/enable").status_code == 403
    assert _state(services)[1] == ("sam", STAFF, True, ("fietsen",))


def test_accounts_and_password_pages_in_dutch(dutch_client: FlaskClient, team: dict[str, int]) -> None:
    sign_in(dutch_client, "olga")
    page = dutch_client.get("/admin/accounts").get_data(as_text=True)
    assert "<title>Accounts · ordercare</title>" in page
    assert "Eigenaar</span>" in page
    assert page.count("Medewerker</span>") == 2
    assert "Account toevoegen" in page
    assert page.count("nooit aangemeld") == 2
    assert "laatst aangemeld di 24 nov 10:00" in page
    refused = post(dutch_client, f"/admin/accounts/{team['olga']}/disable")
    assert "Dat is je eigen account" in refused.get_data(as_text=True)
    password = dutch_client.get("/admin/password").get_data(as_text=True)
    assert "<h1>Wachtwoord wijzigen</h1>" in password
    assert "Huidig wachtwoord" in password


# the throttle across web processes


@pytest.fixture
def two_apps(settings: Settings, db_url: str, clock: b.Clock) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """Two web processes: each its own app, services and connection pool, one database."""
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        apps = [create_app(b.build_services(settings, engine, clock)) for engine in engines]
        for app in apps:
            app.config["TESTING"] = True
        yield _browser(apps[0]), _browser(apps[1])
    finally:
        for engine in engines:
            engine.dispose()


def test_failures_in_one_web_process_lock_out_the_other(
    two_apps: tuple[FlaskClient, FlaskClient], team: dict[str, int], clock: b.Clock
) -> None:
    first, second = two_apps
    for _ in range(5):
        assert sign_in(first, "sam", "wrong password!").status_code == 401
    blocked = sign_in(second, "sam")
    assert blocked.status_code == 429
    assert b"Too many failed sign-ins for this name. Try again in 15 minutes." in blocked.data
    assert second.get("/admin/").status_code == 302
    assert sign_in(second, "SAM").status_code == 429  # the same name in other letters
    assert sign_in(second, "tess").status_code == 302  # another name is not held up
    clock.now += timedelta(minutes=15)
    assert sign_in(second, "sam").status_code == 302


def test_four_failures_in_one_process_still_let_the_other_sign_in(
    two_apps: tuple[FlaskClient, FlaskClient], team: dict[str, int]
) -> None:
    first, second = two_apps
    for _ in range(4):
        assert sign_in(first, "sam", "wrong password!").status_code == 401
    assert sign_in(second, "sam").status_code == 302
    # the success cleared the count for both
    for _ in range(4):
        assert sign_in(first, "sam", "wrong password!").status_code == 401
    assert sign_in(first, "sam").status_code == 302


# the upgrade


def test_accounts_from_before_roles_become_owners(database_url: str, tmp_path: Path, now: datetime) -> None:
    with scratch_database(database_url, tmp_path) as engine:
        _upgrade_with_an_account(engine, now)
        with Session(engine) as session:
            row = session.scalars(select(AdminUser)).one()
            assert (row.username, row.role, row.disabled_at, row.session_generation) == ("anna", OWNER, None, 0)
            assert authenticate(session, "anna", b.PASSWORD) is not None
            assert add_user(session, "bert", b.PASSWORD, ["fietsen"], now, method=b.FAST_KDF).role == STAFF


def _upgrade_with_an_account(engine: Engine, now: datetime) -> None:
    upgrade(engine, "0007")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO shops (id, platform, key, status, source, timezone, locale, country, settings, "
                "created_at) VALUES ('fietsen', 'shopify', 'f.myshopify.com', 'active', 'config', "
                "'Europe/Amsterdam', 'nl', 'NL', '{}', :now)"
            ),
            {"now": now.replace(tzinfo=None)},
        )
        connection.execute(
            sa.text(
                "INSERT INTO admin_users (username, password_hash, shop_ids, created_at) "
                "VALUES ('anna', :hash, '[\"fietsen\"]', :now)"
            ),
            {"hash": _fast_hash(), "now": now.replace(tzinfo=None)},
        )
    upgrade(engine)


def _fast_hash() -> str:
    from connector.admin.users import hash_password

    return hash_password(b.PASSWORD, b.FAST_KDF)
