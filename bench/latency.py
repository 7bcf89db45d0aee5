"""Problem-to-action latency: how soon a bad address is held at the shop after its webhook was accepted.

`ordercare serve` (web + scheduler + outbox in one process) runs against a Shopify sandbox shop served by this
process. Orders without a house number are created in the sandbox and their signed `orders/create` webhooks
posted to ordercare at a steady rate; a monitor watches the sandbox for each order's hold. The latency of an
order is from ordercare's 200 answer to the moment its hold is seen at the shop (the monitor looks every
20 ms). Afterwards: lost = orders never held within the grace period, duplicated = orders with more than
one hold of ordercare's. The sandbox's cost bucket is made too large to run dry, so the figure is ordercare's
own latency; against a real shop the platform's rate limit comes on top (a standard Shopify bucket restores
100 points a second; a hold costs ordercare one fulfilment-order query and one mutation).

``holds_per_s`` is the rate the worker held orders at: held orders over the time from the first accepted
webhook to the last hold seen (the sending rate while it keeps up, its own capacity once it falls behind).
``--concurrency N`` sets ``scheduler.outbox_concurrency`` (default: the configuration's default);
``--baseline`` first runs the same load with ``outbox_concurrency: 1`` (one action after another) and reports
it under ``baseline``, with ``holds_ratio`` = holds_per_s / the baseline's, so the comparison is from one run.

    python bench/latency.py [--rate 50] [--seconds 20] [--database sqlite|postgres] [--concurrency N] [--baseline]
                            [--json] [--smoke]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _support import ROOT, SECRET, database, emit, median, percentile, settings_dict, tempdir, wait_ready, write_config

from connector.platforms.shopify.adapter import sign
from connector.sandbox.server import BackgroundServer, free_port
from connector.sandbox.shopify import BucketConfig, ShopifySandbox

DOMAIN = "bench-shop.myshopify.com"
TOKEN = "shpat_bench"
UNLIMITED = BucketConfig(maximum=1_000_000, restore_rate=1_000_000)  # the platform's rate limit taken out
MONITOR_SECONDS = 0.02
GRACE_SECONDS = 30.0  # an order not held once holds stopped coming for this long counts as lost



def _post(conn: http.client.HTTPConnection, order: dict[str, Any]) -> int:
    body = json.dumps(order).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": DOMAIN,
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Webhook-Id": f"bench-{order['id']}",
    }
    conn.request("POST", "/webhooks/shopify", body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


class Monitor(threading.Thread):
    """Notes when each watched order's first hold of ordercare's appears at the shop."""

    def __init__(self, shop: Any) -> None:
        super().__init__(daemon=True)
        self.shop = shop
        self.watched: dict[str, float] = {}  # order id -> accepted at (monotonic)
        self.held: dict[str, float] = {}  # order id -> hold seen at
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def watch(self, order_id: str, accepted_at: float) -> None:
        with self.lock:
            self.watched[order_id] = accepted_at

    def run(self) -> None:
        while not self.stopped.is_set():
            with self.lock:
                waiting = [oid for oid in self.watched if oid not in self.held]
            if waiting:
                now = time.monotonic()
                wanted = set(waiting)
                with self.shop.sandbox.lock:  # one pass over the shop's fulfilment orders, no copies
                    found = {
                        fo["order_id"]
                        for fo in self.shop.fulfillment_orders.values()
                        if fo["order_id"] in wanted and any(h["heldByRequestingApp"] for h in fo["holds"])
                    }
                for oid in found:
                    self.held[oid] = now
            self.stopped.wait(MONITOR_SECONDS)


def run(args: argparse.Namespace, concurrency: int | None) -> dict[str, Any]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sandbox = ShopifySandbox(clock=lambda: datetime.now(UTC), bucket=UNLIMITED)
    with BackgroundServer(sandbox) as shop_server, tempdir() as tmp, database(args.database, Path(tmp)) as url:
        sandbox.url = shop_server.url
        shop = sandbox.add_shop(DOMAIN, SECRET, access_token=TOKEN)
        scheduler: dict[str, Any] = {"tick_seconds": 60, "reconcile_minutes": 1440, "outbox_poll_seconds": 1.0}
        if concurrency is not None:
            scheduler["outbox_concurrency"] = concurrency
        raw = settings_dict(
            url,
            scheduler=scheduler,
            # the benchmark runs at any hour: no quiet hours
            policies={"messages": {"quiet_from": "00:00", "quiet_until": "00:00"}},
        )
        raw["shops"][0]["api_base_url"] = shop.base_url
        config = write_config(Path(tmp), raw)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "serve", "--config", str(config), "--port", str(port)],
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=(Path(tmp) / "serve.log").open("wb"),
        )
        monitor = Monitor(shop)
        errors = 0
        cpu_before = time.process_time()
        try:
            wait_ready(port)
            monitor.start()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            total = int(args.rate * args.seconds)
            started = time.monotonic()
            for n in range(total):
                due = started + n / args.rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                # no e-mail address: the address policy holds and tags, and has nobody to write to
                address = {**shop.create_order()["shipping_address"], "address1": "Hoofdstraat"}
                order = shop.create_order(shipping_address=address, email=None, contact_email=None, customer=None)
                try:
                    status = _post(conn, order)
                except (OSError, http.client.HTTPException):
                    status = 0
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                if status == 200:
                    monitor.watch(str(order["id"]), time.monotonic())
                else:
                    errors += 1
            sent_for = time.monotonic() - started
            seen, quiet_since = len(monitor.held), time.monotonic()
            while len(monitor.held) < len(monitor.watched) and time.monotonic() - quiet_since < GRACE_SECONDS:
                time.sleep(0.1)
                if len(monitor.held) > seen:
                    seen, quiet_since = len(monitor.held), time.monotonic()
            time.sleep(0.5)  # a second hold, if any, has time to show
        finally:
            monitor.stopped.set()
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            if args.keep_log:
                print((Path(tmp) / "serve.log").read_text()[-4000:], file=sys.stderr)
        latencies = [monitor.held[oid] - at for oid, at in monitor.watched.items() if oid in monitor.held]
        span = max(monitor.held.values(), default=0.0) - min(monitor.watched.values(), default=0.0)
        holds = [sum(1 for h in shop.holds(oid) if h["heldByRequestingApp"]) for oid in monitor.watched]
        calls = shop.counters["calls"]
    return {
        "database": args.database,
        "orders": len(monitor.watched),
        "rate_per_s": round(len(monitor.watched) / sent_for, 1) if sent_for else 0.0,
        "p50_s": round(median(latencies), 3),
        "p95_s": round(percentile(latencies, 95), 3),
        "p99_s": round(percentile(latencies, 99), 3),
        "max_s": round(max(latencies, default=0.0), 3),
        "lost": len(monitor.watched) - len(latencies),
        "duplicated": sum(1 for count in holds if count > 1),
        "errors": errors,
        "holds_per_s": round(len(latencies) / span, 1) if span > 0 else 0.0,
        "outbox_concurrency": concurrency,
        "shop_calls_per_order": round(calls / len(monitor.watched), 2) if monitor.watched else 0.0,
        # this process: the sandbox shop, the sender, the monitor
        "bench_cpu_s": round(time.process_time() - cpu_before, 1),
        "seconds": args.seconds,
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--concurrency", type=int, help="scheduler.outbox_concurrency (default: the config default)")
    parser.add_argument("--baseline", action="store_true", help="first the same load at outbox_concurrency 1")
    parser.add_argument("--smoke", action="store_true", help="a few orders, to prove the benchmark runs")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep-log", action="store_true", help="print the end of ordercare's log")
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.seconds = 10.0, 1.0
    lines = []
    baseline = None
    if args.baseline:
        baseline = run(args, 1)
        lines.append(_summary(baseline))
    result = run(args, args.concurrency)
    lines.append(_summary(result))
    if baseline is not None:
        result["baseline"] = baseline
        base = baseline["holds_per_s"]
        result["holds_ratio"] = round(result["holds_per_s"] / base, 2) if base else 0.0
        for key in ("lost", "duplicated", "errors"):  # a broken baseline fails the run too
            result[key] += baseline[key]
        lines.append(f"holds per second: {result['holds_per_s']} against {baseline['holds_per_s']} one at a time "
                     f"(x{result['holds_ratio']})")  # fmt: skip
    emit("\n".join(lines), result, args.json)


def _summary(result: dict[str, Any]) -> str:
    concurrency = result["outbox_concurrency"]
    return (
        f"latency ({result['database']}, outbox_concurrency {concurrency if concurrency is not None else 'default'}, "
        f"{result['orders']} orders at {result['rate_per_s']}/s): webhook accepted "
        f"to hold at the shop p50 {result['p50_s']} s, p95 {result['p95_s']} s, p99 {result['p99_s']} s, "
        f"max {result['max_s']} s; {result['holds_per_s']} holds/s; lost {result['lost']}, "
        f"duplicated {result['duplicated']}, errors {result['errors']}"
    )


if __name__ == "__main__":
    main()
