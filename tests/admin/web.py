"""Test-client helpers: sign in, read the CSRF token, post a form with it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from .builders import PASSWORD


def csrf(client: FlaskClient) -> str:
    client.get("/admin/login")
    with client.session_transaction() as session:
        return str(session["admin_csrf"])


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> TestResponse:
    token = csrf(client)
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})


def post(client: FlaskClient, path: str, **data: Any) -> TestResponse:
    with client.session_transaction() as session:
        token = session.get("admin_csrf", "")
    return client.post(path, data={"csrf_token": token, **data})
