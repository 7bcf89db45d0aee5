"""The store: migrations create exactly the declared schema; datetimes stay aware and UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from connector.store.db import current_revision
from connector.store.tables import Base, ShopRow


def test_migrations_match_the_declared_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert current_revision(engine) is not None


def test_datetimes_are_stored_as_utc_and_read_back_aware(sessions: sessionmaker[Session]) -> None:
    amsterdam = timezone(timedelta(hours=1))
    created = datetime(2026, 11, 24, 18, 0, tzinfo=amsterdam)
    with sessions.begin() as session:
        session.add(ShopRow(id="s", platform="shopify", key="s.myshopify.com", created_at=created, settings={}))
    with sessions() as session:
        row = session.scalars(select(ShopRow)).one()
        assert row.created_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
        assert row.created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(ShopRow(id="s", platform="shopify", key="k", created_at=datetime(2026, 1, 1), settings={}))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()
