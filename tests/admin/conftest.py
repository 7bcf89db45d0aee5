"""Fixtures for the dashboard tests: services on a settable clock, and a session to build rows with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.services import Services

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
