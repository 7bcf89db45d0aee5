"""Scheduler tick benchmark: 1,000,000 stored orders of which 10,000 are due.

Seeds the store with bulk inserts (progress on stderr), then runs the policy tick over every due order —
select due by the ``next_check_at`` index, decide, write incidents and outbox rows — in a fresh worker
process, and reports its time and peak RSS. The same tick over a store of 100,000 orders shows whether the
cost follows the due orders rather than the stored ones (``scale_ratio`` = large / small). Each store is
ticked ``--repeat`` times (what a tick wrote is undone in between) and the median is reported.

The due orders follow a realistic mix (``ROUTINE``/``FIRING`` below, printed at the start): 90 % routine
re-checks that find nothing wrong yet, 10 % (``--firing-share``) that open an incident or ask for a review.
The other stored orders are history: mostly finished, some waiting for a later check.

    python bench/tick.py [--stored 1000000] [--due 10000] [--firing-share 0.1] [--repeat 3]
                         [--database sqlite|postgres] [--profile PREFIX] [--json] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from _support import database, emit, settings_dict, tempdir

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam
MONEY = Decimal("39.90")

# The due orders of a real shop are mostly routine re-checks: each policy asked to look again at a
# moment, and at that moment nothing is wrong yet. A minority open an incident. Shares of the due orders:
ROUTINE = {
    "paid_recently": 0.30,  # paid yesterday, not shipped yet: stale is not due before Wednesday
    "scanned_today": 0.30,  # shipped yesterday, carrier scan this morning, expected tomorrow
    "delivered_yesterday": 0.30,  # delivered on time: the review request waits three days
}
FIRING = {
    "stale": 0.25,  # paid six days ago and not shipped: tag, note, e-mail, call task
    "bad_address": 0.25,  # house number missing: hold, tag, note, question to the customer
    "stalled_parcel": 0.25,  # no carrier scan since Thursday: ladder step 2, e-mail with a voucher
    "review_due": 0.25,  # delivered four days ago on time: one review request
}  # shares of the firing part (``--firing-share``, default 10 %)


def mix(firing_share: float) -> dict[str, float]:
    """Share of the due orders per kind: routine kinds split 1 - firing_share, firing kinds split the rest."""
    routine_total = sum(ROUTINE.values())
    shares = {kind: share / routine_total * (1 - firing_share) for kind, share in ROUTINE.items()}
    shares.update({kind: share * firing_share for kind, share in FIRING.items()})
    return shares


def _variants(shop_id: str) -> dict[str, Any]:
    """One stored order snapshot per kind, with ``__ID__``/``__CUSTOMER__`` where each order differs."""
    from connector.model import (
        Address,
        Customer,
        Money,
        Order,
        OrderLine,
        OrderStatus,
        Platform,
        Shipment,
        ShipmentEvent,
        ShipmentStatus,
    )

    def days(n: int) -> datetime:
        return NOW - timedelta(days=n)

    customer = Customer(
        external_id="__CUSTOMER__", first_name="Sanne", last_name="de Vries", email="__CUSTOMER__@example.nl",
        locale="nl", accepts_marketing=True,
    )  # fmt: skip
    good = Address(
        first_name="Sanne", last_name="de Vries", address1="Hoofdstraat 12a", postcode="1234 AB", city="Amsterdam",
        country_code="NL", street="Hoofdstraat", house_number="12", house_number_addition="a",
    )  # fmt: skip

    def order(placed: datetime, **changes: Any) -> Order:
        base = Order(
            shop_id=shop_id, platform=Platform.SHOPIFY, external_id="__ID__", number="#__ID__",
            status=OrderStatus.PAID, platform_status="paid/unfulfilled", created_at=placed, updated_at=placed,
            customer=customer, shipping_address=good, paid_at=placed, shipping_method="Standaard",
            lines=(OrderLine("1", "Fietsbel", 2, Money(MONEY / 2, "EUR")),), total=Money(MONEY, "EUR"),
        )  # fmt: skip
        return base.with_changes(**changes)

    def parcel(shipped: datetime, scans: list[datetime], expected: datetime, delivered: datetime | None) -> Shipment:
        status = ShipmentStatus.DELIVERED if delivered else ShipmentStatus.IN_TRANSIT
        events = tuple(
            ShipmentEvent(f"e{n}", ShipmentStatus.IN_TRANSIT, at, estimated_delivery_at=expected)
            for n, at in enumerate(scans)
        )
        return Shipment(
            "s1", status, "PostNL", "3SABC1234567", shipped_at=shipped, estimated_delivery_at=expected,
            delivered_at=delivered, updated_at=delivered or shipped, events=events,
        )  # fmt: skip

    shipped, delivered = OrderStatus.SHIPPED, OrderStatus.DELIVERED
    return {
        "paid_recently": order(days(1) + timedelta(hours=4)),
        "scanned_today": order(
            days(2), status=shipped, platform_status="paid/fulfilled",
            shipments=(parcel(days(1), [NOW - timedelta(hours=2)], NOW + timedelta(days=1), None),),
        ),
        "delivered_yesterday": order(
            days(3), status=delivered, platform_status="paid/fulfilled",
            shipments=(parcel(days(2), [days(2)], days(1), days(1)),),
        ),
        "stale": order(days(6)),
        "bad_address": order(days(1), shipping_address=replace(good, address1="Hoofdstraat", house_number=None)),
        "stalled_parcel": order(
            days(6), status=shipped, platform_status="paid/fulfilled",
            shipments=(parcel(days(5), [days(5) - timedelta(hours=1)], days(4), None),),
        ),
        "review_due": order(
            days(6), status=delivered, platform_status="paid/fulfilled",
            shipments=(parcel(days(5), [days(5)], days(4), days(4)),),
        ),
    }  # fmt: skip


def _assign(stored: int, due: int, shares: dict[str, float]) -> tuple[list[str], int]:
    """The kind of each due order (each kind spread evenly, no randomness) and the spacing of due orders."""
    counts = {kind: round(share * due) for kind, share in shares.items()}
    counts[next(iter(ROUTINE))] += due - sum(counts.values())
    spread = [((i + 0.5) / count, kind) for kind, count in counts.items() for i in range(count)]
    kinds = [kind for _, kind in sorted(spread)]
    return kinds, max(1, stored // due) if due else stored + 1


_COLUMNS = (
    "shop_id", "external_id", "number", "status", "platform_status", "channel", "customer_email",
    "customer_external_id", "created_at", "platform_updated_at", "ingested_at", "next_check_at", "deleted", "data",
)  # fmt: skip


def seed(url: str, shop_id: str, stored: int, due: int, shares: dict[str, float], batch: int = 20_000) -> float:
    """Bulk-insert ``stored`` orders, ``due`` of them due now in the given mix; returns seconds taken.

    The stored orders that are not due are the shop's history: four in five finished (delivered long ago,
    nothing left to check, ``next_check_at`` NULL), one in five waiting for a later check.
    """
    from connector import codec
    from connector.store.db import make_engine

    variants = _variants(shop_id)
    templates = {kind: (order, json.dumps(codec.dump_order(order))) for kind, order in variants.items()}
    history_order, history_json = templates["delivered_yesterday"]
    postgres = url.startswith("postgresql")
    placeholders = ", ".join(f"%({c})s" if postgres else f":{c}" for c in _COLUMNS)
    values = placeholders.replace("%(data)s", "%(data)s::jsonb")
    sql = f"INSERT INTO orders ({', '.join(_COLUMNS)}) VALUES ({values})"

    def stamp(moment: datetime) -> Any:
        return moment if postgres else moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    later, now = stamp(NOW + timedelta(days=2)), stamp(NOW)
    kinds, every = _assign(stored, due, shares)
    engine = make_engine(url)
    started = time.perf_counter()
    done = 0
    while done < stored:
        rows = []
        for n in range(done, min(stored, done + batch)):
            slot, offset = divmod(n, every)
            kind = kinds[slot] if offset == 0 and slot < len(kinds) else None
            order, text = templates[kind] if kind else (history_order, history_json)
            external_id = str(7_000_000_000 + n)
            customer = f"c{n}"
            created = stamp(order.created_at)
            rows.append(
                {
                    "shop_id": shop_id,
                    "external_id": external_id,
                    "number": f"#{n}",
                    "status": order.status.value,
                    "platform_status": order.platform_status,
                    "channel": "web",
                    "customer_email": f"{customer}@example.nl",
                    "customer_external_id": customer,
                    "created_at": created,
                    "platform_updated_at": created,
                    "ingested_at": created,
                    "next_check_at": now if kind else (later if n % 5 == 0 else None),
                    "deleted": False,
                    "data": text.replace("__ID__", external_id).replace("__CUSTOMER__", customer),
                }
            )
        with engine.begin() as connection:
            connection.exec_driver_sql(sql, rows)
        done += len(rows)
        elapsed = time.perf_counter() - started
        print(f"\rseeding: {done:,}/{stored:,} orders ({done / elapsed:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def _tick_worker(raw_settings: dict[str, Any], profile: str | None, out: Any) -> None:  # a fresh process
    from _support import peak_rss_mb

    from connector.config import settings_from_mapping
    from connector.policies.engine import run_until_idle
    from connector.services import Services

    services = Services.build(settings_from_mapping(raw_settings, env={}), clock=lambda: NOW)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    started = time.perf_counter()
    report = run_until_idle(services, NOW, max_ticks=1_000_000)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=False, color=False, show_all=False))  # type: ignore[arg-type]
    services.engine.dispose()
    out.put(
        {
            "seconds": seconds,
            "evaluated": report.evaluated,
            "errors": report.errors,
            "planned": report.actions_planned,
            "opened": report.incidents_opened,
            "vouchers": report.vouchers_issued,
            "refused": report.vouchers_refused,
            "rss": peak_rss_mb(),
        }
    )


def tick_once(raw_settings: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    """All due orders through the policy engine in a fresh worker process (ticks of ``tick_batch``)."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_tick_worker, args=(raw_settings, profile, queue))
    process.start()
    result = queue.get()
    process.join()
    return dict(result)


_WRITTEN = ("action_attempts", "call_tasks", "email_log", "vouchers", "actions", "incidents")


def reset(url: str, due_ids: list[int]) -> None:
    """Undo a tick: forget what it wrote and make the same orders due again, for the next repetition."""
    from sqlalchemy import bindparam, text

    from connector.store.db import make_engine
    from connector.store.tables import OrderRow, table_of

    engine = make_engine(url)
    orders = table_of(OrderRow)
    statement = orders.update().where(orders.c.id == bindparam("order_id")).values(next_check_at=bindparam("at"))
    with engine.begin() as connection:
        for table in _WRITTEN:
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(statement, [{"order_id": i, "at": NOW} for i in due_ids])
    engine.dispose()


def _due_ids(url: str) -> list[int]:
    from sqlalchemy import select

    from connector.store.db import make_engine
    from connector.store.tables import OrderRow

    engine = make_engine(url)
    with engine.connect() as connection:
        ids = list(connection.scalars(select(OrderRow.id).where(OrderRow.next_check_at <= NOW)))
    engine.dispose()
    return ids


def measure(args: argparse.Namespace, stored: int, shares: dict[str, float]) -> dict[str, Any]:
    """Seed one store, then tick it ``--repeat`` times (reset in between); the median run and all times."""
    from connector.config import settings_from_mapping
    from connector.services import Services

    with tempdir() as tmp, database(args.database, Path(tmp)) as url:
        raw = settings_dict(url)
        Services.build(settings_from_mapping(raw, env={})).engine.dispose()  # the shop row
        seeded = seed(url, "bench", stored, args.due, shares)
        due_ids = _due_ids(url)
        print(f"seeded {stored:,} orders in {seeded:.1f} s; {len(due_ids):,} due", file=sys.stderr)
        runs = []
        for n in range(args.repeat):
            if n:
                reset(url, due_ids)
            profile = f"{args.profile}.{stored}.txt" if args.profile and n == 0 else None
            runs.append(tick_once(raw, profile))
            print(f"  tick {n + 1}/{args.repeat}: {runs[-1]['seconds']:.2f} s", file=sys.stderr)
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return middle | {"seed_s": seeded, "all": [round(r["seconds"], 3) for r in runs], "due_found": len(due_ids)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    shares = mix(args.firing_share)
    print("due-order mix: " + ", ".join(f"{kind} {share:.1%}" for kind, share in shares.items()), file=sys.stderr)
    large = measure(args, args.stored, shares)
    small = measure(args, args.small, shares)
    return {
        "database": args.database,
        "stored": args.stored,
        "due": large["due_found"],
        "firing_share": args.firing_share,
        "mix": {kind: round(share, 4) for kind, share in shares.items()},
        "evaluated": large["evaluated"],
        "errors": large["errors"],
        "incidents_opened": large["opened"],
        "actions_planned": large["planned"],
        "vouchers_issued": large["vouchers"],
        "vouchers_refused": large["refused"],
        "repeat": args.repeat,
        "tick_s": round(large["seconds"], 3),
        "tick_s_runs": large["all"],
        "tick_s_small": round(small["seconds"], 3),
        "tick_s_small_runs": small["all"],
        "stored_small": args.small,
        "scale_ratio": round(large["seconds"] / small["seconds"], 3) if small["seconds"] else 0.0,
        "peak_rss_mb": round(max(large["rss"], small["rss"]), 1),
        "seed_s": round(large["seed_s"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="stored orders of the comparison run")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--firing-share", type=float, default=0.10, help="share of due orders that open an incident")
    parser.add_argument("--repeat", type=int, default=3, help="ticks per store size; the median is reported")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profile", metavar="PREFIX", help="write a pyinstrument profile of the first tick")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 0 <= args.firing_share <= 1:
        parser.error("--firing-share must be between 0 and 1")
    if args.smoke:
        args.stored, args.small, args.due, args.repeat = 20_000, 5_000, 400, 1
    result = run(args)
    summary = (
        f"tick ({result['database']}): {result['due']:,} due of {result['stored']:,} stored "
        f"({result['firing_share']:.0%} firing) in {result['tick_s']} s, median of {result['repeat']} "
        f"({result['incidents_opened']:,} incidents, {result['actions_planned']:,} actions, "
        f"{result['vouchers_issued']} vouchers, {result['errors']} errors); "
        f"{result['stored_small']:,} stored: {result['tick_s_small']} s; scale ratio {result['scale_ratio']}; "
        f"worker peak RSS {result['peak_rss_mb']} MB"
    )
    emit(summary, result, args.json)


if __name__ == "__main__":
    main()
