"""``POST /carriers/<source>/<shop_id>``: a tracking source's webhook: verify, dedupe, match, merge, answer.

The contract (pinned in tests/carriers): unknown source, or one that does not push, 404; body over the limit
413; a shop without this source configured 401; bad signature or authorisation 401 and nothing stored; malformed
body 400; a delivery we do not handle 200 (ignored); otherwise 200 once every event is stored, with one outcome
per event (``unmatched``: kept for a later match, counted). Never calls a carrier or a shop.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from connector.carriers import registry
from connector.carriers.base import CarrierContext, MalformedPayload
from connector.carriers.ingest import receive
from connector.services import Services
from connector.store.db import transaction

log = logging.getLogger(__name__)
bp = Blueprint("carrier_routes", __name__)


def _reject(services: Services, source: str, status: int, reason: str, message: str) -> tuple[Response, int]:
    services.metrics.webhooks_rejected.labels(source, reason).inc()
    log.info("carrier webhook rejected", extra={"source": source, "reason": reason, "status": status})
    return jsonify(error=message), status


@bp.post("/carriers/<source>/<shop_id>")
def receive_carrier(source: str, shop_id: str) -> tuple[Response, int]:
    services: Services = current_app.extensions["ordercare"]
    if source not in registry.SOURCES or not registry.adapter(source).pushes:
        return jsonify(error=f"no webhooks from {source!r}"), 404
    adapter = registry.adapter(source)
    limit = services.settings.max_webhook_bytes
    body = request.stream.read(limit + 1)
    if len(body) > limit or (request.content_length or 0) > limit:
        return _reject(services, source, 413, "too_large", f"body larger than {limit} bytes")
    shop_settings = services.settings.configured_shop(shop_id)
    carriers = shop_settings.carriers if shop_settings is not None else None
    settings = carriers.source(source) if carriers is not None else None
    shop = services.shops.get(shop_id) if settings is not None else None
    if carriers is None or settings is None or shop is None or not shop.active:
        return _reject(services, source, 401, "unknown_shop", f"no {source} tracking configured for this shop")
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not adapter.verify(headers, body, settings):
        return _reject(services, source, 401, "bad_signature", "signature does not match")
    now = services.now()
    try:
        events = adapter.parse(headers, body, CarrierContext(shop_id=shop.id, timezone=shop.timezone, received_at=now))
    except MalformedPayload as exc:
        return _reject(services, source, 400, "malformed", f"malformed body: {exc}")
    if not events:
        services.metrics.webhooks_ignored.labels(source, "none").inc()
        return jsonify(ok=True, ignored=True), 200
    with transaction(services.sessions) as session:
        outcomes = receive(session, shop.id, events, now, unmatched_days=carriers.unmatched_days)
    for outcome in outcomes:
        services.metrics.carrier_events.labels(source, outcome.value).inc()
    log.info(
        "carrier webhook stored", extra={"source": source, "shop": shop.id, "outcomes": [o.value for o in outcomes]}
    )
    return jsonify(ok=True, outcomes=[o.value for o in outcomes]), 200
