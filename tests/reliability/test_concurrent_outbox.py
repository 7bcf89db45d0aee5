"""The outbox performing several actions at once (``scheduler.outbox_concurrency``): each order's actions still go
one after another in their planned order, a follower only after the action it follows, every action exactly once
(also with two workers draining together), and a shop whose rate-limit bucket runs low gets one action at a time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.actions import ActionKind, ActionRequest, PlannedAction
from connector.outbox.base import Environment
from connector.outbox.env import OutboxEnv
from connector.outbox.lanes import HEADROOM_SHARE, Recorder, bucket_share
from connector.outbox.queue import Attempted, claim, drain, plan, record
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow
from tests.conftest import make_settings

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ORDERS = 6
PERFORM_SECONDS = 0.02  # long enough for the lanes of different orders to overlap


class Recording:
    """A performer that notes when each action starts and ends, and takes a little while."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []  # ("start" | "end", idempotency key), in the order they happened
        self.performed: Counter[str] = Counter()
        self.running: Counter[str] = Counter()  # order -> its actions in flight now
        self.in_flight = 0
        self.most_in_flight = 0  # across all orders
        self.most_in_one_order = 0

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        order = str(request.order_external_id)
        with self.lock:
            self.events.append(("start", request.idempotency_key))
            self.running[order] += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.most_in_one_order = max(self.most_in_one_order, self.running[order])
        time.sleep(PERFORM_SECONDS)
        with self.lock:
            self.events.append(("end", request.idempotency_key))
            self.running[order] -= 1
            self.in_flight -= 1
            self.performed[request.idempotency_key] += 1
        return {"performed": request.idempotency_key}

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        return None

    def started(self) -> list[str]:
        return [key for what, key in self.events if what == "start"]

    def index(self, what: str, key: str) -> int:
        return self.events.index((what, key))


def services_for(db_url: str, concurrency: int) -> Services:
    settings = make_settings(db_url, scheduler={"outbox_concurrency": concurrency})
    return Services.build(settings, clock=lambda: NOW)


def order_id(n: int) -> str:
    return str(5000 + n)


# per order: a hold, a tag planned with it, then a release that follows the hold and a note that follows the release
STEPS = (
    PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "incorrect_address"}),
    PlannedAction(ActionKind.ADD_TAGS, "address", "2-tag", {"tags": ["ordercare:address"]}),
    PlannedAction(ActionKind.RELEASE_HOLD, "address", "3-release", {}, after_step="1-hold"),
    PlannedAction(ActionKind.ADD_NOTE, "address", "4-note", {"text": "adres hersteld"}, after_step="3-release"),
)


def keys(n: int) -> list[str]:
    return [f"fietsen:{order_id(n)}:address:{step.step}" for step in STEPS]


def plan_orders(services: Services) -> None:
    with transaction(services.sessions) as session:
        for n in range(ORDERS):  # order by order: a claim holds each order's hold and tag next to each other
            for step in STEPS:
                plan(session, shop_id="fietsen", order_id=None, order_external_id=order_id(n), action=step, now=NOW)


def env_with(services: Services, performer: Recording, worker: str = "w1") -> OutboxEnv:
    return OutboxEnv(services, worker=worker, performers={step.kind: performer for step in STEPS})


def drain_until_idle(env: OutboxEnv) -> int:
    total = 0
    while (done := drain(env).total) > 0:
        total += done
    return total


def assert_every_action_done_once(services: Services, performer: Recording) -> None:
    expected = Counter({key: 1 for n in range(ORDERS) for key in keys(n)})
    assert performer.performed == expected
    with services.sessions() as session:
        rows = session.scalars(select(ActionRow)).all()
        assert {(row.state, row.attempts, row.lease_owner) for row in rows} == {("done", 1, None)}
        attempts = session.scalars(select(ActionAttempt)).all()
        assert Counter(a.outcome for a in attempts) == Counter({"done": len(expected)})
        assert all(a.finished_at is not None for a in attempts)


def test_four_lanes_keep_each_orders_actions_in_planned_order_and_followers_after_leaders(db_url: str) -> None:
    services = services_for(db_url, 4)
    plan_orders(services)
    performer = Recording()
    env = env_with(services, performer)

    assert drain_until_idle(env) == ORDERS * len(STEPS)
    env.close()

    assert performer.most_in_flight >= 2  # the orders did go at once
    assert performer.most_in_one_order == 1  # but never two actions of one order
    started = performer.started()
    for n in range(ORDERS):
        hold, tag, release, note = keys(n)
        assert [key for key in started if key in (hold, tag, release, note)] == [hold, tag, release, note]
        assert performer.index("end", hold) < performer.index("start", tag)
        assert performer.index("end", hold) < performer.index("start", release)
        assert performer.index("end", release) < performer.index("start", note)
    assert_every_action_done_once(services, performer)


def test_a_follower_planned_before_its_leader_still_waits_for_it_with_four_lanes(db_url: str) -> None:
    services = services_for(db_url, 4)
    hold, release = STEPS[0], STEPS[2]
    with transaction(services.sessions) as session:
        for n in range(ORDERS):
            for step in (release, hold):  # the follower's row comes first
                plan(session, shop_id="fietsen", order_id=None, order_external_id=order_id(n), action=step, now=NOW)
    performer = Recording()

    assert drain_until_idle(env_with(services, performer)) == 2 * ORDERS

    assert performer.most_in_flight >= 2
    for n in range(ORDERS):
        hold_key, _, release_key, _ = keys(n)
        assert performer.index("end", hold_key) < performer.index("start", release_key)
    assert sorted(performer.performed.values()) == [1] * 2 * ORDERS


def test_one_lane_performs_the_batch_in_claim_order(db_url: str) -> None:
    services = services_for(db_url, 1)
    plan_orders(services)
    performer = Recording()

    assert drain_until_idle(env_with(services, performer)) == ORDERS * len(STEPS)

    assert performer.most_in_flight == 1
    # the claim's order: the holds and tags as planned (order by order), then each round of followers
    expected = [keys(n)[i] for n in range(ORDERS) for i in (0, 1)]
    expected += [keys(n)[2] for n in range(ORDERS)] + [keys(n)[3] for n in range(ORDERS)]
    assert performer.started() == expected
    assert_every_action_done_once(services, performer)


def test_two_workers_with_four_lanes_each_perform_every_action_exactly_once(db_url: str) -> None:
    services = services_for(db_url, 4)
    plan_orders(services)
    performer = Recording()
    envs = [env_with(services, performer, worker=f"w{n}") for n in (1, 2)]
    totals: list[int] = []
    errors: list[BaseException] = []

    def work(env: OutboxEnv) -> None:
        try:
            totals.append(drain_until_idle(env))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(env,)) for env in envs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for env in envs:
        env.close()

    assert errors == []
    assert sum(totals) == ORDERS * len(STEPS)
    assert performer.most_in_one_order == 1
    assert_every_action_done_once(services, performer)
    with services.sessions() as session:
        workers = Counter(session.scalars(select(ActionAttempt.worker)))
    assert set(workers) <= {"w1", "w2"}


# --- a shop's rate limit ----------------------------------------------------------------------------


@dataclass
class Bucket:
    maximum: float = 1000.0
    available: float = 1000.0

    def predicted(self, now: float) -> float:
        return self.available


@dataclass
class PacedClient:
    """A platform client with a cost bucket that notes how many of its shop's calls were in flight together."""

    bucket: Bucket
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    most: int = 0
    performed: Counter[str] = field(default_factory=Counter)

    def monotonic(self) -> float:
        return 0.0

    def perform(self, request: ActionRequest) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(PERFORM_SECONDS)
        with self.lock:
            self.in_flight -= 1
            self.performed[request.idempotency_key] += 1
        return {}

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


def plan_tags(services: Services, orders: int) -> None:
    with transaction(services.sessions) as session:
        for n in range(orders):
            action = PlannedAction(ActionKind.ADD_TAGS, "stale", "1-tag", {"tags": ["ordercare:stale"]})
            plan(session, shop_id="fietsen", order_id=None, order_external_id=order_id(n), action=action, now=NOW)


@pytest.mark.parametrize(
    ("available", "most"),
    [
        (HEADROOM_SHARE * 1000 - 1, 1),  # just under half of the bucket: one call at a time
        (HEADROOM_SHARE * 1000, 4),  # half of it: the lanes overlap
    ],
)
def test_a_shops_actions_overlap_only_while_its_bucket_is_at_least_half_full(
    db_url: str, available: float, most: int
) -> None:
    services = services_for(db_url, 4)
    plan_tags(services, 8)
    client = PacedClient(Bucket(available=available))

    def factory(shop: Shop) -> Any:
        return client

    env = OutboxEnv(services, worker="w1", client_factory=factory)
    assert drain_until_idle(env) == 8
    env.close()

    assert client.performed == Counter({f"fietsen:{order_id(n)}:stale:1-tag": 1 for n in range(8)})
    if most == 1:
        assert client.most == 1
    else:
        assert client.most >= 2


def test_bucket_share_reads_the_clients_bucket_and_none_without_one() -> None:
    assert bucket_share(PacedClient(Bucket(maximum=1000, available=250))) == 0.25
    assert bucket_share(PacedClient(Bucket(maximum=0, available=0))) == 0.0
    assert bucket_share(object()) is None
    assert bucket_share(None) is None


# --- recording outcomes in groups -------------------------------------------------------------------


def test_a_group_that_could_not_be_written_is_written_by_the_flush() -> None:
    written: list[list[int]] = []
    failures = [RuntimeError("database went away")]

    def write(group: list[int]) -> None:
        if failures:
            raise failures.pop()
        written.append(group)

    recorder: Recorder[int] = Recorder(write)
    with pytest.raises(RuntimeError):
        recorder.add(1)
    recorder.add(2)  # written together with the one that failed before

    recorder.flush()
    assert written == [[1, 2]]
    assert recorder.writes == 1


def test_a_group_of_outcomes_is_recorded_at_once_except_where_the_lease_was_lost(db_url: str) -> None:
    services = services_for(db_url, 4)
    with transaction(services.sessions) as session:
        for n in range(3):
            for step in (STEPS[0], STEPS[2]):  # a hold and the release that follows it
                plan(session, shop_id="fietsen", order_id=None, order_external_id=order_id(n), action=step, now=NOW)
    with transaction(services.sessions) as session:
        claimed = claim(session, "w1", NOW, lease_seconds=120, limit=10)
    assert [c.request.idempotency_key for c in claimed] == [keys(n)[0] for n in range(3)]
    with transaction(services.sessions) as session:  # w1's lease on the second ran out and w2 took it over
        session.execute(update(ActionRow).where(ActionRow.id == claimed[1].request.action_id).values(lease_owner="w2"))
    later = NOW.replace(minute=1)
    attempted = [
        Attempted(claimed[0], "done", later, result={"held": True}),
        Attempted(claimed[1], "done", later, result={"held": True}),
        Attempted(claimed[2], "failed", later, error="Shopify refused the hold"),
    ]

    assert record(OutboxEnv(services, worker="w1"), attempted) == [True, False, True]

    with services.sessions() as session:
        rows = {row.idempotency_key: row for row in session.scalars(select(ActionRow))}
        finished = {a.action_id: (a.outcome, a.finished_at) for a in session.scalars(select(ActionAttempt))}
    first, second, third = (rows[keys(n)[0]] for n in range(3))
    assert (first.state, first.result, first.done_at, first.lease_owner) == ("done", {"held": True}, later, None)
    assert (second.state, second.result, second.lease_owner) == ("pending", None, "w2")  # w2's now: untouched
    assert (third.state, third.last_error, third.done_at) == ("failed", "Shopify refused the hold", later)
    assert rows[keys(0)[2]].state == "pending"  # its hold is done: the release may go
    assert rows[keys(1)[2]].state == "pending"
    assert (rows[keys(2)[2]].state, rows[keys(2)[2]].done_at) == ("cancelled", later)  # its hold failed
    assert finished == {c.request.action_id: (a.outcome, later) for c, a in zip(claimed, attempted, strict=True)}
