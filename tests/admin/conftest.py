"""Fixtures for the dashboard tests: services on a settable clock, and a session to build rows with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.services import Services
from webhooks import create_app
from webhooks.admin.i18n import LANG

from .builders import Clock, build_services


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def services(settings: Settings, engine: Engine, clock: Clock) -> Services:
    return build_services(settings, engine, clock)


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    """A session whose rows are committed when the test body hands over (``session.commit()``)."""
    with services.sessions() as session:
        yield session


@pytest.fixture
def app(services: Services) -> Flask:
    app = create_app(services)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser whose viewer chose English (``?lang=en``): the page tests read the catalogs' source words.
    The test shops are Dutch, so without that choice the dashboard is Dutch (``test_language.py``)."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session[LANG] = "en"
    return browser


@pytest.fixture
def dutch_client(app: Flask) -> FlaskClient:
    """A browser that chose no language: the dashboard follows the shop's locale."""
    return app.test_client()
