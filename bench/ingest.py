"""Webhook ingest benchmark: signed Shopify orders/create deliveries against `ordercare web` under gunicorn.

A load generator process on loopback keeps N connections busy with real-size bodies (Shopify's published
orders/create sample, about 13 KB, a distinct order each) for the given time. Afterwards the database is
counted: every acknowledged delivery must be stored once (lost = acknowledged - stored orders,
duplicated = stored raw events - distinct deliveries). It also measures the in-process limit: the same
verify + parse + map + store loop without HTTP, in one process.

It also reports the CPU the web processes and the load generator used (in cores; both share this machine).

    python bench/ingest.py [--seconds 60] [--database sqlite|postgres] [--workers N] [--threads N]
                           [--worker-class gthread|sync] [--json] [--smoke]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from _support import ROOT, SECRET, database, emit, median, percentile, settings_dict, tempdir, wait_ready, write_config

from connector.sandbox.server import free_port

# One writer for SQLite: it admits one writing transaction at a time and a waiting writer sleeps in its busy
# handler, so more processes only add lock waits (measured: 1x1 ~435/s p99 ~40 ms; 2x4 280-500/s p99 110-200
# ms). PostgreSQL takes concurrent writers: one process per core.
DEFAULT_WORKERS = {"sqlite": 1, "postgres": 2}
SAMPLE = ROOT / "tests" / "fixtures" / "shopify" / "webhooks" / "orders_create.json"
DOMAIN = "bench-shop.myshopify.com"


class Deliveries:
    """Distinct, signed orders/create deliveries made from the published sample."""

    def __init__(self, offset: int) -> None:
        template = json.loads(SAMPLE.read_text())
        template["id"] = 0
        template["admin_graphql_api_id"] = "gid://shopify/Order/__ID__"
        template["name"] = "#__ID__"
        self.template = json.dumps(template)
        self.offset = offset

    def make(self, n: int) -> tuple[bytes, dict[str, str]]:
        from connector.platforms.shopify.adapter import sign

        order_id = str(9_000_000_000_000_000 + self.offset + n)
        body = self.template.replace("__ID__", order_id).replace('"id": 0', f'"id": {order_id}', 1).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": DOMAIN,
            "X-Shopify-Webhook-Id": f"bench-{order_id}",
            "X-Shopify-Hmac-Sha256": sign(body, SECRET),
            "X-Shopify-Api-Version": "2026-10",
        }
        return body, headers


def _load_worker(
    port: int, seconds: float, connections: int, offset: int, out: Any, warmup: float
) -> None:  # runs in a child process
    deliveries = Deliveries(offset)
    cpu_started = time.process_time()
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    lock = threading.Lock()
    counter = [0]
    results: list[tuple[float, int, float]] = []  # (start, status, latency)

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[tuple[float, int, float]] = []
        while time.monotonic() < stop_at:
            with lock:
                n = counter[0]
                counter[0] += 1
            body, headers = deliveries.make(n)
            started = time.monotonic()
            try:
                conn.request("POST", "/webhooks/shopify", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            local.append((started, status, time.monotonic() - started))
        conn.close()
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    measured = [(s, st, lat) for s, st, lat in results if s >= measure_from]
    out.put(
        {
            "sent": len(results),
            "ok": sum(1 for _, st, _ in results if st == 200),
            "errors": sum(1 for _, st, _ in results if st != 200),
            "measured_ok": sum(1 for _, st, _ in measured if st == 200),
            "latencies": [lat for _, st, lat in measured if st == 200],
            "cpu_s": time.process_time() - cpu_started,
            "wall_s": warmup + seconds,
        }
    )



def group_cpu_seconds(group: int) -> float:
    """User + system CPU seconds of every live process in a process group (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def count_stored(database_url: str) -> tuple[int, int, int]:
    from sqlalchemy import distinct, func, select

    from connector.store.db import make_engine, session_factory
    from connector.store.tables import OrderRow, RawEvent

    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        orders = session.scalar(select(func.count()).select_from(OrderRow)) or 0
        raw = session.scalar(select(func.count()).select_from(RawEvent)) or 0
        distinct_keys = session.scalar(select(func.count(distinct(RawEvent.dedupe_key)))) or 0
    engine.dispose()
    return int(orders), int(raw), int(distinct_keys)


def in_process_limit(database_url: str, config: Path, count: int) -> float:
    """Deliveries per second through verify + parse + map + store, without HTTP, in this process."""
    from connector.config import load_settings
    from connector.ingest import RawDelivery, ingest
    from connector.platforms.shopify.adapter import ADAPTER
    from connector.services import Services
    from connector.store.db import transaction

    services = Services.build(load_settings(config))
    shop = services.shops.by_key("shopify", DOMAIN)
    assert shop is not None
    deliveries = Deliveries(offset=500_000_000)
    prepared = [deliveries.make(n) for n in range(count)]
    started = time.perf_counter()
    for body, headers in prepared:
        lower = {k.lower(): v for k, v in headers.items()}
        assert ADAPTER.verify(lower, body, shop.webhook_secrets)
        event = ADAPTER.parse(lower, body, shop.context)
        assert event is not None
        with transaction(services.sessions) as session:
            ingest(session, shop, event, services.now(), RawDelivery("orders/create", body))
    elapsed = time.perf_counter() - started
    services.engine.dispose()
    return count / elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempdir() as tmp, database(args.database, Path(tmp)) as url:
        config = write_config(Path(tmp), settings_dict(url))
        port = free_port()
        env = dict(os.environ, ORDERCARE_CONFIG=str(config), PYTHONPATH=str(ROOT))
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "webhooks.wsgi:app",
                "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                "--worker-class", args.worker_class, "--threads", str(args.threads),
                "--keep-alive", "30", "--log-level", "warning",
            ],
            env=env, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_ready(port)
            queue: Any = mp.Queue()
            loaders = [
                mp.Process(
                    target=_load_worker,
                    args=(port, args.seconds, args.connections, i * 100_000_000, queue, args.warmup),
                )
                for i in range(args.generators)
            ]
            server_cpu = group_cpu_seconds(server.pid)
            for p in loaders:
                p.start()
            parts = [queue.get() for _ in loaders]
            server_cpu = group_cpu_seconds(server.pid) - server_cpu
            for p in loaders:
                p.join()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        ok = sum(p["ok"] for p in parts)
        latencies = [lat for p in parts for lat in p["latencies"]]
        measured_ok = sum(p["measured_ok"] for p in parts)
        orders, raw, distinct_keys = count_stored(url)
        limit = in_process_limit(url, config, args.limit_count)
    rate = measured_ok / args.seconds
    wall = args.seconds + args.warmup
    return {
        "database": args.database,
        "deliveries_per_s": round(rate, 1),
        "p50_ms": round(median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "acknowledged": ok,
        "errors": sum(p["errors"] for p in parts),
        "lost": ok - orders,
        "duplicated": raw - distinct_keys,
        "limit_per_s": round(limit, 1),
        "ratio": round(rate / limit, 3) if limit else 0.0,
        "seconds": args.seconds,
        "workers": args.workers,
        "connections": args.connections * args.generators,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "server_cores": round(server_cpu / wall, 2),  # CPU the web processes used, in cores (this box has 2)
        "generator_cores": round(sum(p["cpu_s"] for p in parts) / wall, 2),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes (default: see above)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"], help="gunicorn worker class")
    parser.add_argument("--generators", type=int, default=1, help="load generator processes")
    parser.add_argument("--connections", type=int, default=8, help="connections per generator")
    parser.add_argument("--limit-count", type=int, default=3000, help="deliveries for the in-process limit")
    parser.add_argument("--smoke", action="store_true", help="a few seconds, to prove the benchmark runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = DEFAULT_WORKERS[args.database]
    if args.smoke:
        args.seconds, args.warmup, args.limit_count, args.connections = 2.0, 0.5, 200, 4
    result = run(args)
    summary = (
        f"ingest ({result['database']}, {result['workers']} gunicorn workers, {result['connections']} connections, "
        f"{result['seconds']:.0f} s): {result['deliveries_per_s']:.0f} deliveries/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, lost {result['lost']}, duplicated {result['duplicated']}, errors "
        f"{result['errors']}; in-process limit {result['limit_per_s']:.0f}/s, ratio {result['ratio']}; "
        f"CPU: web {result['server_cores']} + load generator {result['generator_cores']} of {result['cores']} cores"
    )
    emit(summary, result, args.json)


if __name__ == "__main__":
    main()
