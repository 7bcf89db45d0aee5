"""Waking the worker: a committed change or planned action wakes it (a rolled-back one does not), once per
transaction; the reactor decides and performs at once instead of at its poll; on PostgreSQL another process's
commit reaches this worker through LISTEN/NOTIFY."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector.actions import ActionKind, ActionRequest, PlannedAction
from connector.ingest import Outcome, ingest
from connector.outbox.base import Environment
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import plan
from connector.scheduler import Reactor
from connector.services import Services
from connector.store.db import session_factory, transaction
from connector.store.tables import ActionRow, IncidentRow
from connector.wakeup import Listener, Wakeup, announce
from tests.builders import address, order, order_event
from tests.conftest import UNDER_FAKETIME, make_settings

# The reactor's poll in these tests: far longer than any test waits, so only a wake-up can make it act in time
LONG_POLL = 60.0
WAIT = 10.0  # how long a test waits for the woken reactor before it fails


@pytest.fixture
def services(db_url: str, engine: Engine, now: datetime) -> Services:
    settings = make_settings(db_url, scheduler={"outbox_poll_seconds": LONG_POLL})
    return Services.build(settings, engine=engine, clock=lambda: now)


def tags(step: str = "open") -> PlannedAction:
    return PlannedAction(ActionKind.ADD_TAGS, "address", step, {"tags": ["ordercare:address"]})


def plan_tags(session: Any, now: datetime, step: str = "open", observe: bool = False) -> int | None:
    return plan(
        session,
        shop_id="fietsen",
        order_id=None,
        order_external_id="1001",
        action=tags(step),
        now=now,
        observe=observe,
    )


def test_a_planned_action_wakes_the_worker_when_it_commits_not_before(services: Services, now: datetime) -> None:
    with transaction(services.sessions) as session:
        plan_tags(session, now, "one")
        plan_tags(session, now, "two")  # the same transaction: one wake-up
        assert services.wakeup.count == 0
    assert services.wakeup.count == 1


def test_a_rolled_back_plan_an_existing_key_or_an_observed_action_wakes_nobody(
    services: Services, now: datetime
) -> None:
    def rolled_back() -> None:
        with transaction(services.sessions) as session:
            plan_tags(session, now)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert services.wakeup.count == 0
    with transaction(services.sessions) as session:
        plan_tags(session, now, observe=True)
    assert services.wakeup.count == 0
    with transaction(services.sessions) as session:
        plan_tags(session, now, "other")
    assert services.wakeup.count == 1
    with transaction(services.sessions) as session:
        assert plan_tags(session, now, "other") is None  # planned before: nothing new
    assert services.wakeup.count == 1


def test_a_stored_change_wakes_the_worker_and_a_duplicate_does_not(services: Services, now: datetime) -> None:
    shop = services.shops.get("fietsen")
    assert shop is not None
    event = order_event(order("2001"))
    with transaction(services.sessions) as session:
        assert ingest(session, shop, event, now) is Outcome.APPLIED
    assert services.wakeup.count == 1
    with transaction(services.sessions) as session:
        assert ingest(session, shop, event, now) is Outcome.DUPLICATE
    assert services.wakeup.count == 1


def test_announce_outside_a_transaction_does_nothing(services: Services) -> None:
    with services.sessions() as session:
        announce(session)
    assert services.wakeup.count == 0


class Recording:
    """A performer for every kind that records what it performed (nothing leaves the process)."""

    def __init__(self) -> None:
        self.performed: list[str] = []
        self._changed = threading.Condition()

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        with self._changed:
            self.performed.append(request.idempotency_key)
            self._changed.notify_all()
        return {"ok": True}

    def wait_for(self, key: str) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: key in self.performed, WAIT)

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        return None


threads_that_wait = pytest.mark.skipif(UNDER_FAKETIME, reason="under libfaketime timed waits do not return")


@pytest.fixture
def reactor(services: Services) -> Iterator[tuple[Reactor, Recording]]:
    recording = Recording()
    env = OutboxEnv(services, performers=dict.fromkeys(ActionKind, recording))
    running = Reactor(env)
    running.start()
    try:
        yield running, recording
    finally:
        running.stop()
        running.join(WAIT)
        env.close()
    assert not running.is_alive()


@threads_that_wait
def test_the_reactor_performs_a_planned_action_when_woken_long_before_its_poll(
    services: Services, reactor: tuple[Reactor, Recording], now: datetime
) -> None:
    _, recording = reactor
    with transaction(services.sessions) as session:
        plan_tags(session, now)
    assert recording.wait_for("fietsen:1001:address:open"), "the wake-up did not reach the reactor"
    assert recording.performed == ["fietsen:1001:address:open"]


@threads_that_wait
def test_the_reactor_decides_on_a_stored_order_and_performs_its_hold_at_once(
    services: Services, reactor: tuple[Reactor, Recording], now: datetime
) -> None:
    # given a Shopify order without a house number, stored as a webhook stores it
    _, recording = reactor
    shop = services.shops.get("fietsen")
    assert shop is not None
    bad = order("2002", shipping_address=address(address1="Hoofdstraat", house_number=None))
    with transaction(services.sessions) as session:
        ingest(session, shop, order_event(bad), now)

    # then the reactor opens the address incident and its hold is performed, without waiting for any poll
    assert recording.wait_for("fietsen:2002:address:1-hold")
    with services.sessions() as session:
        assert [i.kind for i in session.scalars(select(IncidentRow))] == ["address"]

    def hold_state() -> str:
        with services.sessions() as session:
            return str(session.scalars(select(ActionRow.state).where(ActionRow.kind == "hold_fulfillment")).one())

    settled = threading.Event()
    for _ in range(int(WAIT * 20)):  # the outcome is recorded right after the performer returns
        if hold_state() == "done":
            break
        settled.wait(0.05)
    assert hold_state() == "done"


@threads_that_wait
def test_a_wakeup_wait_returns_at_its_timeout_when_nobody_wakes_it() -> None:
    wakeup = Wakeup()
    assert wakeup.wait(0.01) is False
    wakeup.notify()
    assert wakeup.wait(0.01) is True
    assert wakeup.wait(0.01) is False  # the flag was cleared


@threads_that_wait
def test_on_postgresql_another_processs_commit_wakes_this_worker(
    services: Services, engine: Engine, now: datetime
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite workers in other processes rely on the poll")
    mine = Wakeup()
    listener = Listener(services.settings.database_url, mine, poll_seconds=0.2)
    listener.start()
    try:
        assert listener.listening.wait(WAIT)
        other = session_factory(engine)  # another process's sessions: no shared wake-up
        with transaction(other) as session:
            plan_tags(session, now)
        assert mine.wait(WAIT)
    finally:
        listener.stop()
        listener.join(WAIT)
    assert not listener.is_alive()
