"""The business calendar of one shop: time zone, working days, carrier delivery days, holidays, cut-offs.

Policies measure their thresholds with it ("2 working days after payment", "the promised delivery date
of an order placed at 17:59:59 with a next-day method") and it parses the duration strings of the
configuration (``2 working days``, ``4 working hours``, ``3 days``, ``36 hours``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS: dict[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MAX_SCAN_DAYS = 3660  # a calendar with no working day at all is refused long before this


class DurationUnit(enum.StrEnum):
    WORKING_DAYS = "working days"
    WORKING_HOURS = "working hours"
    DAYS = "days"
    HOURS = "hours"


_UNIT_WORDS: dict[str, DurationUnit] = {
    "working day": DurationUnit.WORKING_DAYS,
    "working days": DurationUnit.WORKING_DAYS,
    "working hour": DurationUnit.WORKING_HOURS,
    "working hours": DurationUnit.WORKING_HOURS,
    "day": DurationUnit.DAYS,
    "days": DurationUnit.DAYS,
    "hour": DurationUnit.HOURS,
    "hours": DurationUnit.HOURS,
}
_DURATION = re.compile(r"^\s*(\d{1,4})\s+([a-z ]+?)\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """A configured span: ``amount`` of ``unit``; working units only count working time."""

    amount: int
    unit: DurationUnit

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text.lower()) if isinstance(text, str) else None
        unit = _UNIT_WORDS.get(" ".join(match.group(2).split())) if match else None
        if match is None or unit is None:
            raise ValueError(
                f"expected a duration like '2 working days', '4 working hours', '3 days' or '36 hours', got {text!r}"
            )
        return cls(int(match.group(1)), unit)

    def __str__(self) -> str:
        word = self.unit.value
        return f"{self.amount} {word[:-1] if self.amount == 1 else word}"


def parse_time_of_day(text: str) -> time:
    """``"18:00"`` -> 18:00; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day like '18:00', got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@lru_cache(maxsize=64)
def _years(country: str, subdivision: str | None) -> dict[int, frozenset[date]]:
    """Public holidays per year of one country (shared by every calendar of that country)."""
    return {}


def supported_country(country: str) -> bool:
    return country.upper() in holidays.list_supported_countries()


@dataclass(frozen=True, slots=True)
class DeliveryPromise:
    """When a next-day order must leave the warehouse and the shop-local date it should arrive."""

    dispatch_by: datetime
    deliver_on: date


class BusinessCalendar:
    """Working days, delivery days and holidays of one shop, in that shop's time zone."""

    def __init__(
        self,
        timezone: str = "Europe/Amsterdam",
        *,
        country: str = "NL",
        subdivision: str | None = None,
        working_days: Iterable[int] = (0, 1, 2, 3, 4),
        delivery_days: Iterable[int] = (0, 1, 2, 3, 4, 5),
        work_start: time = time(9, 0),
        work_end: time = time(17, 0),
        closed_days: Iterable[date] = (),
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.country = country.upper()
        self.subdivision = subdivision
        self._years = _years(self.country, subdivision)
        self.working_days = frozenset(working_days)
        self.delivery_days = frozenset(delivery_days)
        if not self.working_days or not self.delivery_days:
            raise ValueError("a calendar needs at least one working day and one delivery day")
        if work_end <= work_start:
            raise ValueError("work_end must be later than work_start")
        self.work_start = work_start
        self.work_end = work_end
        self.closed_days = frozenset(closed_days)
        self._working: dict[date, bool] = {}  # memo: a tick asks about the same few days thousands of times
        self._nth: dict[tuple[date, int], date] = {}

    # --- days --------------------------------------------------------------------------------------

    def _public(self, year: int) -> frozenset[date]:
        found = self._years.get(year)
        if found is None:
            found = frozenset(holidays.country_holidays(self.country, subdiv=self.subdivision, years=year))
            self._years[year] = found
        return found

    def is_public_holiday(self, day: date) -> bool:
        return day in self._public(day.year)

    def is_holiday(self, day: date) -> bool:
        return day in self._public(day.year) or day in self.closed_days

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = day.weekday() in self.working_days and not self.is_holiday(day)
        return known

    def is_delivery_day(self, day: date) -> bool:
        return day.weekday() in self.delivery_days and not self.is_public_holiday(day)

    def _next(self, day: date, test: str, *, include: bool = False) -> date:
        check = self.is_working_day if test == "working" else self.is_delivery_day
        current = day if include else day + timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if check(current):
                return current
            current += timedelta(days=1)
        raise ValueError(f"no {test} day within ten years of {day}")

    def next_working_day(self, day: date, *, include: bool = False) -> date:
        """The first working day after ``day`` (or ``day`` itself with ``include``)."""
        return self._next(day, "working", include=include)

    def next_delivery_day(self, day: date, *, include: bool = False) -> date:
        """The first day after ``day`` on which the carrier delivers."""
        return self._next(day, "delivery", include=include)

    def add_working_days_to_date(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day``."""
        key = (day, n)
        found = self._nth.get(key)
        if found is None:
            found = day
            for _ in range(n):
                found = self.next_working_day(found)
            self._nth[key] = found
        return found

    # --- instants ----------------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the calendar needs aware datetimes")
        return moment.astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def at(self, day: date, clock: time) -> datetime:
        """The instant of a shop-local wall time (a time skipped by DST moves forward), in UTC."""
        return datetime.combine(day, clock, tzinfo=self.tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        return self.at(day, time(0, 0))

    def add(self, start: datetime, duration: Duration) -> datetime:
        """``start`` plus ``duration``: working units count only working time, days keep the wall time."""
        return _ADDERS[duration.unit](self, start, duration.amount)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The clock runs only on working days: from a working day, the same wall time ``n`` working days
        later; from a closed day, ``n`` whole working days after the next working day begins."""
        local = self.local(start)
        day = local.date()
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            clock = time(0, 0)
        else:
            clock = local.time().replace(tzinfo=None)
        return self.at(self.add_working_days_to_date(day, n), clock)

    def add_working_hours(self, start: datetime, n: int) -> datetime:
        """The clock runs only in opening hours (``work_start``-``work_end``) of working days."""
        remaining = timedelta(hours=n)
        local = self.local(start)
        day = local.date()
        clock = local.time().replace(tzinfo=None)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day) and clock < self.work_end:
                begin = max(clock, self.work_start)
                available = _span(begin, self.work_end)
                if remaining <= available:
                    return self.at(day, (datetime.combine(day, begin) + remaining).time())
                remaining -= available
            day, clock = day + timedelta(days=1), time(0, 0)
        raise ValueError("no working hours within ten years")

    def add_days(self, start: datetime, n: int) -> datetime:
        local = self.local(start)
        return self.at(local.date() + timedelta(days=n), local.time().replace(tzinfo=None))

    def add_hours(self, start: datetime, n: int) -> datetime:
        return start.astimezone(UTC) + timedelta(hours=n)

    def late_after(self, due_day: date, duration: Duration) -> datetime:
        """The moment something due on shop-local ``due_day`` is ``duration`` late.

        Day units count days after the due day and take effect at ``work_start`` of that day (``1
        working day`` late = the next working day's opening); hour units run from the due day's end.
        """
        if duration.unit is DurationUnit.WORKING_DAYS:
            return self.at(self.add_working_days_to_date(due_day, duration.amount), self.work_start)
        if duration.unit is DurationUnit.DAYS:
            return self.at(due_day + timedelta(days=duration.amount), self.work_start)
        return self.add(self.start_of_day(due_day + timedelta(days=1)), duration)

    # --- next-day promises ------------------------------------------------------------------------

    def dispatch_day(self, placed_at: datetime, cutoff: time) -> date:
        """The working day whose cut-off the order made: today if before the cut-off, else the next."""
        local = self.local(placed_at)
        day = local.date()
        if self.is_working_day(day) and local.time().replace(tzinfo=None) < cutoff:
            return day
        return self.next_working_day(day)

    def next_day_promise(self, placed_at: datetime, cutoff: time, dispatch_by: time) -> DeliveryPromise:
        """The promise of a next-day method: dispatched by ``dispatch_by`` on the dispatch day, delivered
        on the next carrier delivery day after it."""
        day = self.dispatch_day(placed_at, cutoff)
        return DeliveryPromise(dispatch_by=self.at(day, dispatch_by), deliver_on=self.next_delivery_day(day))


def _span(begin: time, end: time) -> timedelta:
    anchor = date(2000, 1, 1)
    return datetime.combine(anchor, end) - datetime.combine(anchor, begin)


_ADDERS = {
    DurationUnit.WORKING_DAYS: BusinessCalendar.add_working_days,
    DurationUnit.WORKING_HOURS: BusinessCalendar.add_working_hours,
    DurationUnit.DAYS: BusinessCalendar.add_days,
    DurationUnit.HOURS: BusinessCalendar.add_hours,
}
