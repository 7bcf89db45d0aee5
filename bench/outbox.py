"""Outbox benchmark: planned actions drained against one Shopify sandbox shop at the rate its bucket allows.

A sandbox shop (default bucket: 1000 points, 100 points/s restore) runs in its own process on loopback.
The store holds ``--actions`` planned actions in a realistic mix — for 35 % of them an order gets a tag
and a staff note; 15 % are fulfilment holds (address problems), 15 % vouchers (late parcels) — and the
worker drains them through ``connector.outbox.drain`` with the real Shopify client, as ``ordercare worker``
does (repeating ``drain`` while actions wait for a backoff).

Figures, all from the sandbox's own accounting:

- ``points``: the sum of ``actualQueryCost`` of every call the sandbox executed (the points it took out
  of the bucket); THROTTLED answers cost nothing.
- ``seconds``: from the worker's first claim to the moment no action is left pending.
- ``utilisation`` = points / (bucket maximum + restore rate × seconds): the share of what the bucket
  allowed in that time (it starts full, then refills at the restore rate). 1.0 means never idle.
- ``throttled``: the sandbox's THROTTLED answers as a share of all GraphQL calls it received.
- ``lost``: planned actions whose effect is missing in the shop (tag, note line, hold, discount code).
- ``duplicated``: effects applied more than once (a note line twice, more holds or discounts or
  ``tagsAdd`` calls than actions).

    python bench/outbox.py [--actions 2000] [--database sqlite|postgres] [--repeat 1] [--json] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _support import database, emit, median, settings_dict, tempdir

DOMAIN = "bench-shop.myshopify.com"
TOKEN = "shpat_bench_outbox"
SHARE_TAGGED = 0.35  # tag + note per order: 70 % of the actions
SHARE_HOLDS = 0.15


def _serve_sandbox(orders: int, commands: Any, answers: Any) -> None:  # a child process: the shop
    import logging

    from connector.sandbox.server import BackgroundServer
    from connector.sandbox.shopify import ShopifySandbox

    class CountingSandbox(ShopifySandbox):
        """The sandbox, adding up the points each executed call took out of the bucket."""

        points = 0.0

        def _graphql(self, request: Any, version: str, domain: str | None = None) -> Any:
            response = super()._graphql(request, version, domain)
            try:
                cost = json.loads(response.get_data())["extensions"]["cost"]
            except (ValueError, KeyError, TypeError):
                return response
            if cost.get("actualQueryCost") is not None:
                with self.lock:
                    self.points += float(cost["actualQueryCost"])
            return response

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sandbox = CountingSandbox()
    shop = sandbox.add_shop(DOMAIN, secret="bench-secret", access_token=TOKEN)
    server = BackgroundServer(sandbox).start()
    sandbox.url = server.url
    ids = [str(shop.create_order(email=f"c{n}@example.nl")["id"]) for n in range(orders)]
    answers.put({"base_url": shop.base_url, "order_ids": ids, "bucket": vars(sandbox.bucket)})
    commands.get()  # "report"
    with sandbox.lock:
        state = {
            "points": sandbox.points,
            "counters": dict(shop.counters),
            "orders": {
                oid: {"tags": o.get("tags") or "", "note": o.get("note") or ""} for oid, o in shop.orders.items()
            },
            "holds": Counter(
                fo["order_id"] for fo in shop.fulfillment_orders.values() for h in fo["holds"] if h["handle"]
            ),
            "discounts": sorted(shop.discounts),
        }
    answers.put(state)
    server.stop()


def _plan_all(services: Any, order_ids: list[str], actions: int, now: datetime) -> dict[str, Any]:
    """Plan the mix; returns what the shop should show afterwards."""
    from connector.actions import ActionKind, PlannedAction
    from connector.outbox.queue import plan
    from connector.store.db import transaction

    tagged = round(actions * SHARE_TAGGED)
    holds = round(actions * SHARE_HOLDS)
    vouchers = actions - 2 * tagged - holds
    expected: dict[str, Any] = {"tags": {}, "notes": {}, "holds": set(), "vouchers": set()}
    with transaction(services.sessions) as session:
        for n in range(tagged):
            order_id = order_ids[n]
            steps: list[PlannedAction] = []
            if n < holds:
                steps.append(
                    PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "address",
                                  "note": "huisnummer ontbreekt"})
                )  # fmt: skip
                expected["holds"].add(order_id)
            elif n < holds + vouchers:
                code = f"OC-B{n:06d}"
                payload = {
                    "code": code, "kind": "percentage", "value": "10", "currency": "EUR",
                    "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=90)).isoformat(),
                    "customer_external_id": None, "email": f"c{n}@example.nl", "title": f"Excuses voor bestelling {n}",
                }  # fmt: skip
                steps.append(PlannedAction(ActionKind.CREATE_VOUCHER, "shipment_delay", "1-level-2-voucher", payload))
                expected["vouchers"].add(code)
            kind = "address" if n < holds else "late-1" if n < holds + vouchers else "stale"
            note = f"{kind} {n}: checked by the warehouse, customer informed"
            steps.append(PlannedAction(ActionKind.ADD_TAGS, kind, "1-tag", {"tags": [f"ordercare:{kind}"]}))
            steps.append(PlannedAction(ActionKind.ADD_NOTE, kind, "1-note", {"text": note}))
            expected["tags"][order_id] = f"ordercare:{kind}"
            expected["notes"][order_id] = note
            for step in steps:
                plan(session, shop_id="bench", order_id=None, order_external_id=order_id, action=step, now=now)
    return expected


def _count(expected: dict[str, Any], state: dict[str, Any]) -> tuple[int, int]:
    """(lost, duplicated) effects, counted on the sandbox shop."""
    orders, counters = state["orders"], state["counters"]
    lost = duplicated = 0
    for order_id, tag in expected["tags"].items():
        lost += tag not in [t.strip() for t in orders[order_id]["tags"].split(",")]
    for order_id, text in expected["notes"].items():
        lines = orders[order_id]["note"].count(text)
        lost += lines == 0
        duplicated += max(0, lines - 1)
    holds = state["holds"]
    lost += sum(1 for order_id in expected["holds"] if not holds.get(order_id))
    duplicated += sum(max(0, count - 1) for count in holds.values())
    discounts = set(state["discounts"])
    lost += len(expected["vouchers"] - discounts)
    duplicated += max(0, counters.get("discounts_created", 0) - len(expected["vouchers"]))
    duplicated += max(0, counters.get("tagsAdd", 0) - len(expected["tags"]))
    duplicated += max(0, counters.get("notes_written", 0) - len(expected["notes"]))
    return lost, duplicated


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import func, select

    from connector.config import settings_from_mapping
    from connector.outbox.env import OutboxEnv
    from connector.outbox.queue import drain
    from connector.services import Services
    from connector.store.tables import ActionRow

    context = mp.get_context("spawn")
    commands, answers = context.Queue(), context.Queue()
    orders = round(args.actions * SHARE_TAGGED)
    shop_process = context.Process(target=_serve_sandbox, args=(orders, commands, answers), daemon=True)
    shop_process.start()
    shop = answers.get(timeout=120)
    with tempdir() as tmp, database(args.database, Path(tmp)) as url:
        raw = settings_dict(url)
        raw["shops"][0].update(shop_domain=DOMAIN, access_token=TOKEN, api_base_url=shop["base_url"])
        services = Services.build(settings_from_mapping(raw, env={}))
        expected = _plan_all(services, shop["order_ids"], args.actions, datetime.now(UTC))
        env = OutboxEnv(services, worker="bench")
        started = time.monotonic()
        done = failed = 0
        while True:
            report = drain(env)
            done, failed = done + report.done, failed + report.failed
            with services.sessions() as session:
                pending, next_at = session.execute(
                    select(func.count(), func.min(ActionRow.next_attempt_at)).where(ActionRow.state == "pending")
                ).one()
            if not pending:
                break
            if next_at is not None:
                time.sleep(min(5.0, max(0.01, (next_at - datetime.now(UTC)).total_seconds())))
        seconds = time.monotonic() - started
        calls = sum(getattr(c, "calls", 0) for c in env._clients.values())
        env.close()
        services.engine.dispose()
    commands.put("report")
    state = answers.get(timeout=120)
    shop_process.join(timeout=30)
    lost, duplicated = _count(expected, state)
    bucket = shop["bucket"]
    allowed = bucket["maximum"] + bucket["restore_rate"] * seconds
    sandbox_calls = state["counters"].get("calls", 0)
    throttled = state["counters"].get("throttled", 0)
    return {
        "actions": args.actions,
        "seconds": round(seconds, 2),
        "points": round(state["points"], 1),
        "utilisation": round(state["points"] / allowed, 4),
        "calls": sandbox_calls,
        "client_calls": calls,
        "throttled": round(throttled / sandbox_calls, 4) if sandbox_calls else 0.0,
        "throttled_calls": throttled,
        "done": done,
        "failed": failed,
        "lost": lost,
        "duplicated": duplicated,
        "database": args.database,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the run with the median utilisation is shown")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.actions, args.repeat = 100, 1
    runs = []
    for n in range(args.repeat):
        runs.append(run_once(args))
        print(f"run {n + 1}/{args.repeat}: {json.dumps(runs[-1])}", file=sys.stderr)
    result = dict(sorted(runs, key=lambda r: r["utilisation"])[len(runs) // 2])
    result["repeat"] = args.repeat
    result["utilisation_runs"] = [r["utilisation"] for r in runs]
    result["seconds_median"] = round(median([r["seconds"] for r in runs]), 2)
    summary = (
        f"outbox ({result['database']}): {result['actions']:,} actions in {result['seconds']} s, "
        f"{result['points']:,.0f} points, utilisation {result['utilisation']:.1%} of the bucket's rate, "
        f"{result['throttled_calls']} THROTTLED of {result['calls']:,} calls ({result['throttled']:.2%}), "
        f"{result['lost']} lost, {result['duplicated']} duplicated, {result['failed']} failed"
    )
    emit(summary, result, args.json)


if __name__ == "__main__":
    main()
