"""``POST /webhooks/<platform>``: verify the raw bytes, dedupe, store, answer — never call a shop.

The contract (pinned in tests): body over the limit 413, unknown or unnamed shop 401, bad signature 401,
a topic outside the adapter's ``topics`` (ignored or unknown) 200 (counted), malformed body 400, a delivery
the adapter parses to None 200 (counted), otherwise 200 once the event is stored. A platform's unsigned
ping (WooCommerce, on webhook creation) gets 200 and changes nothing. The adapter side of it is the
``PlatformAdapter`` contract in ``connector.platforms.base``.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request

from connector import platforms
from connector.ingest import RawDelivery, ingest
from connector.platforms.base import MalformedPayload
from connector.services import Services
from connector.shops import record_signature_failure
from connector.store.db import transaction

log = logging.getLogger(__name__)
bp = Blueprint("webhook_routes", __name__)


def _reject(services: Services, platform: str, status: int, reason: str, message: str) -> tuple[Response, int]:
    services.metrics.webhooks_rejected.labels(platform, reason).inc()
    log.info("webhook rejected", extra={"platform": platform, "reason": reason, "status": status})
    return jsonify(error=message), status


@bp.post("/webhooks/<platform>")
def receive(platform: str) -> tuple[Response, int]:
    services: Services = current_app.extensions["ordercare"]
    if platform not in {p.value for p in platforms.SUPPORTED}:
        return jsonify(error=f"unknown platform {platform!r}"), 404
    started = time.perf_counter()
    adapter = platforms.adapter(platform)
    limit = services.settings.max_webhook_bytes
    if request.content_length is not None and request.content_length > limit:
        return _reject(services, platform, 413, "too_large", f"body larger than {limit} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return _reject(services, platform, 413, "too_large", f"body larger than {limit} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}

    if adapter.is_ping(headers, body):
        services.metrics.webhooks_received.labels(platform, "ping").inc()
        return jsonify(ok=True), 200
    key = adapter.shop_key(headers)
    if not key:
        return _reject(services, platform, 401, "no_shop", "the delivery does not name its shop")
    shop = services.shops.by_key(platform, key)
    if shop is None:
        return _reject(services, platform, 401, "unknown_shop", "unknown shop")
    if not adapter.verify(headers, body, shop.webhook_secrets):
        with transaction(services.sessions) as session:  # counted for the shop: reconcile repairs its webhooks
            record_signature_failure(session, shop, headers, adapter.topic(headers) or "", len(body), services.now())
        return _reject(services, platform, 401, "bad_signature", "signature does not match")
    topic = adapter.topic(headers) or ""
    if topic not in adapter.topics:
        services.metrics.webhooks_ignored.labels(platform, topic[:64] or "none").inc()
        log.info("webhook topic not handled", extra={"platform": platform, "shop": shop.id, "topic": topic})
        return jsonify(ok=True, ignored=topic), 200
    try:
        event = adapter.parse(headers, body, shop.context)
    except MalformedPayload as exc:
        return _reject(services, platform, 400, "malformed", f"malformed body: {exc}")
    if event is None:
        services.metrics.webhooks_ignored.labels(platform, topic[:64]).inc()
        return jsonify(ok=True, ignored=topic), 200

    with transaction(services.sessions) as session:
        outcome = ingest(
            session,
            shop,
            event,
            services.now(),
            RawDelivery(topic=topic, body=body),
            services.settings.raw_event_max_bytes,
        )
    services.metrics.webhooks_received.labels(platform, outcome.value).inc()
    if outcome.value == "applied" and event.order is not None:
        services.metrics.orders_stored.labels(platform).inc()
    services.metrics.webhook_seconds.labels(platform).observe(time.perf_counter() - started)
    log.info("webhook stored", extra={"platform": platform, "shop": shop.id, "topic": topic, "outcome": outcome.value})
    return jsonify(ok=True, outcome=outcome.value), 200
