"""The business calendar: durations, working days and hours, cut-offs, holidays, DST, other time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from connector.calendar import BusinessCalendar, Duration, DurationUnit, parse_time_of_day

AMS = ZoneInfo("Europe/Amsterdam")
NL = BusinessCalendar("Europe/Amsterdam")
CUTOFF, DISPATCH = time(18, 0), time(21, 0)


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


# --- durations ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("2 working days", 2, DurationUnit.WORKING_DAYS),
        ("1 working day", 1, DurationUnit.WORKING_DAYS),
        ("4 working hours", 4, DurationUnit.WORKING_HOURS),
        ("3 days", 3, DurationUnit.DAYS),
        ("36 hours", 36, DurationUnit.HOURS),
        ("  1   Hour ", 1, DurationUnit.HOURS),
    ],
)
def test_duration_parses(text: str, amount: int, unit: DurationUnit) -> None:
    assert Duration.parse(text) == Duration(amount, unit)


def test_duration_prints_back() -> None:
    assert [str(Duration.parse(t)) for t in ("1 working days", "2 working day", "1 days", "36 hour")] == [
        "1 working day",
        "2 working days",
        "1 day",
        "36 hours",
    ]


@pytest.mark.parametrize("text", ["two days", "2", "2 weeks", "-1 days", "2.5 days", "", "working days"])
def test_duration_refuses_with_a_clear_message(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a duration like '2 working days'.*got"):
        Duration.parse(text)


def test_time_of_day() -> None:
    assert parse_time_of_day("18:00") == time(18, 0)
    assert parse_time_of_day("9:05") == time(9, 5)
    for bad in ("24:00", "18:60", "18h", "6pm"):
        with pytest.raises(ValueError, match="expected a time of day like '18:00'"):
            parse_time_of_day(bad)


# --- cut-off and the next-day promise ---------------------------------------------------------------


def test_one_second_before_the_cutoff_ships_today() -> None:
    promise = NL.next_day_promise(ams(2026, 11, 24, 17, 59, 59), CUTOFF, DISPATCH)
    assert promise.dispatch_by == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert promise.deliver_on == date(2026, 11, 25)


def test_at_the_cutoff_ships_the_next_working_day() -> None:
    promise = NL.next_day_promise(ams(2026, 11, 24, 18, 0, 0), CUTOFF, DISPATCH)
    assert promise.dispatch_by == datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    assert promise.deliver_on == date(2026, 11, 26)


def test_friday_before_cutoff_is_delivered_on_saturday() -> None:
    promise = NL.next_day_promise(ams(2026, 11, 27, 12, 0), CUTOFF, DISPATCH)
    assert promise.deliver_on == date(2026, 11, 28)


def test_friday_after_cutoff_ships_monday_and_arrives_tuesday() -> None:
    promise = NL.next_day_promise(ams(2026, 11, 27, 18, 30), CUTOFF, DISPATCH)
    assert promise.dispatch_by == datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert promise.deliver_on == date(2026, 12, 1)


def test_weekend_order_ships_monday() -> None:
    promise = NL.next_day_promise(ams(2026, 11, 29, 11, 0), CUTOFF, DISPATCH)
    assert promise.deliver_on == date(2026, 12, 1)


def test_kings_day_is_no_working_day() -> None:
    assert NL.is_holiday(date(2026, 4, 27))
    promise = NL.next_day_promise(ams(2026, 4, 24, 19, 0), CUTOFF, DISPATCH)  # Friday after the cut-off
    assert promise.dispatch_by == datetime(2026, 4, 28, 19, 0, tzinfo=UTC)  # Tuesday, summer time
    assert promise.deliver_on == date(2026, 4, 29)


def test_christmas_pushes_delivery_past_both_days() -> None:
    promise = NL.next_day_promise(ams(2026, 12, 24, 17, 0), CUTOFF, DISPATCH)
    assert promise.deliver_on == date(2026, 12, 28)
    assert NL.next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)


def test_easter_monday_and_good_friday() -> None:
    before = NL.next_day_promise(ams(2026, 4, 2, 17, 0), CUTOFF, DISPATCH)
    assert before.deliver_on == date(2026, 4, 4)  # Friday is a holiday, Saturday a delivery day
    after = NL.next_day_promise(ams(2026, 4, 2, 19, 0), CUTOFF, DISPATCH)
    assert after.dispatch_by.astimezone(AMS).date() == date(2026, 4, 7)
    assert after.deliver_on == date(2026, 4, 8)


def test_other_country_and_time_zone() -> None:
    ny = BusinessCalendar("America/New_York", country="US")
    est = ZoneInfo("America/New_York")
    # 17:30 in New York is 22:30 UTC: before the local cut-off
    assert ny.next_day_promise(datetime(2026, 11, 24, 22, 30, tzinfo=UTC), CUTOFF, DISPATCH).deliver_on == date(
        2026, 11, 25
    )
    late = ny.next_day_promise(datetime(2026, 11, 25, 19, 0, tzinfo=est), CUTOFF, DISPATCH)
    assert late.dispatch_by == datetime(2026, 11, 27, 21, 0, tzinfo=est)  # Thanksgiving skipped
    assert late.deliver_on == date(2026, 11, 28)
    # the same instant in Amsterdam is past the cut-off
    assert NL.dispatch_day(datetime(2026, 11, 24, 22, 30, tzinfo=UTC), CUTOFF) == date(2026, 11, 25)


def test_shop_closing_days() -> None:
    closed = BusinessCalendar("Europe/Amsterdam", closed_days=[date(2026, 11, 25)])
    assert closed.next_day_promise(ams(2026, 11, 24, 19, 0), CUTOFF, DISPATCH).deliver_on == date(2026, 11, 27)


# --- DST ----------------------------------------------------------------------------------------------


def test_working_days_across_spring_dst_keep_the_wall_time() -> None:
    start = ams(2026, 3, 27, 10, 0)  # Friday, CET (09:00 UTC)
    assert NL.add(start, Duration.parse("1 working day")) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_working_days_across_autumn_dst_keep_the_wall_time() -> None:
    start = ams(2026, 10, 23, 10, 0)  # Friday, CEST (08:00 UTC)
    assert NL.add(start, Duration.parse("1 working day")) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_hours_are_elapsed_time_across_dst() -> None:
    start = ams(2026, 3, 28, 12, 0)  # 11:00 UTC
    assert NL.add(start, Duration.parse("36 hours")) == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert NL.add(start, Duration.parse("36 hours")).astimezone(AMS).hour == 1  # 01:00 CEST, not 00:00


def test_days_keep_the_wall_time_and_skip_the_missing_hour() -> None:
    assert NL.add(ams(2026, 3, 28, 12, 0), Duration.parse("1 day")) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
    # 02:30 does not exist on 29 March: it moves forward to 03:30 CEST
    assert NL.add(ams(2026, 3, 28, 2, 30), Duration.parse("1 day")) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_cutoff_on_the_day_after_dst() -> None:
    assert NL.dispatch_day(datetime(2026, 3, 30, 15, 59, 59, tzinfo=UTC), CUTOFF) == date(2026, 3, 30)
    assert NL.dispatch_day(datetime(2026, 3, 30, 16, 0, 0, tzinfo=UTC), CUTOFF) == date(2026, 3, 31)


# --- working time ------------------------------------------------------------------------------------


def test_working_days_from_a_weekend_count_whole_days() -> None:
    assert NL.add(ams(2026, 11, 28, 10, 0), Duration.parse("2 working days")) == ams(2026, 12, 2, 0, 0)


def test_working_hours_only_count_opening_hours() -> None:
    assert NL.add(ams(2026, 11, 27, 16, 0), Duration.parse("4 working hours")) == ams(2026, 11, 30, 12, 0)
    assert NL.add(ams(2026, 11, 28, 10, 0), Duration.parse("2 working hours")) == ams(2026, 11, 30, 11, 0)
    assert NL.add(ams(2026, 11, 24, 7, 0), Duration.parse("1 working hour")) == ams(2026, 11, 24, 10, 0)
    assert NL.add(ams(2026, 11, 24, 9, 0), Duration.parse("8 working hours")) == ams(2026, 11, 24, 17, 0)
    assert NL.add(ams(2026, 11, 24, 9, 0), Duration.parse("9 working hours")) == ams(2026, 11, 25, 10, 0)


def test_late_after_a_due_day() -> None:
    assert NL.late_after(date(2026, 11, 25), Duration.parse("1 working day")) == ams(2026, 11, 26, 9, 0)
    assert NL.late_after(date(2026, 11, 27), Duration.parse("1 working day")) == ams(2026, 11, 30, 9, 0)
    assert NL.late_after(date(2026, 11, 27), Duration.parse("1 day")) == ams(2026, 11, 28, 9, 0)
    assert NL.late_after(date(2026, 11, 25), Duration.parse("12 hours")) == ams(2026, 11, 26, 12, 0)


def test_next_delivery_day_skips_sunday_but_not_saturday() -> None:
    assert NL.next_delivery_day(date(2026, 11, 27)) == date(2026, 11, 28)
    assert NL.next_delivery_day(date(2026, 11, 28)) == date(2026, 11, 30)
    assert NL.next_working_day(date(2026, 11, 27)) == date(2026, 11, 30)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        NL.add(datetime(2026, 11, 24, 10, 0), Duration.parse("1 day"))
