"""One parse contract for every platform package (``connector.platforms.base``), the same assertions on each.

The dispatch table is the single source of the supported topics and the subscriptions; a topic outside it
(ignored or unknown) is parsed to None on every platform, and over HTTP it is answered 2xx and stored nowhere.
Every supported topic is parsed from a fixture (Shopify's and WooCommerce's published samples where they exist,
copied from ``../shared/fixtures`` into ``tests/fixtures``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector import platforms
from connector.model import EventKind, Platform
from connector.platforms.base import MalformedPayload, ShopContext
from connector.services import Services
from connector.store.tables import OrderRow, PendingEvent, RawEvent, WebhookReceipt
from tests.conftest import FIXTURES, fixture_bytes, make_settings
from tests.platforms.shopify.conftest import SHOP as SHOPIFY_SHOP
from tests.platforms.shopify.conftest import signed_headers
from tests.platforms.woocommerce.support import delivery
from webhooks import create_app

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
WOO_SHOP = ShopContext(shop_id="theewinkel", platform=Platform.WOOCOMMERCE, timezone="Europe/Amsterdam", country="NL")

Fixture = tuple[str, EventKind | None]  # path under tests/fixtures, the kind of event it parses to (None: nothing)


@dataclass(frozen=True)
class Case:
    """What the shared assertions need to know about one platform."""

    platform: Platform
    shop: ShopContext
    headers: Callable[[str, bytes], dict[str, str]]  # (topic, body) -> signed headers, lower-case names
    topic_header: str
    fixtures: dict[str, list[Fixture]]  # every supported topic -> fixtures parsed as that topic
    ignored_fixtures: dict[str, str] = field(default_factory=dict)  # ignored topic -> a real body of it
    unknown: tuple[str, ...] = ()  # topics this platform has never heard of
    not_subscribed: frozenset[str] = frozenset()  # supported topics ensure_webhooks does not register

    @property
    def adapter_module(self) -> ModuleType:
        return importlib.import_module(f"{platforms.package(self.platform).__name__}.adapter")

    @property
    def mapper_module(self) -> ModuleType:
        return importlib.import_module(f"{platforms.package(self.platform).__name__}.mapper")

    @property
    def client_module(self) -> ModuleType:
        return importlib.import_module(f"{platforms.package(self.platform).__name__}.client")


def _woo_headers(topic: str, body: bytes) -> dict[str, str]:
    return delivery(topic, body)[0]


SHOPIFY_ORDER = "shopify/webhooks/orders_create.json"  # Shopify's one sample body for every orders/* topic
WOO_ORDER = "woocommerce/rest_order_created.json"  # WooCommerce's REST v3 order: the body of every order.* topic

SHOPIFY = Case(
    platform=Platform.SHOPIFY,
    shop=SHOPIFY_SHOP,
    headers=signed_headers,
    topic_header="x-shopify-topic",
    fixtures={
        "orders/create": [(SHOPIFY_ORDER, EventKind.ORDER), ("shopify/orders_create__nl_paid.json", EventKind.ORDER)],
        "orders/updated": [(SHOPIFY_ORDER, EventKind.ORDER)],
        "orders/paid": [(SHOPIFY_ORDER, EventKind.ORDER)],
        "orders/fulfilled": [
            (SHOPIFY_ORDER, EventKind.ORDER),
            ("shopify/orders_fulfilled__nl_postnl.json", EventKind.ORDER),
        ],
        "orders/partially_fulfilled": [(SHOPIFY_ORDER, EventKind.ORDER)],
        "orders/cancelled": [
            (SHOPIFY_ORDER, EventKind.ORDER),
            ("shopify/orders_cancelled__nl_refunded.json", EventKind.ORDER),
        ],
        "orders/edited": [("shopify/webhooks/orders_edited.json", None)],
        "orders/delete": [("shopify/webhooks/orders_delete.json", EventKind.ORDER_DELETED)],
        "fulfillments/create": [("shopify/webhooks/fulfillments_create.json", EventKind.SHIPMENT)],
        "fulfillments/update": [
            ("shopify/webhooks/fulfillments_create.json", EventKind.SHIPMENT),
            ("shopify/fulfillments_update__nl_delivered.json", EventKind.SHIPMENT),
        ],
        "fulfillment_events/create": [("shopify/webhooks/fulfillment_events_create.json", EventKind.SHIPMENT_EVENT)],
        "fulfillment_orders/placed_on_hold": [
            ("shopify/webhooks/fulfillment_orders_placed_on_hold.json", None),  # Shopify's sample names no order
            ("shopify/fulfillment_orders_placed_on_hold__nl_with_order.json", EventKind.HOLD),
        ],
        "fulfillment_orders/hold_released": [
            ("shopify/webhooks/fulfillment_orders_hold_released.json", None),
            ("shopify/fulfillment_orders_hold_released__nl_with_order.json", EventKind.HOLD),
        ],
        "app/uninstalled": [("shopify/webhooks/app_uninstalled.json", EventKind.APP_UNINSTALLED)],
        "shop/redact": [("shopify/webhooks/shop_redact.json", EventKind.SHOP_REDACT)],
        "customers/redact": [("shopify/webhooks/customers_redact.json", EventKind.CUSTOMER_REDACT)],
        "customers/data_request": [("shopify/webhooks/customers_data_request.json", EventKind.CUSTOMER_DATA_REQUEST)],
    },
    ignored_fixtures={
        "fulfillment_holds/added": "shopify/webhooks/fulfillment_holds_added.json",
        "fulfillment_holds/released": "shopify/webhooks/fulfillment_holds_released.json",
    },
    unknown=("products/create", "refunds/create", "order.created"),
    not_subscribed=frozenset({"customers/data_request", "customers/redact", "shop/redact"}),  # app configuration
)

WOOCOMMERCE = Case(
    platform=Platform.WOOCOMMERCE,
    shop=WOO_SHOP,
    headers=_woo_headers,
    topic_header="x-wc-webhook-topic",
    fixtures={
        "order.created": [
            (WOO_ORDER, EventKind.ORDER),
            ("woocommerce/order_updated__nl_split_address.json", EventKind.ORDER),
        ],
        "order.updated": [
            (WOO_ORDER, EventKind.ORDER),
            ("woocommerce/order_updated__nl_split_address.json", EventKind.ORDER),
            ("woocommerce/order_updated__ast_shipped_tracking.json", EventKind.ORDER),
            ("woocommerce/order_updated__checkout_draft.json", None),  # not a real order yet
        ],
        "order.deleted": [("woocommerce/order_deleted__trashed.json", EventKind.ORDER_DELETED)],
        "order.restored": [(WOO_ORDER, EventKind.ORDER)],
    },
    unknown=("product.updated", "coupon.created", "action.woocommerce_new_order", "orders/create"),
)

CASES = [SHOPIFY, WOOCOMMERCE]
IDS = [case.platform.value for case in CASES]


def test_every_platform_has_a_case() -> None:
    assert {case.platform for case in CASES} == set(platforms.SUPPORTED)


# --- the table ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_supported_topics_are_the_table_keys(case: Case) -> None:
    module = case.adapter_module
    assert platforms.adapter(case.platform) is module.ADAPTER
    assert isinstance(module.PARSERS, dict)
    assert module.PARSERS
    assert all(isinstance(topic, str) and callable(parser) for topic, parser in module.PARSERS.items())
    assert frozenset(module.PARSERS) == module.SUPPORTED_TOPICS
    assert module.ADAPTER.topics == module.SUPPORTED_TOPICS


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_ignored_topics_are_outside_the_table(case: Case) -> None:
    module = case.adapter_module
    assert isinstance(module.IGNORED_TOPICS, frozenset)
    assert not module.IGNORED_TOPICS & module.SUPPORTED_TOPICS
    assert set(case.ignored_fixtures) == module.IGNORED_TOPICS  # each ignored topic has a real body below
    assert not set(case.unknown) & (module.SUPPORTED_TOPICS | module.IGNORED_TOPICS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_subscriptions_come_from_the_table(case: Case) -> None:
    module, client = case.adapter_module, case.client_module
    assert set(module.SUBSCRIBED_TOPICS) == module.SUPPORTED_TOPICS - case.not_subscribed
    # ensure_webhooks iterates the adapter's own object, not a list of its own
    # (WooCommerce registers its webhooks in ``woocommerce.webhooks``, which keeps a secret per webhook)
    registrar = client if case.platform is Platform.SHOPIFY else importlib.import_module(
        "connector.platforms.woocommerce.webhooks"
    )
    registered = registrar.SUBSCRIBED_TOPICS
    assert registered is module.SUBSCRIBED_TOPICS


ADAPTER_NAMES = {"ADAPTER", "PARSERS", "SUPPORTED_TOPICS", "IGNORED_TOPICS", "SUBSCRIBED_TOPICS", "TOPIC", "sign"}
ADAPTER_METHODS = {"platform", "topics", "shop_key", "topic", "is_ping", "verify", "parse"}
MAPPER_NAMES = {"order_from_rest", "order_status", "channel", "shipment_status"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_packages_share_public_names(case: Case) -> None:
    assert set(vars(case.adapter_module)) >= ADAPTER_NAMES
    assert all(hasattr(case.adapter_module.ADAPTER, name) for name in ADAPTER_METHODS)
    assert set(vars(case.mapper_module)) >= MAPPER_NAMES
    assert all(callable(getattr(case.mapper_module, name)) for name in MAPPER_NAMES)


# --- every supported topic, parsed from a fixture ------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_supported_topic_has_a_fixture(case: Case) -> None:
    assert set(case.fixtures) == case.adapter_module.SUPPORTED_TOPICS
    for path, _ in (item for items in case.fixtures.values() for item in items):
        assert (FIXTURES / path).is_file(), path


FIXTURE_PARAMS = [
    pytest.param(case, topic, path, kind, id=f"{case.platform.value}-{topic}-{path.rsplit('/', 1)[-1]}")
    for case in CASES
    for topic, items in case.fixtures.items()
    for path, kind in items
]


@pytest.mark.parametrize(("case", "topic", "path", "kind"), FIXTURE_PARAMS)
def test_supported_topic_parses_its_fixture(case: Case, topic: str, path: str, kind: EventKind | None) -> None:
    body = fixture_bytes(path)
    event = case.adapter_module.ADAPTER.parse(case.headers(topic, body), body, case.shop)
    if kind is None:
        assert event is None
        return
    assert event is not None
    assert (event.kind, event.topic) == (kind, topic)
    assert event.dedupe_key


NOT_AN_OBJECT = {
    "not-json": b"{not json",
    "not-utf8": b"\xff\xfe",
    "a-list": b"[1, 2]",
    "an-integer-too-long-to-convert": b'{"id": ' + b"1" * 5000 + b"}",
}


@pytest.mark.parametrize("body", list(NOT_AN_OBJECT.values()), ids=list(NOT_AN_OBJECT))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_body_that_is_not_a_json_object_is_malformed(case: Case, body: bytes) -> None:
    topic = "orders/create" if case.platform is Platform.SHOPIFY else "order.created"
    with pytest.raises(MalformedPayload, match=r"^body: "):
        case.adapter_module.ADAPTER.parse(case.headers(topic, body), body, case.shop)


# --- outside the table: the same outcome on every platform ---------------------------------------------


OUTSIDE_PARAMS = [
    pytest.param(case, topic, id=f"{case.platform.value}-{kind}-{topic}")
    for case in CASES
    for kind, topics in (("ignored", sorted(case.ignored_fixtures)), ("unknown", case.unknown))
    for topic in topics
]


def _outside_body(case: Case, topic: str) -> bytes:
    path = case.ignored_fixtures.get(topic) or (SHOPIFY_ORDER if case.platform is Platform.SHOPIFY else WOO_ORDER)
    return fixture_bytes(path)


@pytest.mark.parametrize(("case", "topic"), OUTSIDE_PARAMS)
def test_a_topic_outside_the_table_parses_to_none(case: Case, topic: str) -> None:
    adapter = case.adapter_module.ADAPTER
    body = _outside_body(case, topic)
    assert adapter.parse(case.headers(topic, body), body, case.shop) is None
    # decided on the topic alone: neither the other headers nor the body are read
    assert adapter.parse({case.topic_header: topic}, b"\xff not json", case.shop) is None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_missing_topic_header_is_malformed(case: Case) -> None:
    headers = {k: v for k, v in case.headers("irrelevant", b"{}").items() if k != case.topic_header}
    with pytest.raises(MalformedPayload, match=f"^{case.topic_header}: required header is missing$"):
        case.adapter_module.ADAPTER.parse(headers, b"{}", case.shop)


# --- over HTTP: 2xx and nothing stored ---------------------------------------------------------------------


@pytest.fixture
def web(db_url: str) -> Iterator[tuple[FlaskClient, Services]]:
    services = Services.build(make_settings(db_url), clock=lambda: NOW)
    yield create_app(services).test_client(), services
    services.engine.dispose()


def _rows(services: Services) -> dict[str, int]:
    with services.sessions() as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (OrderRow, RawEvent, WebhookReceipt, PendingEvent)
        }


NOTHING = {"orders": 0, "raw_events": 0, "webhook_receipts": 0, "pending_events": 0}


@pytest.mark.parametrize(("case", "topic"), OUTSIDE_PARAMS)
def test_a_topic_outside_the_table_is_2xx_over_http_and_stores_nothing(
    web: tuple[FlaskClient, Services], case: Case, topic: str
) -> None:
    client, services = web
    body = _outside_body(case, topic)
    response = client.post(f"/webhooks/{case.platform.value}", data=body, headers=case.headers(topic, body))
    assert 200 <= response.status_code < 300
    assert response.json == {"ok": True, "ignored": topic}
    assert _rows(services) == NOTHING
    assert services.metrics.webhooks_ignored.labels(case.platform.value, topic)._value.get() == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_same_delivery_with_a_supported_topic_is_stored(web: tuple[FlaskClient, Services], case: Case) -> None:
    """The control for the test above: the shop, signature and body are good, only the topic made the difference."""
    client, services = web
    topic = "orders/create" if case.platform is Platform.SHOPIFY else "order.created"
    body = _outside_body(case, topic)
    response = client.post(f"/webhooks/{case.platform.value}", data=body, headers=case.headers(topic, body))
    assert (response.status_code, response.json) == (200, {"ok": True, "outcome": "applied"})
    assert _rows(services) == {"orders": 1, "raw_events": 1, "webhook_receipts": 1, "pending_events": 0}
