"""An upgrade from revision 0005 (before carrier events), with a shop's working data in it, keeps every row.

The rows are written with plain SQL in the columns that schema has, as a running installation left them: a
shop, an order, an open incident, the outbox action it planned and the promise its message made. After
``upgrade`` to head they read back unchanged through today's model, and what every later migration added
(new tables, new columns on these tables) starts empty or at the model's default. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from connector import codec
from connector.store.db import current_revision, upgrade
from connector.store.tables import (
    ActionRow,
    Base,
    CarrierEventRow,
    IncidentRow,
    Json,
    OrderRow,
    PromiseRow,
    ShopRow,
    UTCDateTime,
)
from tests.builders import order
from tests.test_migrations import REVISIONS, scratch_database

BEFORE_NEWEST = "0005"  # the schema 0006 (carrier events) starts from
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def insert(connection: sa.Connection, table: str, row: dict[str, Any]) -> None:
    """``INSERT INTO table (...) VALUES (...)``, times stored as the store stores them, documents as JSON."""
    params = []
    for name, value in row.items():
        kind = UTCDateTime() if isinstance(value, datetime) else Json if isinstance(value, dict | list) else None
        params.append(sa.bindparam(name, value, type_=kind) if kind is not None else sa.bindparam(name, value))
    columns = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})").bindparams(*params))


def shop_row() -> dict[str, Any]:
    return {
        "id": "fietsen", "platform": "shopify", "key": "fietsen.myshopify.com", "name": "Fietsen",
        "status": "active", "source": "installed", "credentials": "sealed-token", "timezone": "Europe/Amsterdam",
        "locale": "nl", "country": "NL", "settings": {"policies": {"stale": {"after_hours": 48}}},
        "created_at": NOW - timedelta(days=30), "installed_at": NOW - timedelta(days=30),
        "last_reconciled_at": NOW, "reconcile_cursor": NOW - timedelta(minutes=15),
    }  # fmt: skip


def order_row(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": 7, "shop_id": "fietsen", "external_id": "1001", "number": "#1001", "status": "paid",
        "platform_status": "paid", "channel": "web", "customer_email": "anna@example.nl",
        "customer_external_id": "7300000000000000001", "created_at": NOW - timedelta(days=2),
        "platform_updated_at": NOW - timedelta(days=1), "ingested_at": NOW - timedelta(days=1),
        "next_check_at": NOW + timedelta(hours=4), "deleted": False, "data": snapshot,
    }  # fmt: skip


def incident_row() -> dict[str, Any]:
    return {
        "id": 11, "shop_id": "fietsen", "order_id": 7, "kind": "stale", "state": "escalated", "level": 1,
        "occurrence": 1, "opened_at": NOW - timedelta(hours=6), "updated_at": NOW,
        "details": {"status": "paid", "hours": 50},
    }  # fmt: skip


def action_row() -> dict[str, Any]:
    return {
        "id": 3, "shop_id": "fietsen", "order_id": 7, "incident_id": 11, "policy": "stale", "kind": "notify_customer",
        "idempotency_key": "fietsen:1001:stale:1-mail", "after_key": "fietsen:1001:stale:1-tag",
        "after_even_if_failed": True, "payload": {"template": "stale_update", "new_date": "2026-11-26"},
        "state": "pending", "attempts": 1, "next_attempt_at": NOW + timedelta(minutes=5),
        "last_error": "SMTP 451 try again later", "created_at": NOW - timedelta(hours=6),
    }  # fmt: skip


def promise_row() -> dict[str, Any]:
    return {
        "id": 5, "shop_id": "fietsen", "order_id": 7, "action_id": 3, "policy": "stale", "template": "stale_update",
        "kind": "delivery_by", "promised_on": date(2026, 11, 26), "awaits": "shipped", "made_at": NOW,
        "ended": "open",
    }  # fmt: skip


def _columns(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {table: {c["name"] for c in inspector.get_columns(table)} for table in inspector.get_table_names()}


def _default_of(table: str, column: str) -> Any:
    """What a row that existed before ``column`` was added reads back as: the model's scalar default, or None."""
    default = Base.metadata.tables[table].c[column].default
    return getattr(default, "arg", None) if default is not None and getattr(default, "is_scalar", False) else None


def test_the_upgrade_from_0005_keeps_a_shops_data(database_url: str, tmp_path: Path) -> None:
    assert REVISIONS[REVISIONS.index(BEFORE_NEWEST) + 1] == "0006"
    snapshot = codec.dump_order(order("1001"))
    with scratch_database(database_url, tmp_path) as engine:
        # given a database at revision 0005, in use
        upgrade(engine, BEFORE_NEWEST)
        with engine.begin() as connection:
            insert(connection, "shops", shop_row())
            insert(connection, "orders", order_row(snapshot))
            insert(connection, "incidents", incident_row())
            insert(connection, "actions", action_row())
            insert(connection, "promises", promise_row())
        before = _columns(engine)

        # when it is upgraded to the newest schema
        upgrade(engine)
        after = _columns(engine)

        # then each row reads back through today's model as it was written
        assert current_revision(engine) == REVISIONS[-1]
        with Session(engine) as session:
            shop = session.get(ShopRow, "fietsen")
            assert shop is not None
            assert (shop.source, shop.credentials, shop.settings, shop.webhook_keys) == (
                "installed", "sealed-token", {"policies": {"stale": {"after_hours": 48}}}, None,
            )  # fmt: skip
            assert (shop.last_reconciled_at, shop.reconcile_cursor) == (NOW, NOW - timedelta(minutes=15))
            stored = session.get(OrderRow, 7)
            assert stored is not None
            assert (stored.external_id, stored.customer_external_id, stored.next_check_at, stored.deleted) == (
                "1001", "7300000000000000001", NOW + timedelta(hours=4), False,
            )  # fmt: skip
            assert codec.load_order(stored.data) == order("1001")
            incident = session.get(IncidentRow, 11)
            assert incident is not None
            assert (incident.kind, incident.state, incident.level, incident.opened_at, incident.details) == (
                "stale", "escalated", 1, NOW - timedelta(hours=6), {"status": "paid", "hours": 50},
            )  # fmt: skip
            action = session.get(ActionRow, 3)
            assert action is not None
            assert (action.incident_id, action.after_key, action.after_even_if_failed, action.state) == (
                11, "fietsen:1001:stale:1-tag", True, "pending",
            )  # fmt: skip
            assert (action.attempts, action.next_attempt_at, action.last_error, action.payload) == (
                1, NOW + timedelta(minutes=5), "SMTP 451 try again later",
                {"template": "stale_update", "new_date": "2026-11-26"},
            )  # fmt: skip
            promise = session.get(PromiseRow, 5)
            assert promise is not None
            assert (promise.action_id, promise.promised_on, promise.made_at, promise.ended, promise.ended_at) == (
                3, date(2026, 11, 26), NOW, "open", None,
            )  # fmt: skip

            # and what the later migrations added starts empty or at its default
            assert "carrier_events" in set(after) - set(before)
            assert session.scalar(sa.select(sa.func.count()).select_from(CarrierEventRow)) == 0
            for table in ("shops", "orders", "incidents", "actions", "promises"):
                for column in sorted(after[table] - before[table]):
                    value = session.execute(sa.text(f"SELECT {column} FROM {table}")).scalar_one()
                    assert value == _default_of(table, column), (table, column)

            # the new table takes the shop's carrier news, with its defaults
            session.add(
                CarrierEventRow(
                    shop_id="fietsen", source="sendcloud", dedupe_key="sendcloud:1", tracking_number="3SABC123",
                    happened_at=NOW, received_at=NOW, event={"status": "in_transit"},
                )
            )  # fmt: skip
            session.commit()
            event = session.scalars(sa.select(CarrierEventRow)).one()
            assert (event.shop_id, event.needs_details, event.order_external_id, event.expires_at) == (
                "fietsen", False, None, None,
            )  # fmt: skip


def test_a_column_added_later_reads_as_its_default_on_rows_from_before(database_url: str, tmp_path: Path) -> None:
    """The rule above on migrations that did add columns: 0002 (actions) and 0003 (shops), from 0001."""
    with scratch_database(database_url, tmp_path) as engine:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            shop = {key: value for key, value in shop_row().items() if key != "webhook_keys"}
            insert(connection, "shops", shop)
            insert(connection, "orders", order_row(codec.dump_order(order("1001"))))
            action = {key: value for key, value in action_row().items() if key not in ("after_even_if_failed",)}
            insert(connection, "actions", {**action, "incident_id": None})
        before = _columns(engine)
        upgrade(engine)
        added = {table: sorted(_columns(engine)[table] - before[table]) for table in ("shops", "actions")}
        assert added == {"shops": ["webhook_keys"], "actions": ["after_even_if_failed"]}
        assert (_default_of("shops", "webhook_keys"), _default_of("actions", "after_even_if_failed")) == (None, False)
        with Session(engine) as session:
            stored_action = session.get(ActionRow, 3)
            stored_shop = session.get(ShopRow, "fietsen")
            assert stored_action is not None
            assert stored_shop is not None
            assert (stored_action.after_even_if_failed, stored_shop.webhook_keys) == (False, None)
