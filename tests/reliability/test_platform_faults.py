"""Platform faults: both sandbox shops answer 20 % of calls with a 5xx, let 10 % run past the client's
timeout (the change is applied, the answer comes too late), send garbage bodies (Shopify: nothing applied;
WooCommerce: applied, answer unreadable) and throttle in bursts (Shopify THROTTLED, WooCommerce 429 with
Retry-After). The outbox drains on a simulated clock that jumps to each backoff. Every action must end
done with its effect in the shop exactly once; actions the platform refuses for good end failed with the
platform's own message, listed by ``ordercare actions --failed --json`` and counted in ``/metrics``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector import cli
from connector.actions import ActionKind, PlannedAction
from connector.config import load_settings
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain, plan
from connector.platforms.base import PlatformClient
from connector.platforms.shopify.client import ShopifyClient
from connector.platforms.woocommerce.client import WooCommerceClient
from connector.sandbox.shopify import Faults as ShopifyFaults
from connector.sandbox.woocommerce import Faults as WooFaults
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import ActionRow
from tests.reliability.support import Clock
from tests.reliability.world import KINDS, action_states, applied, plan_actions, world
from webhooks import create_app

ORDERS_PER_SHOP = 30
PLATFORM_KINDS = tuple(k for k in KINDS if k != "email")
CLIENT_TIMEOUT = 0.3  # seconds; the sandboxes answer a "timeout" call after 0.6 s


def client_factory(shop: Shop, clock: Clock) -> PlatformClient:
    """The real clients with a short read timeout, so the sandboxes' late answers are real timeouts."""
    if shop.platform == "shopify":
        assert shop.api_base_url
        return ShopifyClient(
            shop.context,
            shop_key=shop.key,
            base_url=shop.api_base_url,
            credentials=shop.credentials,
            timeout=(1.0, CLIENT_TIMEOUT),
            clock=clock,
        )
    return WooCommerceClient(shop, timeout=CLIENT_TIMEOUT, clock=clock)


def plan_refused(services: Services, now: datetime, woo_order: str) -> dict[str, str]:
    """Three actions the platforms refuse for good; returns key -> the platform's words we expect."""
    refused = {
        ("fietsen", "999999999"): (PlannedAction(ActionKind.ADD_TAGS, "stale", "1-tags", {"tags": ["x"]}),
                                   "Order does not exist"),
        ("thee", "999999"): (PlannedAction(ActionKind.ADD_NOTE, "stale", "1-note", {"text": "Nog in magazijn"}),
                             "woocommerce_rest_shop_order_invalid_id: Invalid ID."),
        ("thee", woo_order): (
            PlannedAction(ActionKind.CREATE_VOUCHER, "next_day", "9-voucher",
                          {"code": "welkom10", "kind": "percentage", "value": "10", "currency": "EUR"}),
            "woocommerce_rest_coupon_code_already_exists: The coupon code already exists",
        ),
    }  # fmt: skip
    expected = {}
    with transaction(services.sessions) as session:
        for (shop_id, external_id), (action, message) in refused.items():
            plan(session, shop_id=shop_id, order_id=None, order_external_id=external_id, action=action, now=now)
            expected[f"{shop_id}:{external_id}:{action.policy}:{action.step}"] = message
    return expected


def _burst(faults: WooFaults) -> None:
    faults.burst_429 = 15


def drain_on_simulated_time(
    services: Services, env: OutboxEnv, clock: Clock, events: dict[int, Callable[[], None]]
) -> tuple[int, int]:
    """Drain, jump the clock to the next backoff, repeat until nothing is pending; (rounds, retries)."""
    rounds = retries = 0
    while True:
        rounds += 1
        if rounds in events:
            events[rounds]()
        retries += drain(env).retried
        with services.sessions() as session:
            due = session.scalar(select(func.min(ActionRow.next_attempt_at)).where(ActionRow.state == "pending"))
        if due is None:
            return rounds, retries
        assert rounds < 2_000, action_states(services)
        clock.now = max(clock.now, due)


@pytest.mark.slow
def test_every_action_succeeds_once_through_faults_and_refusals_are_reported(
    db_url: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shopify_faults = ShopifyFaults(
        server_error_rate=0.2, timeout_rate=0.1, timeout_seconds=0.6, garbage_rate=0.05, throttle_rate=0.05, seed=3
    )
    woo_faults = WooFaults(error_rate=0.2, timeout_rate=0.1, slow_seconds=0.6, garbage_rate=0.05, burst_429=25, seed=3)
    with world(ORDERS_PER_SHOP, shopify_faults, woo_faults) as w:
        w.woo.coupons[1] = {"id": 1, "code": "welkom10", "amount": "10", "discount_type": "percent", "meta_data": []}
        config = w.write_config(tmp_path / "ordercare.yaml", db_url, max_attempts=60)
        clock = Clock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        services = Services.build(load_settings(config), engine=engine, clock=clock)
        planned = plan_actions(services, w, clock(), kinds=PLATFORM_KINDS)
        refused = plan_refused(services, clock(), w.woo_orders[0])
        env = OutboxEnv(services, worker="faults", client_factory=lambda shop: client_factory(shop, clock))
        started = time.monotonic()
        try:
            # a second burst of 429s once the run is under way
            rounds, retries = drain_on_simulated_time(services, env, clock, {20: lambda: _burst(w.woo.faults)})
        finally:
            env.close()
        seconds = time.monotonic() - started
        effects = applied(w)
        shop_faults = {k: v for k, v in w.shop.counters.items() if k.startswith("faults.") or k == "throttled"}
        woo_counts = {k: v for k, v in w.woo.counters.items() if k.startswith("faults_")}

        with services.sessions() as session:
            failed = {
                row.idempotency_key: row.last_error
                for row in session.scalars(select(ActionRow).where(ActionRow.state == "failed"))
            }
            attempts = Counter(session.scalars(select(ActionRow.attempts)).all())
        assert cli.main(["actions", "--failed", "--json", "--config", str(config)]) == 0
        listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        metrics = create_app(services).test_client().get("/metrics").get_data(as_text=True)

        print(
            f"\nplatform faults: {planned} actions + {len(refused)} refused ones, drained in {seconds:.1f}s over "
            f"{rounds} rounds of simulated time, {retries} retries; "
            f"attempts per action {dict(sorted(attempts.items()))}; "
            f"Shopify faults {shop_faults}; WooCommerce faults {woo_counts}; "
            f"effects {dict((k, dict(v)) for k, v in effects.items() if k in PLATFORM_KINDS)}; failed {failed}"
        )
        assert planned == 4 * 2 * ORDERS_PER_SHOP
        assert action_states(services) == Counter({"done": planned, "failed": len(refused)})
        for kind in PLATFORM_KINDS:
            assert effects[kind] == Counter({1: 2 * ORDERS_PER_SHOP}), kind
        assert all(shop_faults.get(k, 0) > 0 for k in ("faults.server_error", "faults.timeout", "faults.garbage"))
        assert w.shop.counters["faults.throttle"] > 0
        assert woo_counts["faults_429"] == 25 + 15
        assert all(woo_counts.get(k, 0) > 0 for k in ("faults_5xx", "faults_slow", "faults_garbage", "faults_429"))
        assert set(failed) == set(refused)
        for key, message in refused.items():
            assert message in (failed[key] or ""), (key, failed[key])
        assert {row["key"]: row["state"] for row in listed} == {key: "failed" for key in refused}
        assert all(refused[row["key"]] in row["last_error"] for row in listed)
        assert "ordercare_outbox_failed 3.0" in metrics
        for kind in ("add_tags", "add_note", "create_voucher"):
            assert f'ordercare_actions_total{{kind="{kind}",outcome="failed"}} 1.0' in metrics
        assert _metric(metrics, "ordercare_actions_total", outcome="retry") == retries


def _metric(text: str, name: str, **labels: Any) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
