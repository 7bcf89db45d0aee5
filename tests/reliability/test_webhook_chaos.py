"""Webhook chaos: 10,000 signed deliveries for a Shopify and a WooCommerce shop, 30 % of them repeated,
5 % stale re-sends of older versions, all shuffled, go through the real route (``POST /webhooks/<platform>``
via Flask's test client). The stored orders must equal those of the same deliveries applied once, in
order (applied with the adapters and ``ingest`` directly), and the ticks afterwards plan exactly the
actions (same idempotency keys and payloads) and incidents of the in-order run: nothing twice, nothing lost.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from connector.policies.engine import run_until_idle
from connector.services import Services
from connector.store.tables import ActionRow, WebhookReceipt
from tests.conftest import SHOPIFY_SECRET, WOO_SECRET, make_settings
from tests.reliability.support import (
    Clock,
    Signed,
    action_state,
    deliver_direct,
    incident_state,
    order_state,
    pending_events,
    wipe,
)
from tests.reliability.traffic import generate, redelivered
from webhooks import create_app

TOTAL = 10_000
DUPLICATE_SHARE = 0.30
STALE_SHARE = 0.05
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday morning
TICK_AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thursday afternoon: stale, late and address cases due


def chaos(in_order: list[Signed], by_order: dict[str, list[int]], rng: random.Random) -> tuple[list[Signed], int, int]:
    """The in-order deliveries plus repeats and stale re-sends, shuffled; (deliveries, repeats, stale)."""
    stale_count = int(TOTAL * STALE_SHARE)
    repeat_count = TOTAL - len(in_order) - stale_count
    assert repeat_count >= int(TOTAL * DUPLICATE_SHARE), f"traffic too large: {len(in_order)} unique deliveries"
    repeats = [redelivered(rng.choice(in_order), fresh_id=False) for _ in range(repeat_count)]
    with_history = [indexes for indexes in by_order.values() if len(indexes) > 1]
    stale = []
    for _ in range(stale_count):
        indexes = rng.choice(with_history)
        stale.append(redelivered(in_order[rng.choice(indexes[:-1])], fresh_id=True))
    mixed = [*in_order, *repeats, *stale]
    rng.shuffle(mixed)
    return mixed, repeat_count, stale_count


def post(client: object, delivery: Signed) -> int:
    response = client.post(f"/webhooks/{delivery.platform}", data=delivery.body, headers=delivery.headers)  # type: ignore[attr-defined]
    return int(response.status_code)


@pytest.mark.slow
def test_shuffled_repeated_and_stale_deliveries_converge_to_the_in_order_state(db_url: str, engine: Engine) -> None:
    # a shop-wide voucher budget goes to whichever order comes first; here it covers every order, so the
    # comparison is about repeats and order of arrival, not about who got the last euro of a day's budget
    settings = make_settings(db_url, policies={"compensation": {"budget": {"per_shop_per_day": 1_000_000}}})
    rng = random.Random(8)
    traffic = generate(750, 1050, START, (SHOPIFY_SECRET, WOO_SECRET), seed=8)
    mixed, repeats, stale = chaos(traffic.deliveries, traffic.by_order, rng)
    assert len(mixed) == TOTAL
    clock = Clock(START + timedelta(days=1))
    services = Services.build(settings, engine=engine, clock=clock)

    # reference: each delivery once, in order, straight through the adapters and ingest
    started = time.perf_counter()
    reference_outcomes = Counter(str(deliver_direct(services, d)) for d in traffic.deliveries)
    reference_seconds = time.perf_counter() - started
    reference_orders = order_state(services.sessions)
    run_until_idle(services, TICK_AT)
    reference_actions = action_state(services.sessions)
    reference_incidents = incident_state(services.sessions)

    # chaos: the same shop from scratch, every delivery through the HTTP route
    wipe(services)
    client = create_app(services).test_client()
    started = time.perf_counter()
    statuses = Counter(post(client, d) for d in mixed)
    chaos_seconds = time.perf_counter() - started
    chaos_orders = order_state(services.sessions)
    first = run_until_idle(services, TICK_AT)
    # everything arrives once more after the ticks: nothing may change and nothing may be planned again
    again = Counter(post(client, d) for d in rng.sample(mixed, 2_000))
    second = run_until_idle(services, TICK_AT)
    chaos_actions = action_state(services.sessions)
    chaos_incidents = incident_state(services.sessions)
    with services.sessions() as session:
        receipts = session.scalar(select(func.count()).select_from(WebhookReceipt))
        planned_rows = session.scalar(select(func.count()).select_from(ActionRow))

    by_kind = Counter(kind for kind, _, _ in chaos_actions.values())
    print(
        f"\nwebhook chaos: {len(mixed)} deliveries ({len(traffic.deliveries)} distinct, {repeats} repeats, "
        f"{stale} stale), {len(chaos_orders)} orders; statuses {dict(statuses)}; in-order run "
        f"{reference_seconds:.1f}s {dict(reference_outcomes)}; chaos run {chaos_seconds:.1f}s; receipts {receipts}; "
        f"actions {len(chaos_actions)} {dict(by_kind)}; incidents {len(chaos_incidents)}; "
        f"planned by the ticks after the repeats: {second.actions_planned}"
    )
    assert statuses == Counter({200: TOTAL})
    assert again == Counter({200: 2_000})
    assert reference_outcomes == Counter({"applied": len(traffic.deliveries)})
    assert len(chaos_orders) == 750 + 1050
    assert pending_events(services.sessions) == 0
    assert chaos_orders == reference_orders
    assert first.actions_planned == len(reference_actions) > 0
    assert second.actions_planned == 0
    assert chaos_actions == reference_actions
    assert planned_rows == len(reference_actions)
    assert chaos_incidents == reference_incidents
