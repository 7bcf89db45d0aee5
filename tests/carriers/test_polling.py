"""The polling planner either side of each threshold: age, cadence by status, night, budget, bucket, back-off."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from connector.carriers.config import PollingSettings, RateLimit
from connector.carriers.polling import (
    Limiter,
    ParcelState,
    SourcePlan,
    backoff,
    cadence,
    due_at,
    is_night,
    plan,
)
from connector.model import ShipmentStatus as S

TZ = "Europe/Amsterdam"
SETTINGS = PollingSettings()
NOON = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 12:00 in Amsterdam


def parcel(status: S = S.IN_TRANSIT, **changes: object) -> ParcelState:
    base: dict[str, object] = {"key": "dhl:JVGL1", "status": status, "shipped_at": NOON - timedelta(days=1)}
    base.update(changes)
    return ParcelState(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (S.OUT_FOR_DELIVERY, timedelta(minutes=45)),
        (S.IN_TRANSIT, timedelta(hours=3)),
        (S.CARRIER_PICKED_UP, timedelta(hours=3)),
        (S.PENDING, timedelta(hours=6)),
        (S.ATTEMPTED_DELIVERY, timedelta(hours=2)),
        (S.DELIVERED, None),
        (S.RETURNED, None),
        (S.CANCELLED, None),
    ],
)
def test_cadence_by_status(status: S, expected: timedelta | None) -> None:
    assert cadence(status, SETTINGS) == expected


def test_a_pushing_source_is_read_only_when_it_went_quiet() -> None:
    assert cadence(S.OUT_FOR_DELIVERY, SETTINGS, pushes=True) == timedelta(hours=12)


def test_read_again_exactly_when_the_cadence_is_over() -> None:
    read = NOON - timedelta(hours=3)
    assert due_at(parcel(last_read_at=read), NOON, SETTINGS, TZ) == NOON
    assert due_at(parcel(last_read_at=read + timedelta(seconds=1)), NOON, SETTINGS, TZ) == NOON + timedelta(seconds=1)


def test_a_parcel_older_than_30_days_is_not_read() -> None:
    young = parcel(shipped_at=NOON - timedelta(days=30) + timedelta(seconds=1))
    old = parcel(shipped_at=NOON - timedelta(days=30))
    assert due_at(young, NOON, SETTINGS, TZ) == NOON
    assert due_at(old, NOON, SETTINGS, TZ) is None


def test_closed_parcels_are_not_read() -> None:
    assert due_at(parcel(S.DELIVERED), NOON, SETTINGS, TZ) is None


@pytest.mark.parametrize(("local_hour", "night"), [(21, False), (22, True), (3, True), (5, True), (6, False)])
def test_night_in_shop_time(local_hour: int, night: bool) -> None:
    moment = datetime(2026, 11, 24, local_hour, 30, tzinfo=UTC) - timedelta(hours=1)  # CET = UTC+1
    assert is_night(moment, TZ, SETTINGS) is night


def test_a_read_due_at_night_waits_for_the_morning() -> None:
    evening = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 21:00 local
    state = parcel(S.OUT_FOR_DELIVERY, last_read_at=evening)  # due 21:45 local: still day
    assert due_at(state, evening, SETTINGS, TZ) == evening + timedelta(minutes=45)
    late = parcel(S.OUT_FOR_DELIVERY, last_read_at=evening + timedelta(minutes=30))  # due 22:15 local
    assert due_at(late, evening, SETTINGS, TZ) == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_a_push_without_details_is_read_at_once() -> None:
    state = parcel(last_news_at=NOON, needs_details=True)
    assert due_at(state, NOON, SETTINGS, TZ, pushes=True) == NOON
    morning = NOON - timedelta(hours=4)  # 08:00 local: read again at 20:00 if nothing came
    assert due_at(parcel(last_news_at=morning), NOON, SETTINGS, TZ, pushes=True) == morning + timedelta(hours=12)


def test_dhl_reads_a_parcel_at_most_ten_times_a_day() -> None:
    day = NOON.astimezone().date()
    nine = parcel(S.OUT_FOR_DELIVERY, last_read_at=NOON - timedelta(hours=1), reads_today=9, reads_day=day)
    ten = parcel(S.OUT_FOR_DELIVERY, last_read_at=NOON - timedelta(hours=1), reads_today=10, reads_day=day)
    assert due_at(nine, NOON, SETTINGS, TZ, per_parcel_daily=10) == NOON - timedelta(minutes=15)
    assert due_at(ten, NOON, SETTINGS, TZ, per_parcel_daily=10) == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_the_token_bucket_never_exceeds_the_published_window() -> None:
    limiter = Limiter(RateLimit(calls=100, per_seconds=300), TZ, SETTINGS)
    for _ in range(50):  # half the window as a burst
        assert limiter.may_call(NOON)
        limiter.spend(NOON)
    assert not limiter.may_call(NOON)
    assert not limiter.may_call(NOON + timedelta(seconds=5.9))  # the other half refills: one per 6 s
    assert limiter.may_call(NOON + timedelta(seconds=6))
    moment, calls = NOON + timedelta(seconds=6), 50
    while moment < NOON + timedelta(seconds=300):
        if limiter.may_call(moment):
            limiter.spend(moment)
            calls += 1
        moment += timedelta(seconds=1)
    assert calls == 99  # burst 50 + 49 refilled within the first 300 s: never over 100


def test_the_daily_budget_is_spread_over_the_day() -> None:
    limiter = Limiter(RateLimit(calls=1, per_seconds=1, daily=250), TZ, SETTINGS)
    six = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 06:00 local: only the burst (5)
    assert limiter.budget_left(six) == 5
    assert limiter.budget_left(six + timedelta(hours=8)) == 130  # half the day: 125 + 5
    assert limiter.budget_left(six + timedelta(hours=16) - timedelta(seconds=1)) == 250
    for second in range(5):
        moment = six + timedelta(seconds=second)
        assert limiter.may_call(moment)
        limiter.spend(moment)
    assert not limiter.may_call(six + timedelta(seconds=10))


def test_no_calls_at_night_whatever_the_budget() -> None:
    limiter = Limiter(RateLimit(calls=1000, per_seconds=60), TZ, SETTINGS)
    assert not limiter.may_call(datetime(2026, 11, 24, 21, 0, tzinfo=UTC))  # 22:00 local
    assert limiter.may_call(datetime(2026, 11, 24, 20, 59, tzinfo=UTC))


def test_retry_after_is_honoured_and_back_off_doubles_with_jitter() -> None:
    rng = random.Random(7)
    assert timedelta(seconds=300) <= backoff(1, SETTINGS, rng, retry_after=300) <= timedelta(seconds=375)
    first, second = backoff(1, SETTINGS, random.Random(1)), backoff(2, SETTINGS, random.Random(1))
    assert timedelta(minutes=5) <= first <= timedelta(minutes=6.25)
    assert timedelta(minutes=10) <= second <= timedelta(minutes=12.5)
    assert backoff(20, SETTINGS, random.Random(1)) <= timedelta(minutes=150)
    limiter = Limiter(RateLimit(calls=10, per_seconds=60), TZ, SETTINGS)
    limiter.refused(NOON, random.Random(3), retry_after=60)
    assert not limiter.may_call(NOON + timedelta(seconds=59))
    assert limiter.blocked_until is not None
    assert limiter.may_call(limiter.blocked_until)


def test_the_plan_batches_the_most_overdue_first_within_the_limit() -> None:
    states = [parcel(key=f"myparcel:{i}", last_read_at=NOON - timedelta(hours=3, minutes=i)) for i in range(60)]
    limiter = Limiter(RateLimit(calls=4, per_seconds=300), TZ, SETTINGS)  # a burst of 2
    result = plan(states, NOON, SETTINGS, TZ, SourcePlan(pushes=False, batch_size=25), limiter)
    assert [len(b) for b in result.batches] == [25, 25]
    assert result.batches[0][0].key == "myparcel:59"
    assert result.waiting == 10
    assert limiter.calls == 2
