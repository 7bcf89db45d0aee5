"""Scale-out: three ``ordercare worker`` processes on one PostgreSQL database share the outbox (claims with
``FOR UPDATE SKIP LOCKED`` and leases) with no action done twice; one is killed with SIGKILL mid-way and
the others take over its leased actions once the lease runs out. And gunicorn with three web processes
(``webhooks.wsgi:app``) behind one address ingests concurrent signed deliveries without loss.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import Engine, func, select

from connector.config import load_settings
from connector.platforms.shopify.adapter import sign
from connector.sandbox.server import free_port
from connector.sandbox.shopify import ShopifySandbox
from connector.services import Services
from connector.store.tables import ActionAttempt, ActionRow, OrderRow, WebhookReceipt
from tests.conftest import SHOPIFY_SECRET, make_settings
from tests.reliability.world import (
    ROOT,
    action_states,
    applied,
    assert_no_mail_twice,
    failures,
    mail_outcome,
    plan_actions,
    start_worker,
    world,
)

LEASE_SECONDS = 5
ORDERS_PER_SHOP = 60  # x 5 actions x 2 shops = 600 actions


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.mark.slow
@pytest.mark.postgres  # several worker processes share one database on PostgreSQL (SQLite serialises writers)
def test_three_workers_share_the_outbox_and_take_over_a_killed_ones_work(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    with world(ORDERS_PER_SHOP) as w:
        config = w.write_config(tmp_path / "ordercare.yaml", db_url, lease_seconds=LEASE_SECONDS, outbox_batch=5)
        services = Services.build(load_settings(config), engine=engine)
        total = plan_actions(services, w, datetime.now(UTC))
        workers = [start_worker(config, tmp_path / f"worker-{n}.log") for n in range(3)]
        try:

            def done() -> int:  # ended: done, or failed as an e-mail whose delivery the kill left uncertain
                states = action_states(services)
                return states.get("done", 0) + states.get("failed", 0)

            assert wait_for(lambda: done() >= total // 4, timeout=60)
            victim = workers[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            killed_at = time.monotonic()
            with services.sessions() as session:
                name_of_victim = f":{victim.pid}"
                orphaned = set(
                    session.scalars(
                        select(ActionRow.id).where(
                            ActionRow.state == "pending", ActionRow.lease_owner.like(f"%{name_of_victim}")
                        )
                    )
                )

            def orphans_done() -> bool:
                with services.sessions() as session:
                    states = session.scalars(select(ActionRow.state).where(ActionRow.id.in_(orphaned))).all()
                return all(state in ("done", "failed") for state in states)

            assert wait_for(orphans_done, timeout=LEASE_SECONDS + 20)
            takeover = time.monotonic() - killed_at
            assert wait_for(lambda: done() == total, timeout=120), action_states(services)
        finally:
            for worker in workers[1:]:
                worker.send_signal(signal.SIGTERM)
            for worker in workers[1:]:
                worker.wait(timeout=30)
        effects = applied(w)
        mail = mail_outcome(services, w)
        with services.sessions() as session:
            by_worker = Counter(
                str(worker).rsplit(":", 1)[1]
                for worker in session.scalars(select(ActionAttempt.worker).where(ActionAttempt.outcome == "done"))
            )
    print(
        f"\nseveral workers: {total} actions over 3 workers {dict(by_worker)}; worker {victim.pid} killed with "
        f"{len(orphaned)} leased actions, taken over in {takeover:.1f}s (lease {LEASE_SECONDS}s); "
        f"e-mails marked uncertain {len(mail.uncertain)}; "
        f"effects {dict((k, dict(v)) for k, v in effects.items())}"
    )
    ended = Counter({"done": total - len(mail.uncertain), "failed": len(mail.uncertain)})
    assert action_states(services) == ended, failures(services).most_common(5)
    assert len(by_worker) == 3
    assert all(n > 0 for n in by_worker.values())
    for kind in ("tags", "note", "voucher", "hold"):
        assert effects[kind] == Counter({1: 2 * ORDERS_PER_SHOP}), kind
    assert len(mail.states) == 2 * ORDERS_PER_SHOP
    assert_no_mail_twice(mail, {f"{socket.gethostname()}:{victim.pid}"})
    assert len(mail.uncertain) <= 1  # one kill: at most the one message it interrupted
    assert takeover <= LEASE_SECONDS + 10


@pytest.mark.slow
def test_three_gunicorn_processes_ingest_concurrent_deliveries_without_loss(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(db_url)
    Services.build(settings, engine=engine)  # the config shops in the table
    config = tmp_path / "ordercare.yaml"
    raw = {
        "database_url": db_url,
        "secret_key": settings.secret_key,
        "shops": [shop.model_dump(exclude_none=True) for shop in settings.shops],
        "log_level": "WARNING",
    }
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "webhooks.wsgi:app"]
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(gunicorn, cwd=ROOT, stdout=log, stderr=log,
                              env={**os.environ, "ORDERCARE_CONFIG": str(config), "PYTHONPATH": str(ROOT)})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    shop = ShopifySandbox(clock=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC)).add_shop(
        "fietsen-test.myshopify.com", SHOPIFY_SECRET
    )
    deliveries = []
    for n in range(600):
        body = json.dumps(shop.create_order()).encode()
        headers = {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "fietsen-test.myshopify.com",
            "X-Shopify-Hmac-Sha256": sign(body, SHOPIFY_SECRET),
            "X-Shopify-Webhook-Id": f"gunicorn-{n}",
        }
        deliveries.append((headers, body))
    deliveries += deliveries[:150]  # a quarter again: platforms repeat deliveries

    def post(item: tuple[dict[str, str], bytes]) -> int:
        return requests.post(f"{url}/webhooks/shopify", data=item[1], headers=item[0], timeout=30).status_code

    try:
        assert wait_for(lambda: _up(url), timeout=30)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = Counter(pool.map(post, deliveries))
        seconds = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    with Services.build(settings, engine=engine, sync_shops=False).sessions() as session:
        orders = session.scalar(select(func.count()).select_from(OrderRow))
        receipts = session.scalar(select(func.count()).select_from(WebhookReceipt))
    print(
        f"\ngunicorn: {len(deliveries)} deliveries (150 repeated) from 12 threads to 3 web processes in "
        f"{seconds:.1f}s; statuses {dict(statuses)}; orders stored {orders}, receipts {receipts}"
    )
    assert statuses == Counter({200: len(deliveries)})
    assert orders == 600
    assert receipts == 600


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
