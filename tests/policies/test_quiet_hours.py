"""Quiet hours: nothing goes to a customer between 21:00 and 08:00 shop time; what is decided then waits for
the morning, while tags, notes and holds for staff go at once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from connector.outbox.gate import MessageGate
from connector.policies import engine as tick
from connector.policies.config import MessagesConfig
from connector.services import Services
from connector.store.tables import ActionRow

from .support import address, ams, order
from .test_engine import put

AMS = ZoneInfo("Europe/Amsterdam")
QUIET = MessagesConfig()


@pytest.mark.parametrize(
    ("now", "send_at"),
    [
        (ams(2026, 11, 24, 20, 59, 59), ams(2026, 11, 24, 20, 59, 59)),
        (ams(2026, 11, 24, 21, 0), ams(2026, 11, 25, 8, 0)),
        (ams(2026, 11, 24, 23, 30), ams(2026, 11, 25, 8, 0)),
        (ams(2026, 11, 25, 0, 0), ams(2026, 11, 25, 8, 0)),
        (ams(2026, 11, 25, 7, 59, 59), ams(2026, 11, 25, 8, 0)),
        (ams(2026, 11, 25, 8, 0), ams(2026, 11, 25, 8, 0)),
    ],
)
def test_the_quiet_hours_run_from_nine_in_the_evening_to_eight_in_the_morning(now: datetime, send_at: datetime) -> None:
    assert QUIET.send_at(now.astimezone(UTC), AMS) == send_at


def test_the_quiet_hours_follow_the_shops_clock_across_a_change_of_time() -> None:
    # Saturday 28 March 2026 22:00 CET: the clocks go forward that night, 08:00 CEST is 06:00 UTC
    assert QUIET.send_at(ams(2026, 3, 28, 22, 0), AMS) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_a_daytime_window_and_no_window() -> None:
    lunch = MessagesConfig(quiet_from=time(12, 0), quiet_until=time(13, 0))
    assert lunch.send_at(ams(2026, 11, 24, 11, 59), AMS) == ams(2026, 11, 24, 11, 59)
    assert lunch.send_at(ams(2026, 11, 24, 12, 30), AMS) == ams(2026, 11, 24, 13, 0)
    never = MessagesConfig(quiet_from=time(0, 0), quiet_until=time(0, 0))
    assert never.send_at(ams(2026, 11, 24, 23, 0), AMS) == ams(2026, 11, 24, 23, 0)


def planned_at(services: Services) -> dict[str, datetime]:
    with services.sessions() as session:
        return dict(session.execute(select(ActionRow.kind, ActionRow.next_attempt_at)).all())


@pytest.mark.parametrize(
    ("at", "message_at"),
    [(ams(2026, 11, 24, 20, 59), ams(2026, 11, 24, 20, 59)), (ams(2026, 11, 24, 22, 30), ams(2026, 11, 25, 8, 0))],
)
def test_a_message_decided_at_night_waits_for_the_morning_and_the_staff_steps_do_not(
    services: Services, at: datetime, message_at: datetime
) -> None:
    bad = order(
        "1001", at=at - timedelta(minutes=5), shipping_address=address(address1="Hoofdstraat", house_number=None)
    )
    put(services, bad, due=at)
    tick.run_tick(services, at)
    # every step is planned when decided; the outbox's gate holds the message back until the morning
    assert planned_at(services) == {
        "hold_fulfillment": at, "add_tags": at, "add_note": at, "notify_customer": at,
    }  # fmt: skip
    with services.sessions() as session:
        ids = list(session.scalars(select(ActionRow.id)))
        (message,) = session.scalars(select(ActionRow.id).where(ActionRow.kind == "notify_customer"))
        deferred = MessageGate(services)(session, ids, at)
    if message_at == at:
        assert deferred == {}
    else:
        assert {i: d.until for i, d in deferred.items()} == {message: message_at}
        assert deferred[message].reason == "waits for the end of the quiet hours (21:00–08:00 shop time)"
