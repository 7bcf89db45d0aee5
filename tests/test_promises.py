"""Promises: a sent message's dates are stored on the order, followed up or met, never recorded twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from connector.actions import ActionKind, PlannedAction
from connector.model import OrderStatus, ShipmentStatus
from connector.notify.mailer import MemoryMailer
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain, plan
from connector.policies import engine as tick
from connector.promises import rules, store
from connector.promises.rules import PromiseView
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, OrderRow, PromiseRow
from tests.conftest import make_settings
from tests.notify.support import Clock, make_order, notify_payload, plan_notify
from tests.notify.support import context as message_context
from tests.notify.support import store as store_order
from tests.policies.support import shipment

AMS = ZoneInfo("Europe/Amsterdam")
THURSDAY = date(2026, 11, 26)


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def services(db_url: str, engine: Engine, clock: Clock) -> Services:
    return Services.build(make_settings(db_url), engine=engine, clock=clock)


@pytest.fixture
def env(services: Services) -> Iterator[OutboxEnv]:
    env = OutboxEnv(services=services, worker="test-worker", mailer=MemoryMailer())
    yield env
    env.close()


def rows(services: Services) -> list[tuple[str, date, str, str, datetime | None, str, str]]:
    with services.sessions() as session:
        found = session.scalars(select(PromiseRow).order_by(PromiseRow.id))
        return [(r.kind, r.promised_on, r.awaits, r.ended, r.ended_at, r.policy, r.template) for r in found]


def test_a_sent_message_that_names_a_date_becomes_an_open_promise_and_makes_the_order_due(
    services: Services, env: OutboxEnv, now: datetime
) -> None:
    order_id = store_order(services, make_order())
    with transaction(services.sessions) as session:
        session.execute(OrderRow.__table__.update().values(next_check_at=None))  # type: ignore[attr-defined]
    action_id = plan_notify(services, order_id, notify_payload("stale_update"), step="1-notify")
    assert drain(env).done == 1
    assert rows(services) == [("delivery_by", THURSDAY, "delivered", "open", None, "address", "stale_update")]
    with services.sessions() as session:
        promise = session.scalars(select(PromiseRow)).one()
        assert (promise.action_id, promise.made_at, promise.order_id) == (action_id, now, order_id)
        assert session.get(OrderRow, order_id).next_check_at == now  # type: ignore[union-attr]


def test_a_message_that_fails_makes_no_promise(services: Services, env: OutboxEnv) -> None:
    order_id = store_order(services, make_order())
    plan_notify(services, order_id, notify_payload("stale_update", to="not-an-address"), step="1-notify")
    assert drain(env).failed == 1
    assert rows(services) == []


def test_a_message_without_a_date_makes_no_promise(services: Services, env: OutboxEnv) -> None:
    order_id = store_order(services, make_order())
    plan_notify(services, order_id, notify_payload("stale_update", context=message_context(new_delivery_date=None)))
    assert drain(env).done == 1
    assert rows(services) == []


@pytest.mark.parametrize(
    ("sent", "ended"),
    # the last and the first moment a message may go (quiet hours 21:00-08:00) around the promised Thursday
    [(datetime(2026, 11, 26, 20, 59, tzinfo=AMS), "followed_up"), (datetime(2026, 11, 27, 8, 0, tzinfo=AMS), "missed")],
)
def test_a_newer_dated_message_ends_the_open_promise_followed_up_on_or_before_its_day_else_missed(
    services: Services, env: OutboxEnv, clock: Clock, sent: datetime, ended: str
) -> None:
    order_id = store_order(services, make_order())
    plan_notify(services, order_id, notify_payload("stale_update"), step="1-notify")
    drain(env)
    clock.now = sent.astimezone(UTC)
    later = notify_payload(
        "delay_notice", context=message_context(new_delivery_date=None, hear_from_us_by="2026-11-30")
    )
    plan_notify(services, order_id, later, step="2-notify")
    drain(env)
    assert [(kind, ended_as, at) for kind, _, _, ended_as, at, _, _ in rows(services)] == [
        ("delivery_by", ended, clock.now),
        ("hear_from_us_by", "open", None),
    ]


def test_recording_the_same_message_again_stores_nothing_twice(services: Services, now: datetime) -> None:
    order_id = store_order(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload("stale_update"))
    for _ in range(2):
        with transaction(services.sessions) as session:
            store.record_message(
                session, shop_id="fietsen", order_id=order_id, action_id=action_id, policy="stale",
                template="stale_update", context={"new_delivery_date": "2026-11-26"}, order=None, sent_at=now, tz=AMS,
            )  # fmt: skip
    assert rows(services) == [("delivery_by", THURSDAY, "delivered", "open", None, "stale", "stale_update")]


def test_delivery_in_time_ends_the_promise_met_and_cancels_a_follow_up_still_waiting(
    services: Services, now: datetime
) -> None:
    delivered_at = datetime(2026, 11, 26, 7, 30, tzinfo=AMS)
    parcel = shipment(now, status=ShipmentStatus.DELIVERED, delivered_at=delivered_at)
    order = make_order(status=OrderStatus.DELIVERED, shipments=(parcel,))
    order_id = store_order(services, order)
    with transaction(services.sessions) as session:
        promise = PromiseRow(
            shop_id="fietsen",
            order_id=order_id,
            policy="stale",
            template="stale_update",
            kind="delivery_by",
            promised_on=THURSDAY,
            awaits="delivered",
            made_at=now,
            ended="open",
        )
        session.add(promise)
        follow_up = PlannedAction(ActionKind.NOTIFY_CUSTOMER, "promise_followup", "1-notify", {"template": "x"})
        plan(session, shop_id="fietsen", order_id=order_id, order_external_id="1001", action=follow_up, now=now)
    at = datetime(2026, 11, 26, 7, 45, tzinfo=AMS)
    tick.run_tick(services, at)
    assert rows(services) == [("delivery_by", THURSDAY, "delivered", "met", delivered_at, "stale", "stale_update")]
    with services.sessions() as session:
        action = session.scalars(select(ActionRow).where(ActionRow.policy == "promise_followup")).one()
        assert (action.state, action.last_error) == ("cancelled", "not sent: the promise ended (met)")


# --- the pure rules ---------------------------------------------------------------------------------


def view(kind: str = rules.DELIVERY_BY, promised: date = THURSDAY, ended: str = rules.OPEN) -> PromiseView:
    return PromiseView(kind, promised, datetime(2026, 11, 24, 10, tzinfo=AMS), rules.DELIVERED, id=1, ended=ended)


def test_the_dates_a_message_gives() -> None:
    assert rules.dates_in({"new_delivery_date": "2026-11-26", "hear_from_us_by": None}) == [("delivery_by", THURSDAY)]
    assert rules.dates_in({"hear_from_us_by": "2026-11-27"}) == [("hear_from_us_by", date(2026, 11, 27))]
    assert rules.dates_in({"new_delivery_date": None}) == []


def test_a_later_date_we_gave_is_kept_an_earlier_one_gives_way() -> None:
    assert rules.kept_date([view(promised=THURSDAY)], date(2026, 11, 25)) == THURSDAY
    assert rules.kept_date([view(promised=THURSDAY)], date(2026, 11, 27)) == date(2026, 11, 27)
    assert rules.kept_date([view(promised=THURSDAY, ended=rules.MET)], date(2026, 11, 25)) == date(2026, 11, 25)
    assert rules.kept_date([view(rules.HEAR_FROM_US_BY, THURSDAY)], date(2026, 11, 25)) == date(2026, 11, 25)
    assert rules.kept_date([view()], None) is None


def test_an_open_promise_shows_as_missed_once_its_day_has_passed() -> None:
    assert rules.shown_ended(view(), THURSDAY) == "open"
    assert rules.shown_ended(view(), THURSDAY + timedelta(days=1)) == "missed"
    assert rules.shown_ended(view(ended=rules.MET), THURSDAY + timedelta(days=1)) == "met"


def test_the_date_promised_now_is_the_newest_open_one() -> None:
    older = view(promised=THURSDAY)
    newer = PromiseView("delivery_by", date(2026, 11, 28), datetime(2026, 11, 26, 8, tzinfo=AMS), "delivered", id=2)
    assert rules.current([older, newer]) == date(2026, 11, 28)
    assert rules.current([older, newer], rules.HEAR_FROM_US_BY) is None
