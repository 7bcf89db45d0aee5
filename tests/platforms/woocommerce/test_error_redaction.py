"""Secrets never in error text (issue 14, item 7).

Over plain HTTP every REST call is an OAuth 1.0a signed URL (``oauth_consumer_key=ck_…``, ``oauth_signature``),
and requests quotes that URL in its connection errors; on the real shop the stored action error and the dashboard
showed it (../shared/platforms/woocommerce-real-2026-12.md, "fault: WP stopped"). What the outbox stores, what
the dashboard shows and what is logged must name the host and the error, never a key, secret or signature.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from connector.actions import ActionKind, PlannedAction
from connector.logs import JsonFormatter
from connector.platforms.base import RetryableError
from connector.platforms.woocommerce.client import WooCommerceClient, redact
from connector.sandbox.server import BackgroundServer
from connector.sandbox.woocommerce import WooSandbox

from .live import Clock, outbox, shop_for

LEAKS = ("ck_", "cs_", "oauth_signature", "oauth_consumer_key", "oauth_nonce", "consumer_secret")


def assert_clean(text: str, site: WooSandbox) -> None:
    for leak in (*LEAKS, site.consumer_key, site.consumer_secret):
        assert leak not in text, (leak, text)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(clock: Clock) -> Iterator[WooSandbox]:
    sandbox = WooSandbox(clock=clock, ping_on_create=False)
    with sandbox.serve():
        yield sandbox


def closed_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FailingProxy:
    """A reverse proxy in front of the shop whose 5xx page quotes the request line, signed query string and all
    (as Apache's and many hosts' error pages do); JSON-shaped too, as a PHP error handler may answer."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        uri = environ["PATH_INFO"] + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
        line = f"{environ['REQUEST_METHOD']} {uri.replace('&', '&amp;')}"
        if self.as_json:
            body = json.dumps({"code": "upstream_error", "message": f"upstream failed for {uri}"})
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
        else:
            body = f"<h1>Proxy Error</h1><p>Could not handle the request <em>{line}</em>. Reason: upstream reset</p>"
            start_response("502 Proxy Error", [("Content-Type", "text/html")])
        return [body.encode()]


def test_requests_itself_puts_the_signed_url_in_a_connection_error(site: WooSandbox) -> None:
    """Why this matters: the raw exception text carries the key (the outbox used to store it as is)."""
    port = closed_port()
    shop = shop_for(site, api_base_url=f"http://127.0.0.1:{port}")
    api = WooCommerceClient(shop, clock=Clock()).api
    with pytest.raises(requests.ConnectionError) as raw:
        api.get("orders/5001")
    assert "oauth_consumer_key=ck_" in str(raw.value)


def test_connection_refused_stores_host_and_error_type_but_no_key(
    db_url: str, engine: Engine, clock: Clock, site: WooSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = int(site.create_order()["id"])
    port = closed_port()
    caplog.set_level(logging.DEBUG)
    with outbox(db_url, engine, clock, site, url=f"http://127.0.0.1:{port}") as box:
        note = box.run(order_id, PlannedAction(ActionKind.ADD_NOTE, "address", "1-note", {"text": "Huisnummer?"}))
    assert (note.state, note.attempts) == ("pending", 1)  # retried later
    assert note.last_error is not None
    assert f"127.0.0.1:{port}" in note.last_error
    assert "ConnectionError" in note.last_error
    assert "Connection refused" in note.last_error
    assert "/orders/" in note.last_error
    assert_clean(note.last_error, site)
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert_clean(logged, site)


@pytest.mark.parametrize("as_json", [False, True], ids=["html-page", "json"])
def test_a_5xx_page_quoting_the_signed_request_is_stored_without_the_key(
    db_url: str, engine: Engine, clock: Clock, site: WooSandbox, as_json: bool
) -> None:
    order_id = int(site.create_order()["id"])
    step = PlannedAction(ActionKind.ADD_TAGS, "address", "1-tag", {"tags": ["ordercare:address"]})
    with BackgroundServer(FailingProxy(as_json)) as proxy, outbox(db_url, engine, clock, site, url=proxy.url) as box:
        tag = box.run(order_id, step)
    assert tag.state == "pending"
    assert tag.last_error is not None
    assert ("503 upstream_error" if as_json else "502") in tag.last_error
    assert "/wp-json/wc/v3/orders/" in tag.last_error  # still says which call failed
    assert_clean(tag.last_error, site)


def test_the_client_errors_themselves_are_clean(site: WooSandbox) -> None:
    """``str(error)``, the one a traceback or a log line shows, and its ``platform_message``, the one stored."""
    port = closed_port()
    client = WooCommerceClient(shop_for(site, api_base_url=f"http://127.0.0.1:{port}"), clock=Clock())
    with pytest.raises(RetryableError) as error:
        client.get_order("5001")
    for text in (str(error.value), error.value.platform_message):
        assert f"127.0.0.1:{port}" in text
        assert "ConnectionError" in text
        assert_clean(text, site)
    assert error.value.__cause__ is None  # the raw exception (and its URL) is not chained
    assert error.value.__suppress_context__


def test_urllib3s_request_log_lines_carry_no_key(site: WooSandbox, caplog: pytest.LogCaptureFixture) -> None:
    order_id = int(site.create_order()["id"])
    caplog.set_level(logging.DEBUG, logger="urllib3")
    client = WooCommerceClient(shop_for(site), clock=Clock())
    client.get_order(str(order_id))
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("urllib3")]
    assert any(f"/wp-json/wc/v3/orders/{order_id}" in line for line in lines)
    for line in lines:
        assert_clean(line, site)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Max retries exceeded with url: /wp-json/wc/v3/orders?per_page=100&oauth_consumer_key=ck_abc123"
            "&oauth_timestamp=1764000000&oauth_nonce=f00&oauth_signature_method=HMAC-SHA256"
            "&oauth_signature=Zm9v%2Bbar%3D&page=2 (Caused by NewConnectionError: Connection refused)",
            "Max retries exceeded with url: /wp-json/wc/v3/orders?per_page=100&page=2"
            " (Caused by NewConnectionError: Connection refused)",
        ),
        (
            "GET https://winkel.example.nl/wp-json/wc/v3/orders/1?consumer_key=ck_1&consumer_secret=cs_2 failed",
            "GET https://winkel.example.nl/wp-json/wc/v3/orders/1 failed",
        ),
        (
            "GET /orders/1?oauth_consumer_key=ck_1&amp;oauth_signature=x&amp;page=1 refused",
            "GET /orders/1?page=1 refused",
        ),
        ("proxy https://ck_1:cs_2@winkel.example.nl/wp-json/ down", "proxy https://winkel.example.nl/wp-json/ down"),
        ("Authorization: Basic Y2tfMTpjc18y rejected", "Authorization: Basic [redacted] rejected"),
        ('OAuth oauth_consumer_key="ck_1", oauth_signature="c2ln"', "OAuth [redacted], [redacted]"),
        ("the key ck_0123abcd was revoked", "the key [redacted] was revoked"),
        ("Is the shop up? No: 503 at winkel.example.nl:8443", "Is the shop up? No: 503 at winkel.example.nl:8443"),
        ("GET /orders?status=on-hold&page=2: 500", "GET /orders?status=on-hold&page=2: 500"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_masks_the_shops_own_secrets_whatever_their_shape() -> None:
    assert redact("echo: hunter2secret in body", "hunter2secret") == "echo: [redacted] in body"
    assert redact("a short one: x", "x") == "a short one: x"  # too short to mask without mangling the text
