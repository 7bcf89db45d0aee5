"""Shared fixtures: a migrated database, fixed clocks and settings.

Every database test runs twice, on SQLite and on PostgreSQL (ORDERCARE_TEST_DB=sqlite or =postgres picks
one). PostgreSQL: the server at ORDERCARE_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
gets a fresh database per test run; its tests skip with the reason when it is unreachable, except in CI
(CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings, settings_from_mapping
from connector.store.db import make_engine, session_factory, upgrade
from connector.store.tables import Base

FIXTURES = Path(__file__).parent / "fixtures"
# CI runs the time-sensitive tests again under libfaketime (.ci/run), where a timed wait does not return
# (threading's waits with a timeout hang there): tests of threads that wait are skipped in that run.
UNDER_FAKETIME = "faketime" in os.environ.get("LD_PRELOAD", "")
BACKENDS = [os.environ["ORDERCARE_TEST_DB"]] if os.environ.get("ORDERCARE_TEST_DB") else ["sqlite", "postgres"]
PG_SERVER = os.environ.get("ORDERCARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fixture_json(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture
def now() -> datetime:
    """A fixed clock: Tuesday 24 November 2026, 10:00 in Amsterdam."""
    return datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` run only in the PostgreSQL half of the suite."""

    def sqlite_only_copy(item: pytest.Item) -> bool:
        params = getattr(getattr(item, "callspec", None), "params", {})
        return bool(item.get_closest_marker("postgres")) and params.get("database_url") == "sqlite"

    dropped = [item for item in items if sqlite_only_copy(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not sqlite_only_copy(item)]


def _pg_available() -> str | None:
    try:
        engine = make_engine(PG_SERVER, pool_pre_ping=False)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except SQLAlchemyError as exc:
        return f"PostgreSQL not reachable at {PG_SERVER}: {type(exc).__name__}"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated template database for this test run, per backend."""
    if request.param == "postgres":
        reason = _pg_available()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run, not skip)")
            pytest.skip(reason)
        name = f"ordercare_test_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        template = tmp_path_factory.mktemp("db") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        yield f"sqlite:///{template}"


@pytest.fixture
def db_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "ordercare.db"
        shutil.copy(database_url.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        return
    engine = make_engine(database_url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield database_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


SHOPIFY_SECRET = "shpss_test_secret_0123456789"
WOO_SECRET = "woo-webhook-secret-0123456789"


def make_settings(db_url: str = "sqlite:///:memory:", **overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": "test-secret-key-0123456789abcdef",
        "public_url": "http://127.0.0.1:8000",
        "shops": [
            {
                "id": "fietsen",
                "platform": "shopify",
                "shop_domain": "fietsen-test.myshopify.com",
                "access_token": "shpat_test_token",
                "webhook_secret": SHOPIFY_SECRET,
                "timezone": "Europe/Amsterdam",
                "locale": "nl",
            },
            {
                "id": "theewinkel",
                "platform": "woocommerce",
                "url": "https://theewinkel.example.nl",
                "consumer_key": "ck_test",
                "consumer_secret": "cs_test",
                "webhook_secret": WOO_SECRET,
                "timezone": "Europe/Amsterdam",
                "locale": "nl",
            },
        ],
    }
    raw.update(overrides)
    return settings_from_mapping(raw, env={})


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)
