"""Hostile input: over 10,000 generated bad requests (hypothesis) against both webhook endpoints, the
install callbacks (``/shopify/install``, ``/shopify/callback``, ``/woocommerce/connect/callback``) and the
address-fix page (``/fix/<token>``), through Flask's test client. None may get a 5xx, none may store
anything, and no secret may appear in any response (body or headers) or any log line (captured as the
JSON lines the service writes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, and_, func, select

from connector.logs import JsonFormatter
from connector.services import Services
from connector.shops import BAD_SIGNATURE
from connector.store.tables import Base, RawEvent, ShopRow
from tests.conftest import BACKENDS, SHOPIFY_SECRET, WOO_SECRET, make_settings
from webhooks import create_app

APP_SECRET = "shpss_app_secret_hostile_0123456789"
SECRETS = (
    SHOPIFY_SECRET,
    WOO_SECRET,
    APP_SECRET,
    "shpat_test_token",
    "cs_test_hostile_consumer_secret",
    "test-secret-key-0123456789abcdef",
)
SHOP = "fietsen-test.myshopify.com"
SITE = "https://theewinkel.example.nl/"
COUNTS: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()

# hypothesis examples per test; together well over 10,000 requests
EXAMPLES = {"webhooks": 4_000, "install": 2_000, "connect": 2_000, "fix": 2_000}
# the HTTP layer is the same on both databases (which only have to stay empty): PostgreSQL gets a fifth
POSTGRES_SHARE = 5


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def web(db_url: str, engine: Engine) -> Iterator[tuple[FlaskClient, Services, Captured]]:
    shops = [shop.model_dump(exclude_none=True) for shop in make_settings(db_url).shops]
    shops[1]["consumer_secret"] = "cs_test_hostile_consumer_secret"
    config = make_settings(db_url, shops=shops, shopify_app={"api_key": "app-key-hostile", "api_secret": APP_SECRET})
    services = Services.build(config, engine=engine)
    captured = Captured()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(captured)
    root.setLevel(logging.DEBUG)
    try:
        yield create_app(services).test_client(), services, captured
    finally:
        root.removeHandler(captured)
        root.setLevel(old_level)
        assert_nothing_stored(services)
        leaks = [line for line in captured.lines if any(secret in line for secret in SECRETS)]
        assert not leaks, leaks[:3]


def assert_nothing_stored(services: Services) -> None:
    """Nothing but the two shops, and the counted signature failures of the WooCommerce shop: a row each with no
    body (``connector.shops.record_signature_failure``; three of them get that webhook replaced)."""
    with services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            query = select(func.count()).select_from(table)
            if table.name == RawEvent.__tablename__:
                counted = and_(RawEvent.outcome == BAD_SIGNATURE, RawEvent.body.is_(None))
                query = query.where(~and_(counted, RawEvent.platform == "woocommerce"))
            count = session.scalar(query)
            assert count == (2 if table.name == ShopRow.__tablename__ else 0), table.name


def check(response: Any, endpoint: str) -> None:
    COUNTS[endpoint] += 1
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, (endpoint, response.status_code, response.get_data()[:300])
    text = response.get_data(as_text=False).decode("utf-8", "replace") + json.dumps(dict(response.headers))
    for secret in SECRETS:
        assert secret not in text, (endpoint, secret)


def hypothesis_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


text = st.text(max_size=40)
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_value = st.recursive(
    json_scalar, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=8
)
ORDER_KEYS = [
    *("name", "email", "line_items", "shipping_address", "created_at", "updated_at", "status", "number"),
    *("fulfillments", "billing", "shipping", "date_modified_gmt", "financial_status", "order_id", "customer"),
    *("fulfillment_id", "ids", "orders_to_redact", "shop_domain", "meta_data", "tags", "total_price"),
]
# bodies that cannot be a valid order: no id, or an id of a wrong type, or not JSON at all
bad_object = st.dictionaries(st.sampled_from(ORDER_KEYS), json_value, max_size=8) | st.fixed_dictionaries(
    {"id": st.none() | st.booleans() | st.lists(json_scalar, max_size=2) | st.dictionaries(text, json_scalar)},
    optional={k: json_value for k in ORDER_KEYS},
)
bad_body = (
    st.binary(max_size=300)
    | json_value.map(lambda v: json.dumps(v).encode())
    | bad_object.map(lambda v: json.dumps(v).encode())
)
SHOPIFY_TOPICS = ["orders/create", "orders/updated", "fulfillments/create", "fulfillment_events/create",
                  "fulfillment_orders/placed_on_hold", "customers/redact", "shop/redact", "customers/data_request",
                  "app/uninstalled", "orders/cancelled", "products/update", ""]  # fmt: skip
WOO_TOPICS = ["order.created", "order.updated", "order.deleted", "order.restored", "coupon.created", "", "action.x"]


def shopify_headers(signature: str, topic: str, shop: str, extra: dict[str, str]) -> dict[str, str]:
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop, "X-Shopify-Hmac-Sha256": signature}
    headers["X-Shopify-Webhook-Id"] = extra.pop("id", "hostile-1")
    headers.update(extra)
    return {k: v for k, v in headers.items() if v}


@st.composite
def webhook_request(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes]:
    platform = draw(st.sampled_from(["shopify", "woocommerce", "magento"]))
    body = draw(bad_body)
    signing = draw(st.sampled_from(["right", "wrong", "none", "other_shop"]))
    names = ["id", "X-Shopify-Triggered-At", "X-WC-Webhook-Deleted-At", "Content-Type", "X-WC-Webhook-ID"]
    extra = draw(st.dictionaries(st.sampled_from(names), header_value, max_size=3))
    if platform == "woocommerce":
        secret = {"right": WOO_SECRET, "wrong": "nope", "other_shop": SHOPIFY_SECRET, "none": ""}[signing]
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        source = draw(st.sampled_from([SITE, "https://elders.example.nl/", ""]) | header_value)
        headers = {
            "X-WC-Webhook-Source": source,
            "X-WC-Webhook-Topic": draw(st.sampled_from(WOO_TOPICS) | header_value),
            "X-WC-Webhook-Signature": signature if secret else "",
            **{k: v for k, v in extra.items() if k.startswith("X-WC") or k == "Content-Type"},
        }
        return platform, {k: v for k, v in headers.items() if v}, body
    secret = {"right": SHOPIFY_SECRET, "wrong": "nope", "other_shop": WOO_SECRET, "none": ""}[signing]
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode() if secret else ""
    shop = draw(st.sampled_from([SHOP, "ander-test.myshopify.com", "FIETSEN-TEST.myshopify.com"]) | header_value)
    topic = draw(st.sampled_from(SHOPIFY_TOPICS) | header_value)
    return platform, shopify_headers(signature, topic, shop, dict(extra)), body


def examples(endpoint: str, db_url: str) -> int:
    return EXAMPLES[endpoint] // (1 if db_url.startswith("sqlite") else POSTGRES_SHARE)


@pytest.mark.slow
def test_bad_webhook_deliveries(web: tuple[FlaskClient, Services, Captured], db_url: str) -> None:
    client, _, _ = web

    @hypothesis_settings(examples("webhooks", db_url))
    @given(request=webhook_request(), method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]))
    def deliver(request: Any, method: str) -> None:
        platform, headers, body = request
        response = client.open(f"/webhooks/{platform}", method=method, data=body, headers=headers)
        check(response, "webhooks")
        if method != "POST":
            assert response.status_code == 405

    deliver()


query = st.dictionaries(
    st.sampled_from(["shop", "hmac", "timestamp", "code", "state", "host", "signature", "shop[]", "x"]),
    st.text(max_size=80) | st.sampled_from([SHOP, "evil.example.com", "1795360000", "", "../../etc"]),
    max_size=6,
)


def test_bad_install_requests(web: tuple[FlaskClient, Services, Captured], db_url: str) -> None:
    client, _, _ = web

    @hypothesis_settings(examples("install", db_url))
    @given(path=st.sampled_from(["/shopify/install", "/shopify/callback"]), args=query, cookie=st.text(max_size=120))
    def visit(path: str, args: Any, cookie: str) -> None:
        client.set_cookie("ordercare_shopify_state", cookie.encode("ascii", "ignore").decode())
        check(client.get(path, query_string=args), "install")

    visit()


key_exchange = bad_body | st.fixed_dictionaries(
    {},
    optional={
        "key_id": json_value,
        "user_id": json_value | st.text(max_size=200),
        "consumer_key": json_value,
        "consumer_secret": json_value,
        "key_permissions": st.sampled_from(["read_write", "read", "", "admin"]) | json_value,
    },
).map(lambda v: json.dumps(v).encode())


def test_bad_woocommerce_key_callbacks(web: tuple[FlaskClient, Services, Captured], db_url: str) -> None:
    client, _, _ = web

    @hypothesis_settings(examples("connect", db_url))
    @given(body=key_exchange)
    def post(body: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        check(client.post("/woocommerce/connect/callback", data=body, headers=headers), "connect")

    post()


token = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"), max_size=120)
form = st.dictionaries(
    st.sampled_from(["postcode", "house_number", "street", "city", "country", "csrf", "addition", "address2", "x"]),
    st.text(max_size=60),
    max_size=8,
)


def test_bad_fix_links(web: tuple[FlaskClient, Services, Captured], db_url: str) -> None:
    client, _, _ = web

    @hypothesis_settings(examples("fix", db_url))
    @given(signed=token.filter(bool), method=st.sampled_from(["GET", "POST"]), data=form, lang=st.text(max_size=8))
    def visit(signed: str, method: str, data: Any, lang: str) -> None:
        body = data if method == "POST" else None
        response = client.open(f"/fix/{signed}", method=method, data=body, query_string={"lang": lang})
        check(response, "fix")
        if response.status_code != 404:
            assert response.status_code in (200, 400, 403, 405, 410), response.status_code

    visit()


def test_zz_hostile_totals() -> None:
    """Runs last in this module: prints the figures and checks the volume."""
    print(f"\nhostile input: {sum(COUNTS.values())} requests {dict(COUNTS)}; statuses {dict(sorted(STATUSES.items()))}")
    if len(COUNTS) == len(EXAMPLES):  # the module ran as a whole
        full = sum(EXAMPLES.values()) if "sqlite" in BACKENDS else sum(EXAMPLES.values()) // POSTGRES_SHARE
        assert sum(COUNTS.values()) >= full
        assert "sqlite" not in BACKENDS or full >= 10_000
        assert all(status < 500 for status in STATUSES)
