"""Upgrading keeps the data: a database at every earlier revision, with rows in it, upgrades to head intact.

A release's schema is one of these revisions (CHANGELOG.md names them), so this is the upgrade an operator
runs with ``ordercare db upgrade``, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from connector import codec
from connector.store.db import current_revision, make_engine, pending_revisions, upgrade
from connector.store.tables import ActionRow, OrderRow, ShopRow
from tests.builders import order

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _revisions() -> list[str]:
    engine = make_engine("sqlite://")
    try:
        return [revision for revision, _ in pending_revisions(engine)]
    finally:
        engine.dispose()


REVISIONS = _revisions()


@contextmanager
def scratch_database(database_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database of the test run's backend, dropped afterwards."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'upgrade.db'}")
        yield engine
        engine.dispose()
        return
    name = f"ordercare_upgrade_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(database_url.rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _insert(connection: sa.Connection, table: str, values: dict[str, object]) -> None:
    """Insert into the table as it is at this revision (only the columns it has)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    row = {key: value for key, value in values.items() if key in reflected.c}
    connection.execute(reflected.insert().values(**row))


def test_there_are_releases_to_upgrade_from() -> None:
    assert REVISIONS[0] == "0001"
    assert len(REVISIONS) >= 3


@pytest.mark.parametrize("start", REVISIONS[:-1])
def test_upgrading_from_an_earlier_revision_keeps_the_data(database_url: str, tmp_path: Path, start: str) -> None:
    snapshot = codec.dump_order(order("1001"))
    with scratch_database(database_url, tmp_path) as engine:
        # given a database at an earlier revision with a shop, an order and a failed action in it
        upgrade(engine, start)
        with engine.begin() as connection:
            _insert(connection, "shops", {
                "id": "fietsen", "platform": "shopify", "key": "fietsen.myshopify.com", "name": "Fietsen",
                "status": "active", "source": "config", "timezone": "Europe/Amsterdam", "locale": "nl",
                "country": "NL", "settings": {}, "created_at": NOW,
            })  # fmt: skip
            _insert(connection, "orders", {
                "id": 7, "shop_id": "fietsen", "external_id": "1001", "number": "#1001", "status": "paid",
                "platform_status": "paid", "channel": "web", "customer_email": "anna@example.nl",
                "created_at": NOW, "platform_updated_at": NOW, "ingested_at": NOW, "next_check_at": NOW,
                "deleted": False, "data": snapshot,
            })  # fmt: skip
            _insert(connection, "actions", {
                "id": 3, "shop_id": "fietsen", "order_id": 7, "policy": "address", "kind": "add_tags",
                "idempotency_key": "fietsen:1001:address:1-tag", "payload": {"tags": ["ordercare:address"]},
                "state": "failed", "attempts": 3, "next_attempt_at": NOW, "last_error": "Tags is invalid",
                "created_at": NOW,
            })  # fmt: skip

        # when it is upgraded to the newest schema
        upgrade(engine)

        # then every row is there as it was, and readable through today's model
        assert current_revision(engine) == REVISIONS[-1]
        with Session(engine) as session:
            shop = session.get(ShopRow, "fietsen")
            assert shop is not None
            assert (shop.platform, shop.key, shop.timezone, shop.status) == (
                "shopify",
                "fietsen.myshopify.com",
                "Europe/Amsterdam",
                "active",
            )
            stored = session.get(OrderRow, 7)
            assert stored is not None
            assert (stored.external_id, stored.number, stored.customer_email) == ("1001", "#1001", "anna@example.nl")
            assert codec.load_order(stored.data) == order("1001")
            action = session.get(ActionRow, 3)
            assert action is not None
            assert (action.state, action.attempts, action.last_error, action.payload) == (
                "failed",
                3,
                "Tags is invalid",
                {"tags": ["ordercare:address"]},
            )
            assert session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) == 1
