"""The WooCommerce adapter: ping, shop, signature, topics, and what ingest makes of the events."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.ingest import Outcome, RawDelivery, ingest
from connector.model import EventKind, OrderStatus, Platform
from connector.platforms import adapter as registry_adapter
from connector.platforms.base import MalformedPayload, ShopContext
from connector.platforms.woocommerce import ADAPTER
from connector.platforms.woocommerce.adapter import EPOCH, sign
from connector.store.db import transaction
from tests.conftest import WOO_SECRET, fixture_json

from .support import SITE, config_shop, counts, delivery, stored_order

SHOP = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")


def nl_order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(fixture_json("woocommerce/order_updated__nl_split_address.json"))
    data.update(changes)
    return data


def test_registry_finds_the_adapter_and_topics_come_from_the_dispatch() -> None:
    assert registry_adapter("woocommerce") is ADAPTER
    assert ADAPTER.topics == frozenset({"order.created", "order.updated", "order.deleted", "order.restored"})


# --- ping ----------------------------------------------------------------------------------------


def test_ping_is_recognised_without_headers() -> None:
    headers = {"content-type": "application/x-www-form-urlencoded", "user-agent": "WooCommerce/9.4.2 Hookshot"}
    assert ADAPTER.is_ping(headers, b"webhook_id=17") is True
    assert ADAPTER.shop_key(headers) is None


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"x-wc-webhook-topic": "order.updated"}, b"webhook_id=17"),  # a real delivery never is a ping
        ({}, b"webhook_id=abc"),
        ({}, b'{"webhook_id": 17}'),
        ({}, b""),
    ],
)
def test_not_a_ping(headers: dict[str, str], body: bytes) -> None:
    assert ADAPTER.is_ping(headers, body) is False


def test_a_ping_stores_nothing(settings: Settings, sessions: sessionmaker[Session], now: datetime) -> None:
    config_shop(settings, sessions, now)
    assert ADAPTER.is_ping({}, b"webhook_id=17")
    assert counts(sessions) == (0, 0, 0)


# --- shop and signature --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", ["https://theewinkel.example.nl/", "https://theewinkel.example.nl", "HTTPS://Theewinkel.example.nl/"]
)
def test_shop_key_is_the_normalised_site_url(source: str) -> None:
    assert ADAPTER.shop_key({"x-wc-webhook-source": source}) == SITE


def test_signature_good_bad_and_rotated() -> None:
    headers, body = delivery("order.updated", nl_order())
    assert ADAPTER.verify(headers, body, [WOO_SECRET]) is True
    assert ADAPTER.verify(headers, body, ["new-secret", WOO_SECRET]) is True  # during a rotation
    assert ADAPTER.verify(headers, body, ["another-secret"]) is False
    assert ADAPTER.verify(headers, body + b" ", [WOO_SECRET]) is False  # the raw bytes are signed
    assert ADAPTER.verify({**headers, "x-wc-webhook-signature": ""}, body, [WOO_SECRET]) is False
    without = {k: v for k, v in headers.items() if k != "x-wc-webhook-signature"}
    assert ADAPTER.verify(without, body, [WOO_SECRET]) is False
    assert ADAPTER.verify(headers, body, []) is False


def test_secret_is_html_decoded_before_signing_as_wordpress_does() -> None:
    assert sign(b"{}", "a&amp;b") == sign(b"{}", "a&b")


# --- parsing -------------------------------------------------------------------------------------


def test_order_updated_event() -> None:
    headers, body = delivery("order.updated", nl_order())
    event = ADAPTER.parse(headers, body, SHOP)
    assert event is not None
    assert event.kind is EventKind.ORDER
    assert event.topic == "order.updated"
    assert event.dedupe_key.startswith("content:5120:2026-11-23T16:45:31:")  # + a digest of the mapped order
    assert event.occurred_at == datetime(2026, 11, 23, 16, 45, 31, tzinfo=UTC)
    assert event.order is not None
    assert event.order.shop_id == "theewinkel"


def test_dedupe_key_ignores_the_delivery_id() -> None:
    headers, body = delivery("order.updated", nl_order())
    first = ADAPTER.parse(headers, body, SHOP)
    second = ADAPTER.parse({**headers, "x-wc-webhook-delivery-id": "another"}, body, SHOP)
    assert first is not None
    assert second is not None
    assert first.dedupe_key == second.dedupe_key


def test_checkout_draft_is_ignored() -> None:
    headers, body = delivery("order.updated", fixture_json("woocommerce/order_updated__checkout_draft.json"))
    assert ADAPTER.parse(headers, body, SHOP) is None


def test_order_deleted_carries_only_the_id() -> None:
    headers, body = delivery("order.deleted", fixture_json("woocommerce/order_deleted__trashed.json"))
    event = ADAPTER.parse(headers, body, SHOP)
    assert event is not None
    assert (event.kind, event.order_external_id) == (EventKind.ORDER_DELETED, "5120")
    assert event.dedupe_key == "content:5120:deleted"  # the same for every trash: ingest reads the deletion state
    assert event.occurred_at == EPOCH
    assert event.order is None


def test_order_deleted_with_a_relay_timestamp() -> None:
    headers, body = delivery("order.deleted", {"id": 5120})
    headers["x-wc-webhook-deleted-at"] = "2026-11-24T08:00:00Z"
    event = ADAPTER.parse(headers, body, SHOP)
    assert event is not None
    assert event.occurred_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_unsupported_topic_is_ignored() -> None:
    headers, body = delivery("product.updated", {"id": 12})
    assert ADAPTER.parse(headers, body, SHOP) is None


@pytest.mark.parametrize(
    ("topic", "body", "field"),
    [
        ("order.updated", b"{not json", "body"),
        ("order.updated", b"[1, 2]", "body"),
        ("order.updated", b'{"status": "processing"}', "id"),
        ("order.deleted", b'{"id": "x"}', "id"),
        ("order.updated", b"\xff\xfe", "body"),
    ],
)
def test_malformed_bodies_name_the_field(topic: str, body: bytes, field: str) -> None:
    headers, raw = delivery(topic, body)
    with pytest.raises(MalformedPayload) as error:
        ADAPTER.parse(headers, raw, SHOP)
    assert str(error.value).startswith(f"{field}:")


def test_missing_topic_header_is_malformed() -> None:
    headers, body = delivery("order.updated", nl_order())
    del headers["x-wc-webhook-topic"]
    with pytest.raises(MalformedPayload, match="x-wc-webhook-topic"):
        ADAPTER.parse(headers, body, SHOP)


# --- through ingest ------------------------------------------------------------------------------


def _ingest(sessions: sessionmaker[Session], settings: Settings, now: datetime, topic: str, body: Any) -> Outcome:
    shop = config_shop(settings, sessions, now)
    headers, raw = delivery(topic, body)
    event = ADAPTER.parse(headers, raw, shop.context)
    assert event is not None
    with transaction(sessions) as session:
        return ingest(session, shop, event, now, RawDelivery(topic, raw))


def test_same_content_twice_is_a_duplicate(settings: Settings, sessions: sessionmaker[Session], now: datetime) -> None:
    assert _ingest(sessions, settings, now, "order.created", nl_order()) is Outcome.APPLIED
    assert _ingest(sessions, settings, now, "order.updated", nl_order()) is Outcome.DUPLICATE
    assert counts(sessions) == (1, 1, 1)


def test_older_snapshot_after_a_newer_one_changes_nothing(
    settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    newer = nl_order(status="completed", date_modified_gmt="2026-11-24T08:00:00")
    older = nl_order(status="on-hold", date_modified_gmt="2026-11-23T17:00:00")
    assert _ingest(sessions, settings, now, "order.updated", newer) is Outcome.APPLIED
    assert _ingest(sessions, settings, now, "order.updated", older) is Outcome.STALE
    stored = stored_order(sessions, "theewinkel", "5120")
    assert stored is not None
    order, deleted = stored
    assert (order.status, order.platform_status, deleted) == (OrderStatus.SHIPPED, "completed", False)
    assert order.updated_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert order.active_holds == ()


def test_coalesced_delivery_jumps_to_the_latest_state(
    settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    # WooCommerce builds the payload when the queue runs: two changes arrive as one, the latest
    assert _ingest(sessions, settings, now, "order.created", nl_order(status="pending")) is Outcome.APPLIED
    latest = nl_order(status="completed", date_modified_gmt="2026-11-24T08:00:00")
    assert _ingest(sessions, settings, now, "order.updated", latest) is Outcome.APPLIED
    assert _ingest(sessions, settings, now, "order.updated", latest) is Outcome.DUPLICATE
    stored = stored_order(sessions, "theewinkel", "5120")
    assert stored is not None
    assert stored[0].platform_status == "completed"


def test_drafts_store_nothing(settings: Settings, sessions: sessionmaker[Session], now: datetime) -> None:
    shop = config_shop(settings, sessions, now)
    headers, raw = delivery("order.updated", fixture_json("woocommerce/order_updated__checkout_draft.json"))
    assert ADAPTER.parse(headers, raw, shop.context) is None
    assert counts(sessions) == (0, 0, 0)


def is_deleted(sessions: sessionmaker[Session]) -> bool:
    stored = stored_order(sessions, "theewinkel", "5120")
    assert stored is not None
    return stored[1]


def test_deleted_then_restored(settings: Settings, sessions: sessionmaker[Session], now: datetime) -> None:
    assert _ingest(sessions, settings, now, "order.created", nl_order()) is Outcome.APPLIED
    assert _ingest(sessions, settings, now, "order.deleted", {"id": 5120}) is Outcome.APPLIED
    assert is_deleted(sessions) is True
    # a stale update after the trash does not bring it back
    stale = nl_order(date_modified_gmt="2026-11-23T16:00:00")
    assert _ingest(sessions, settings, now, "order.updated", stale) is Outcome.STALE
    assert is_deleted(sessions) is True
    restored = nl_order(date_modified_gmt="2026-11-24T08:30:00")
    assert _ingest(sessions, settings, now, "order.restored", restored) is Outcome.APPLIED
    assert is_deleted(sessions) is False
    stored = stored_order(sessions, "theewinkel", "5120")
    assert stored is not None
    order = stored[0]
    assert order.updated_at == datetime(2026, 11, 24, 8, 30, tzinfo=UTC)


def test_deletion_of_an_unknown_order_waits_for_the_order(
    settings: Settings, sessions: sessionmaker[Session], now: datetime
) -> None:
    # the order.created delivery may come late: the deletion waits for it instead of being lost
    assert _ingest(sessions, settings, now, "order.deleted", {"id": 999}) is Outcome.PENDING
    assert counts(sessions)[0] == 0
