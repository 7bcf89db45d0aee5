"""Carrier polling on a simulated clock: 10,000 open parcels over four sources and many shops, each credential
paced by ``connector.carriers.polling``; stand-in windows with the published limits count every call that breaks
one (must be 0), every call at night (must be 0), and the share of parcels refreshed within their cadence.

    python bench/carrier_polling.py --json [--smoke]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from _support import emit

from connector.carriers.config import (
    DhlSettings,
    MyParcelSettings,
    PollingSettings,
    PostnlSettings,
    RateLimit,
    SendcloudSettings,
)
from connector.carriers.polling import Limiter, ParcelState, SourcePlan, cadence, due_at, is_night, plan
from connector.carriers.stand_in import Window
from connector.model import ShipmentStatus as S

TZ = "Europe/Amsterdam"
START = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Monday 00:00 in Amsterdam
STEP = timedelta(minutes=1)
SAMPLE = timedelta(minutes=15)
RETRY = timedelta(minutes=5)
POLLING = PollingSettings()
SHARES = {"sendcloud": 0.3, "myparcel": 0.3, "dhl": 0.25, "postnl": 0.15}
PUSHES = {"sendcloud": True, "myparcel": True, "dhl": False, "postnl": False}
LIMITS: dict[str, RateLimit] = {
    "sendcloud": SendcloudSettings(public_key="p", secret_key="s").limit,
    "myparcel": MyParcelSettings(api_key="k").limit,
    "dhl": DhlSettings(api_key="k").limit,
    "postnl": PostnlSettings(api_key="k", customer_number="1").limit,
}
BATCH = {"sendcloud": 1, "myparcel": MyParcelSettings(api_key="k").batch, "dhl": 1, "postnl": 1}
PER_PARCEL = {"dhl": DhlSettings(api_key="k").per_parcel_daily}
POSTNL_EVERY = timedelta(minutes=PostnlSettings(api_key="k", customer_number="1").updated_every_minutes)


@dataclass
class SimParcel:
    key: str
    source: str
    shop: int
    timeline: list[tuple[datetime, S]]
    state: ParcelState
    reads: dict[Any, int] = field(default_factory=lambda: defaultdict(int))

    def truth(self, now: datetime) -> S:
        status = self.timeline[0][1]
        for at, value in self.timeline:
            if at > now:
                break
            status = value
        return status


def _local_morning(moment: datetime, hour: int) -> datetime:
    day = moment + timedelta(hours=1)  # CET (the simulated week is in winter time)
    morning = day.replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return morning if morning > moment else morning + timedelta(days=1)


def timeline(rng: random.Random, shipped: datetime) -> list[tuple[datetime, S]]:
    picked = shipped + timedelta(hours=rng.uniform(2, 10))
    transit = picked + timedelta(hours=rng.uniform(3, 12))
    events = [(shipped, S.PENDING), (picked, S.CARRIER_PICKED_UP), (transit, S.IN_TRANSIT)]
    if rng.random() < 0.03:
        return events  # stalls in transit
    out = _local_morning(transit, 8) + timedelta(minutes=rng.uniform(0, 120))
    events.append((out, S.OUT_FOR_DELIVERY))
    done = out + timedelta(hours=rng.uniform(1, 6))
    if rng.random() < 0.05:
        events.append((done, S.ATTEMPTED_DELIVERY))
        done = _local_morning(done, 9) + timedelta(hours=rng.uniform(1, 5))
    events.append((done, S.DELIVERED))
    return events


def build(parcels: int, shops: int, days: int, seed: int) -> list[SimParcel]:
    rng = random.Random(seed)
    out: list[SimParcel] = []
    sources = list(SHARES)
    weights = [SHARES[s] for s in sources]
    for index in range(parcels):
        source = rng.choices(sources, weights)[0]
        shipped = START + timedelta(hours=rng.uniform(-48, 24 * days - 12))
        key = f"{source}:{index:06d}"
        out.append(SimParcel(key, source, index % shops, timeline(rng, shipped), ParcelState(key, S.PENDING, shipped)))
    return out


def run(parcels: int, shops: int, days: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed + 1)
    sim = build(parcels, shops, days, seed)
    by_key = {p.key: p for p in sim}
    limiters = {(s, shop): Limiter(LIMITS[s], TZ, POLLING) for s in SHARES for shop in range(shops)}
    windows = {
        (s, shop): Window(LIMITS[s], timezone=TZ, count_refused=(s == "myparcel"))
        for s in SHARES
        for shop in range(shops)
    }
    violations: dict[str, int] = defaultdict(int)
    night_calls: dict[str, int] = defaultdict(int)
    calls: dict[str, int] = defaultdict(int)
    refused: dict[str, int] = defaultdict(int)
    fresh: dict[str, int] = defaultdict(int)
    samples: dict[str, int] = defaultdict(int)
    heaps: dict[tuple[str, int], list[tuple[datetime, str]]] = defaultdict(list)
    pushes: list[tuple[datetime, str, S]] = []
    for p in sim:
        for at, status in p.timeline[1:]:
            if PUSHES[p.source]:
                pushes.append((at, p.key, status))
        if p.source != "postnl":
            heapq.heappush(heaps[(p.source, p.shop)], (p.state.shipped_at, p.key))
    pushes.sort()
    next_postnl = {shop: START for shop in range(shops)}
    end = START + timedelta(days=days)
    now, push_at, next_sample = START, 0, START

    def reschedule(p: SimParcel, moment: datetime) -> None:
        due = due_at(p.state, moment, POLLING, TZ, pushes=PUSHES[p.source], per_parcel_daily=PER_PARCEL.get(p.source))
        if due is not None:
            heapq.heappush(heaps[(p.source, p.shop)], (due, p.key))

    def call(source: str, shop: int, moment: datetime) -> bool:
        calls[source] += 1
        if is_night(moment, TZ, POLLING):
            night_calls[source] += 1
        wait = windows[(source, shop)].admit(moment)
        if wait is not None:
            violations[source] += 1
            refused[source] += 1
            limiters[(source, shop)].refused(moment, rng, retry_after=wait)
            return False
        limiters[(source, shop)].succeeded()
        return True

    def read(p: SimParcel, moment: datetime) -> None:
        day = (moment + timedelta(hours=1)).date()
        p.reads[day] += 1
        if p.source in PER_PARCEL and p.reads[day] > PER_PARCEL[p.source]:
            violations[p.source] += 1
        p.state = replace(
            p.state,
            status=p.truth(moment),
            last_read_at=moment,
            needs_details=False,
            reads_today=p.reads[day],
            reads_day=day,
        )

    while now < end:
        while push_at < len(pushes) and pushes[push_at][0] <= now:
            _, key, status = pushes[push_at]
            p = by_key[key]
            p.state = replace(p.state, status=status, last_news_at=now, needs_details=p.source == "myparcel")
            reschedule(p, now)
            push_at += 1
        for shop in range(shops):  # PostNL: one updatedshipments call refreshes the account
            if now >= next_postnl[shop] and limiters[("postnl", shop)].may_call(now):
                limiters[("postnl", shop)].spend(now)
                next_postnl[shop] = now + POSTNL_EVERY
                if call("postnl", shop, now):
                    for p in sim:
                        if p.source == "postnl" and p.shop == shop and p.state.shipped_at <= now:
                            p.state = replace(p.state, status=p.truth(now), last_read_at=now)
        for (source, shop), heap in heaps.items():
            popped: dict[str, SimParcel] = {}
            while heap and heap[0][0] <= now:
                _, key = heapq.heappop(heap)
                p = by_key[key]
                if p.state.shipped_at <= now:
                    popped[key] = p
            if not popped:
                continue
            decided = plan(
                [p.state for p in popped.values()],
                now,
                POLLING,
                TZ,
                SourcePlan(PUSHES[source], BATCH[source], PER_PARCEL.get(source)),
                limiters[(source, shop)],
            )
            served: set[str] = set()
            for batch in decided.batches:
                if call(source, shop, now):
                    for state in batch:
                        read(by_key[state.key], now)
                        served.add(state.key)
            for key, p in popped.items():
                if key in served or due_at(p.state, now, POLLING, TZ, pushes=PUSHES[source]) is None:
                    reschedule(p, now)
                else:  # due but the credential may not call yet: look again shortly
                    heapq.heappush(heap, (now + RETRY, key))
        if now >= next_sample:
            next_sample += SAMPLE
            if not is_night(now, TZ, POLLING):
                for p in sim:
                    known = p.state.status
                    every = cadence(known, POLLING, pushes=PUSHES[p.source])
                    if every is None or p.state.shipped_at > now or p.truth(now).is_closed:
                        continue
                    if is_night(now - every, TZ, POLLING) or now - p.state.shipped_at > timedelta(days=30):
                        continue  # the night's gap is by design
                    seen = max(t for t in (p.state.last_read_at, p.state.last_news_at, p.state.shipped_at) if t)
                    samples[p.source] += 1
                    fresh[p.source] += int(now - seen <= every + RETRY)
        now += STEP

    per_source = {
        s: {
            "calls": calls[s],
            "limit_violations": violations[s],
            "night_calls": night_calls[s],
            "refused": refused[s],
            "share_within_cadence": round(fresh[s] / samples[s], 4) if samples[s] else None,
            "parcels": sum(1 for p in sim if p.source == s),
        }
        for s in SHARES
    }
    return {
        "parcels": parcels,
        "shops": shops,
        "days": days,
        "sources": per_source,
        "limit_violations": sum(violations.values()),
        "night_calls": sum(night_calls.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="1,000 parcels, one day")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    parcels, shops, days = (1000, 4, 1) if args.smoke else (10_000, 40, 3)
    started = time.perf_counter()
    result = run(parcels, shops, days, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 2)
    # a limit broken or a call at night is broken behaviour: emit exits non-zero on "errors"
    result["errors"] = result["limit_violations"] + result["night_calls"]
    lines = [f"carrier polling: {parcels} parcels, {shops} shops, {days} days ({result['seconds']} s)"]
    for source, row in result["sources"].items():
        lines.append(
            f"  {source:9} calls {row['calls']:6}  violations {row['limit_violations']}  night {row['night_calls']}"
            f"  within cadence {row['share_within_cadence']}"
        )
    emit("\n".join(lines), result, args.json)


if __name__ == "__main__":
    main()
