"""Fixtures for the policy tests that run against a database: services on a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from connector.services import Services
from tests.conftest import make_settings

from .support import NOW


@pytest.fixture
def build(db_url: str, engine: Engine) -> Callable[..., Services]:
    """Services with settings overrides, sharing the test's engine and the fixed clock."""

    def make(**overrides: Any) -> Services:
        return Services.build(make_settings(db_url, **overrides), engine=engine, clock=lambda: NOW)

    return make


@pytest.fixture
def services(build: Callable[..., Services]) -> Services:
    return build()
