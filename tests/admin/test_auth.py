"""Signing in and out: wrong passwords, the throttle, session expiry, CSRF, cookie flags."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from connector.store.tables import AdminUser

from . import builders as b
from .web import csrf, post, sign_in


@pytest.fixture
def anna(session: Session, now: datetime) -> None:
    b.account(session, "anna", ["fietsen"], now)
    session.commit()


def test_pages_need_a_sign_in(client: FlaskClient) -> None:
    for path in (
        "/admin/",
        "/admin/incidents",
        "/admin/patterns",
        "/admin/incidents/1",
        "/admin/patterns/voucher-spend.svg",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/admin/login?next=")


def test_sign_in_and_out(client: FlaskClient, anna: None) -> None:
    response = sign_in(client, "anna")
    assert (response.status_code, response.headers["Location"]) == (302, "/admin/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"anna" in page.data
    assert b"Sign out" in page.data
    assert page.headers["Cache-Control"] == "no-store"

    out = post(client, "/admin/logout")
    assert (out.status_code, out.headers["Location"]) == (302, "/admin/login")
    assert client.get("/admin/").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_elsewhere(client: FlaskClient, anna: None) -> None:
    token = csrf(client)
    form = {"username": "anna", "password": b.PASSWORD, "csrf_token": token}
    assert (
        client.post("/admin/login", data={**form, "next": "/admin/patterns?from=2026-11-01"}).headers["Location"]
        == "/admin/patterns?from=2026-11-01"
    )
    for outside in ("https://evil.example/admin", "//evil.example/admin", "/admin//evil.example"):
        client.post("/admin/logout", data={"csrf_token": csrf(client)})
        token = csrf(client)
        response = client.post("/admin/login", data={**form, "csrf_token": token, "next": outside})
        assert response.headers["Location"] == "/admin/", outside


@pytest.mark.parametrize(("username", "password"), [("anna", "wrong password!"), ("nobody", b.PASSWORD), ("anna", "")])
def test_wrong_credentials_are_refused(client: FlaskClient, anna: None, username: str, password: str) -> None:
    response = sign_in(client, username, password)
    assert response.status_code == 401
    assert b"That name and password do not match an account." in response.data
    assert client.get("/admin/").status_code == 302


def test_repeated_failures_pause_sign_in_for_that_name(client: FlaskClient, anna: None, clock: b.Clock) -> None:
    for _ in range(4):
        assert sign_in(client, "anna", "wrong password!").status_code == 401
    assert sign_in(client, "anna").status_code == 302  # four failures: still allowed; a success resets
    client.post("/admin/logout", data={"csrf_token": csrf(client)})
    for _ in range(5):
        assert sign_in(client, "anna", "wrong password!").status_code == 401
    blocked = sign_in(client, "anna")
    assert blocked.status_code == 429
    assert b"Too many failed sign-ins for this name. Try again in 15 minutes." in blocked.data
    assert client.get("/admin/").status_code == 302
    clock.now += timedelta(minutes=15)
    assert sign_in(client, "anna").status_code == 302


def test_session_ends_after_idle_time(client: FlaskClient, anna: None, clock: b.Clock) -> None:
    sign_in(client, "anna")
    clock.now += timedelta(hours=8)
    assert client.get("/admin/").status_code == 200  # exactly the idle limit: still signed in
    clock.now += timedelta(hours=8, seconds=1)
    response = client.get("/admin/incidents")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/incidents"
    assert b"Your session has ended" in client.get(response.headers["Location"]).data
    clock.now += timedelta(seconds=1)
    assert client.get("/admin/").status_code == 302


def test_session_ends_a_day_after_sign_in_even_when_used(client: FlaskClient, anna: None, clock: b.Clock) -> None:
    sign_in(client, "anna")
    for _ in range(3):
        clock.now += timedelta(hours=7, minutes=59)
        assert client.get("/admin/").status_code == 200
    clock.now += timedelta(minutes=4)  # 24 h 1 min after signing in
    assert client.get("/admin/").status_code == 302


def test_removed_account_is_signed_out(client: FlaskClient, anna: None, session: Session) -> None:
    sign_in(client, "anna")
    session.query(AdminUser).delete()
    session.commit()
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "path", ["/admin/logout", "/admin/actions/1/retry", "/admin/call-tasks/1/done", "/admin/contacts", "/admin/login"]
)
def test_post_without_the_csrf_token_is_forbidden(client: FlaskClient, anna: None, path: str) -> None:
    sign_in(client, "anna")
    assert client.post(path, data={"outcome": "happy"}).status_code == 403
    assert client.post(path, data={"csrf_token": "forged", "outcome": "happy"}).status_code == 403
    assert client.get("/admin/").status_code == 200  # still signed in: nothing happened


def test_sign_in_without_the_form_token_is_forbidden(client: FlaskClient, anna: None) -> None:
    response = client.post("/admin/login", data={"username": "anna", "password": b.PASSWORD})
    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302
