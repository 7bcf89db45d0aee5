"""Test-client helpers: sign in, read the CSRF token, post a form with it."""

from __future__ import annotations

from typing import Any, TypeVar

from flask.testing import FlaskClient
from sqlalchemy import Select
from werkzeug.test import TestResponse

from connector.services import Services

from .builders import PASSWORD

T = TypeVar("T")


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


def load(services: Services, model: type[T], ident: int) -> T:
    """A fresh copy of one row, read in its own short session (SQLite: never hold a lock over a request)."""
    with services.sessions() as session:
        row = session.get(model, ident)
        assert row is not None, (model, ident)
        session.expunge_all()
        return row


def rows(services: Services, statement: Select[T]) -> list[T]:
    with services.sessions() as session:
        found = list(session.scalars(statement))
        session.expunge_all()
        return found
