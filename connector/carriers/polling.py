"""Polite polling, as pure decisions: which parcel to read when, and whether a source's credential may call now.

- Only open parcels (not delivered, returned or cancelled) shipped less than ``max_age_days`` ago are read.
- Cadence by status (``PollingSettings``): out for delivery every 30-60 minutes, a problem every few hours, in
  transit every few hours, a label every 6 hours; a source that pushes (Sendcloud, MyParcel) is read only when
  it went quiet for ``repair_hours``, or at once when a push came without details (MyParcel).
- No reads at night, shop time: a read that falls due at night waits for the morning.
- One ``Limiter`` per (source, credential): a token bucket sized to the published rate, a daily budget spent
  evenly over the shop's day (so the morning does not eat the day), a per-parcel daily cap (DHL: 10), and after
  a refusal the source's ``Retry-After`` or an exponential back-off with jitter (a seeded ``random.Random``).

Nothing here reads a clock or calls a source; ``now`` is given, and the caller performs the reads.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from connector.carriers.config import PollingSettings, RateLimit
from connector.model import ShipmentStatus

_PROBLEMS = frozenset(
    {
        ShipmentStatus.ATTEMPTED_DELIVERY,
        ShipmentStatus.DELAYED,
        ShipmentStatus.FAILURE,
        ShipmentStatus.READY_FOR_PICKUP,
    }
)
_LABEL = frozenset({ShipmentStatus.PENDING, ShipmentStatus.UNKNOWN})


@dataclass(frozen=True, slots=True)
class ParcelState:
    """What the planner knows of one parcel."""

    key: str  # source:tracking number
    status: ShipmentStatus
    shipped_at: datetime
    last_read_at: datetime | None = None
    last_news_at: datetime | None = None  # the last push or read that told us something
    reads_today: int = 0
    reads_day: date | None = None  # the shop-local day ``reads_today`` counts
    needs_details: bool = False


def is_open(state: ParcelState, now: datetime, settings: PollingSettings) -> bool:
    return not state.status.is_closed and now - state.shipped_at < timedelta(days=settings.max_age_days)


def cadence(status: ShipmentStatus, settings: PollingSettings, *, pushes: bool = False) -> timedelta | None:
    """How long a parcel in ``status`` may go unread; None for a closed parcel."""
    if status.is_closed:
        return None
    if pushes:
        return timedelta(hours=settings.repair_hours)
    if status is ShipmentStatus.OUT_FOR_DELIVERY:
        return timedelta(minutes=settings.out_for_delivery_minutes)
    if status in _PROBLEMS:
        return timedelta(hours=settings.problem_hours)
    if status in _LABEL:
        return timedelta(hours=settings.pending_hours)
    return timedelta(hours=settings.in_transit_hours)


def is_night(now: datetime, timezone: str, settings: PollingSettings) -> bool:
    hour = now.astimezone(ZoneInfo(timezone)).hour
    start, end = settings.night_starts, settings.night_ends
    return (hour >= start or hour < end) if start > end else (start <= hour < end)


def morning(now: datetime, timezone: str, settings: PollingSettings) -> datetime:
    """The end of the night ``now`` falls in (``now`` itself by day)."""
    if not is_night(now, timezone, settings):
        return now
    local = now.astimezone(ZoneInfo(timezone))
    end = local.replace(hour=settings.night_ends, minute=0, second=0, microsecond=0)
    if end <= local:
        end = (local + timedelta(days=1)).replace(hour=settings.night_ends, minute=0, second=0, microsecond=0)
    return end.astimezone(now.tzinfo)


def due_at(
    state: ParcelState,
    now: datetime,
    settings: PollingSettings,
    timezone: str,
    *,
    pushes: bool = False,
    per_parcel_daily: int | None = None,
) -> datetime | None:
    """When the parcel should next be read (never at night); None: not at all (closed or too old)."""
    if not is_open(state, now, settings):
        return None
    every = cadence(state.status, settings, pushes=pushes)
    assert every is not None
    if state.needs_details:
        due = now
    else:
        seen = max((t for t in (state.last_read_at, state.last_news_at) if t is not None), default=None)
        due = now if seen is None else seen + every
    if (
        per_parcel_daily is not None
        and state.reads_day == _day(now, timezone)
        and state.reads_today >= per_parcel_daily
    ):
        local = now.astimezone(ZoneInfo(timezone))
        due = max(due, (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0))
    return morning(due, timezone, settings)


def _day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def backoff(
    failures: int, settings: PollingSettings, rng: random.Random, retry_after: float | None = None
) -> timedelta:
    """The wait after the ``failures``-th refusal in a row: at least the source's ``Retry-After``, else
    ``backoff_minutes`` doubled per failure up to the cap; plus up to a quarter of it as jitter."""
    base = min(settings.backoff_minutes * 2 ** max(0, failures - 1), settings.backoff_max_minutes) * 60.0
    wait = max(base if retry_after is None else 0.0, retry_after or 0.0)
    return timedelta(seconds=wait + rng.uniform(0.0, 0.25 * max(wait, 1.0)))


@dataclass
class Limiter:
    """The calls one (source, credential) may make: token bucket, daily budget spent evenly, back-off."""

    limit: RateLimit
    timezone: str
    settings: PollingSettings
    tokens: float | None = None  # None: full, before the first call
    refilled_at: datetime | None = None
    day: date | None = None
    used_today: int = 0
    blocked_until: datetime | None = None
    failures: int = 0
    calls: int = 0

    @property
    def capacity(self) -> float:
        """Half the window's calls as burst, the other half as refill: no sliding window ever sees more than
        ``calls`` (burst + refill over one window); one call per window for a limit of one."""
        return float(max(1, self.limit.calls // 2))

    @property
    def rate(self) -> float:
        calls = self.limit.calls
        return (calls - self.capacity if calls > 1 else 1.0) / self.limit.per_seconds

    def _refill(self, now: datetime) -> None:
        if self.tokens is None or self.refilled_at is None:
            self.tokens, self.refilled_at = self.capacity, now
            return
        elapsed = max(0.0, (now - self.refilled_at).total_seconds())
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.refilled_at = now

    def budget_left(self, now: datetime) -> int | None:
        """Calls the daily budget allows by now: ``daily`` spread over the shop's day hours (None: no budget)."""
        if self.limit.daily is None:
            return None
        today = _day(now, self.timezone)
        if today != self.day:
            self.day, self.used_today = today, 0
        local = now.astimezone(ZoneInfo(self.timezone))
        start = local.replace(hour=self.settings.night_ends, minute=0, second=0, microsecond=0)
        end = local.replace(hour=self.settings.night_starts, minute=0, second=0, microsecond=0)
        span = max(1.0, (end - start).total_seconds())
        share = min(1.0, max(0.0, (local - start).total_seconds() / span))
        burst = max(1, self.limit.daily // 50)
        allowed = min(self.limit.daily, math.floor(self.limit.daily * share) + burst)
        return max(0, allowed - self.used_today)

    def may_call(self, now: datetime) -> bool:
        if self.blocked_until is not None and now < self.blocked_until:
            return False
        if is_night(now, self.timezone, self.settings):
            return False
        left = self.budget_left(now)
        if left is not None and left <= 0:
            return False
        self._refill(now)
        return self.tokens is not None and self.tokens >= 1.0 - 1e-9

    def spend(self, now: datetime) -> None:
        """One call made (after ``may_call``)."""
        self._refill(now)
        assert self.tokens is not None
        self.tokens -= 1.0
        self.budget_left(now)
        self.used_today += 1
        self.calls += 1

    def refused(self, now: datetime, rng: random.Random, retry_after: float | None = None) -> None:
        """The source refused or failed (429, 5xx, garbage): wait before the next call."""
        self.failures += 1
        self.blocked_until = now + backoff(self.failures, self.settings, rng, retry_after)

    def succeeded(self) -> None:
        self.failures = 0
        self.blocked_until = None


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """How one source is read."""

    pushes: bool
    batch_size: int
    per_parcel_daily: int | None = None


@dataclass
class Plan:
    batches: list[list[ParcelState]] = field(default_factory=list)
    waiting: int = 0  # due, but the limiter said no


def plan(
    states: Iterable[ParcelState],
    now: datetime,
    settings: PollingSettings,
    timezone: str,
    source: SourcePlan,
    limiter: Limiter,
) -> Plan:
    """The reads to make now for one (source, credential): due parcels, most overdue first, in batches, as
    many batches as the limiter allows (each batch is one call and is spent on the limiter)."""
    due: list[tuple[datetime, str, ParcelState]] = []
    for state in states:
        at = due_at(state, now, settings, timezone, pushes=source.pushes, per_parcel_daily=source.per_parcel_daily)
        if at is not None and at <= now:
            due.append((at, state.key, state))
    due.sort(key=lambda d: (not d[2].needs_details, d[0], d[1]))
    result = Plan()
    ordered: Sequence[ParcelState] = [d[2] for d in due]
    for start in range(0, len(ordered), source.batch_size):
        if not limiter.may_call(now):
            result.waiting = len(ordered) - start
            break
        limiter.spend(now)
        result.batches.append(list(ordered[start : start + source.batch_size]))
    return result
