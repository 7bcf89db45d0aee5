"""The outbox: idempotent planning, leases, attempts, backoff, permanent failures, replay after a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.actions import ActionKind, ActionRequest, PlannedAction, idempotency_key, key_parts
from connector.config import Settings
from connector.outbox.base import Environment
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import backoff_seconds, claim, drain, plan, retry_failed
from connector.platforms.base import PermanentError, RetryableError
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow, CallTaskRow


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakePerformer:
    def __init__(self, outcomes: list[Any] | None = None, done: dict[str, Any] | None = None) -> None:
        self.outcomes = outcomes or []
        self.done = done
        self.performed: list[ActionRequest] = []
        self.checked: list[ActionRequest] = []

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        self.performed.append(request)
        outcome = self.outcomes.pop(0) if self.outcomes else {"ok": True}
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome)

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        self.checked.append(request)
        return self.done


@pytest.fixture
def clock(now: datetime) -> Clock:
    return Clock(now)


@pytest.fixture
def services(settings: Settings, clock: Clock) -> Services:
    return Services.build(settings, clock=clock)


@pytest.fixture
def fake() -> FakePerformer:
    return FakePerformer()


def plan_tags(sessions: sessionmaker[Session], now: datetime, step: str = "open") -> int | None:
    with transaction(sessions) as session:
        return plan(
            session,
            shop_id="fietsen",
            order_id=None,
            order_external_id="1001",
            action=PlannedAction(ActionKind.ADD_TAGS, "address", step, {"tags": ["ordercare:address"]}),
            now=now,
        )


def action(sessions: sessionmaker[Session]) -> ActionRow:
    with sessions() as session:
        return session.scalars(select(ActionRow)).one()


def attempts(sessions: sessionmaker[Session]) -> list[tuple[int, str | None]]:
    with sessions() as session:
        return [(a.attempt, a.outcome) for a in session.scalars(select(ActionAttempt).order_by(ActionAttempt.id))]


def test_planning_a_step_twice_keeps_one_row(services: Services, now: datetime) -> None:
    first = plan_tags(services.sessions, now)
    assert first is not None
    assert plan_tags(services.sessions, now + timedelta(hours=1)) is None
    row = action(services.sessions)
    assert (row.idempotency_key, row.state, row.attempts) == ("fietsen:1001:address:open", "pending", 0)


def test_drain_performs_and_records(services: Services, fake: FakePerformer, now: datetime) -> None:
    plan_tags(services.sessions, now)
    report = drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}, worker="w1"))
    assert (report.done, report.retried, report.failed) == (1, 0, 0)
    assert [r.payload for r in fake.performed] == [{"tags": ["ordercare:address"]}]
    assert fake.performed[0].order_external_id == "1001"
    row = action(services.sessions)
    assert (row.state, row.result, row.attempts, row.lease_owner, row.done_at) == ("done", {"ok": True}, 1, None, now)
    assert attempts(services.sessions) == [(1, "done")]
    assert drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}, worker="w1")).total == 0
    assert len(fake.performed) == 1


def test_retryable_error_backs_off(services: Services, fake: FakePerformer, now: datetime) -> None:
    fake.outcomes = [RetryableError("HTTP 503", platform_message="Service Unavailable")]
    plan_tags(services.sessions, now)
    report = drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
    assert (report.done, report.retried) == (0, 1)
    row = action(services.sessions)
    assert row.state == "pending"
    assert row.last_error == "Service Unavailable"
    assert now + timedelta(seconds=2.5) <= row.next_attempt_at <= now + timedelta(seconds=7.5)
    assert drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake})).total == 0  # not due yet


def test_retry_after_from_the_platform_is_respected(services: Services, fake: FakePerformer, now: datetime) -> None:
    fake.outcomes = [RetryableError("Throttled", retry_after=42.0)]
    plan_tags(services.sessions, now)
    drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
    assert action(services.sessions).next_attempt_at >= now + timedelta(seconds=42)


def test_backoff_grows_and_is_capped() -> None:
    class Fixed:
        def uniform(self, a: float, b: float) -> float:
            return 1.0

    rng: Any = Fixed()
    assert [backoff_seconds(n, rng=rng) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert backoff_seconds(30, rng=rng) == 3600.0


def test_permanent_error_fails_without_retry(services: Services, fake: FakePerformer, now: datetime) -> None:
    fake.outcomes = [PermanentError("userErrors", platform_message="Tags is invalid")]
    plan_tags(services.sessions, now)
    report = drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
    assert report.failed == 1
    row = action(services.sessions)
    assert (row.state, row.last_error, row.attempts) == ("failed", "Tags is invalid", 1)
    assert services.metrics.actions.labels("add_tags", "failed")._value.get() == 1


def test_gives_up_after_max_attempts(services: Services, fake: FakePerformer, clock: Clock, now: datetime) -> None:
    limit = services.settings.scheduler.max_attempts
    fake.outcomes = [RetryableError("timeout") for _ in range(limit)]
    plan_tags(services.sessions, now)
    for _ in range(limit):
        drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
        clock.now += timedelta(hours=2)
    row = action(services.sessions)
    assert row.state == "failed"
    assert row.last_error == f"gave up after {limit} attempts: timeout"
    assert len(fake.performed) == limit


def test_replay_after_a_crash_checks_before_repeating(
    services: Services, fake: FakePerformer, clock: Clock, now: datetime
) -> None:
    plan_tags(services.sessions, now)
    with transaction(services.sessions) as session:  # a worker claims, calls the shop, and dies
        assert len(claim(session, "dead-worker", now, lease_seconds=120, limit=10)) == 1
    assert (
        drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}, worker="w2")).total == 0
    )  # the lease still holds
    clock.now = now + timedelta(seconds=121)
    fake.done = {"already": True}
    report = drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}, worker="w2"))
    assert report.done == 1
    assert fake.performed == []
    assert [r.attempt for r in fake.checked] == [2]
    row = action(services.sessions)
    assert (row.state, row.result) == ("done", {"already": True})
    assert attempts(services.sessions) == [(1, None), (2, "already_done")]


def test_replay_performs_when_it_had_not_happened(
    services: Services, fake: FakePerformer, clock: Clock, now: datetime
) -> None:
    plan_tags(services.sessions, now)
    with transaction(services.sessions) as session:
        claim(session, "dead-worker", now, lease_seconds=120, limit=10)
    clock.now = now + timedelta(seconds=121)
    assert drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}, worker="w2")).done == 1
    assert len(fake.checked) == 1
    assert len(fake.performed) == 1


def test_retry_failed_puts_it_back(services: Services, fake: FakePerformer, now: datetime) -> None:
    fake.outcomes = [PermanentError("nope")]
    plan_tags(services.sessions, now)
    drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
    action_id = action(services.sessions).id
    with transaction(services.sessions) as session:
        assert retry_failed(session, action_id, now, shop_ids={"theewinkel"}) is False
        assert retry_failed(session, action_id, now, shop_ids={"fietsen"}) is True
    assert drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake})).done == 1
    assert action(services.sessions).state == "done"


def test_call_task_is_created_once(services: Services, now: datetime) -> None:
    with transaction(services.sessions) as session:
        plan(
            session,
            shop_id="fietsen",
            order_id=None,
            order_external_id="1001",
            action=PlannedAction(
                ActionKind.CREATE_CALL_TASK, "stale", "call", {"reason": "still not shipped", "due_at": now.isoformat()}
            ),
            now=now,
        )
    env = OutboxEnv(services)
    assert drain(env).done == 1
    with services.sessions() as session:
        tasks = list(session.scalars(select(CallTaskRow)))
    assert [(t.reason, t.state, t.due_at) for t in tasks] == [("still not shipped", "open", now)]
    performer = env.performer_for(ActionKind.CREATE_CALL_TASK)
    row = action(services.sessions)
    request = ActionRequest(row.id, "fietsen", ActionKind.CREATE_CALL_TASK, row.idempotency_key, row.payload, "1001", 2)
    assert performer.perform(request, env) == {"call_task_id": tasks[0].id}
    with services.sessions() as session:
        assert len(list(session.scalars(select(CallTaskRow)))) == 1


@pytest.mark.parametrize("voucher_outcome", ["done", "failed"])
def test_a_message_that_may_go_without_its_voucher_waits_for_it_and_then_goes(
    services: Services, now: datetime, voucher_outcome: str
) -> None:
    voucher = FakePerformer(
        [RetryableError("Throttled")] + ([{"id": "v"}] if voucher_outcome == "done" else [PermanentError("no")])
    )
    email = FakePerformer()
    performers = {ActionKind.CREATE_VOUCHER: voucher, ActionKind.ADD_NOTE: email}
    with transaction(services.sessions) as session:
        for action in (
            PlannedAction(ActionKind.CREATE_VOUCHER, "next_day", "1-voucher", {"code": "OC-1"}),
            PlannedAction(
                ActionKind.ADD_NOTE,
                "next_day",
                "1-notify",
                {"text": "code OC-1"},
                after_step="1-voucher",
                after_even_if_failed=True,
            ),
        ):
            plan(session, shop_id="fietsen", order_id=None, order_external_id="1001", action=action, now=now)
    env = OutboxEnv(services, performers=performers)
    drain(env)
    assert (len(voucher.performed), len(email.performed)) == (1, 0)  # the voucher was throttled: the note waits
    services.clock.now = now + timedelta(hours=1)  # type: ignore[attr-defined]
    drain(env)
    assert (len(voucher.performed), len(email.performed)) == (2, 1)
    with services.sessions() as session:
        states = dict(session.execute(select(ActionRow.kind, ActionRow.state)).all())
    assert states == {"create_voucher": voucher_outcome, "add_note": "done"}


# --- followers: an action that follows another runs only once that one is done ---------------------


class Performers:
    """One fake performer per kind, installed in the outbox for the test."""

    def __init__(self, **outcomes: list[Any]) -> None:
        self.log: list[str] = []
        self.by_kind: dict[ActionKind, Any] = {}
        for kind in ActionKind:
            performer = FakePerformer(list(outcomes.get(kind.value, [])))
            performer.performed = Log(self.log)
            self.by_kind[kind] = performer

    def performed(self) -> list[str]:
        """The kinds performed, in the order the outbox performed them."""
        return list(self.log)


class Log(list[ActionRequest]):
    """A performer's list of requests that also writes each kind to a log shared by all performers."""

    def __init__(self, shared: list[str]) -> None:
        super().__init__()
        self.shared = shared

    def append(self, request: ActionRequest) -> None:
        super().append(request)
        self.shared.append(request.kind.value)


def plan_address_fix(sessions: sessionmaker[Session], now: datetime) -> None:
    """The customer's fix: update the address, then release our hold, then note it (each after the last)."""
    with transaction(sessions) as session:
        for action in (
            PlannedAction(ActionKind.UPDATE_ADDRESS, "address", "fix-address", {"address": {"city": "Utrecht"}}),
            PlannedAction(ActionKind.RELEASE_HOLD, "address", "fix-release", {}, after_step="fix-address"),
            PlannedAction(ActionKind.ADD_NOTE, "address", "fix-note", {"text": "fixed"}, after_step="fix-release"),
            PlannedAction(ActionKind.ADD_TAGS, "address", "fix-tags", {"tags": ["ordercare:fixed"]}),
        ):
            plan(session, shop_id="fietsen", order_id=None, order_external_id="1001", action=action, now=now)


def states(sessions: sessionmaker[Session]) -> dict[str, tuple[str, str | None]]:
    with sessions() as session:
        return {r.kind: (r.state, r.last_error) for r in session.scalars(select(ActionRow).order_by(ActionRow.id))}


def test_a_refused_address_update_cancels_the_release_and_what_follows_it(services: Services, now: datetime) -> None:
    fakes = Performers(update_address=[PermanentError("Country can't be blank")])
    plan_address_fix(services.sessions, now)

    report = drain(OutboxEnv(services, performers=fakes.by_kind))

    assert (report.done, report.retried, report.failed) == (1, 0, 1)
    assert fakes.performed() == ["update_address", "add_tags"]  # the hold was not released
    assert states(services.sessions) == {
        "update_address": ("failed", "Country can't be blank"),
        "release_hold": (
            "cancelled",
            "not performed: it waits for the update address, which failed (Country can't be blank)",
        ),
        "add_note": ("cancelled", "not performed: it waits for the release hold, which was cancelled"),
        "add_tags": ("done", None),
    }
    assert drain(OutboxEnv(services, performers=fakes.by_kind)).total == 0  # nothing is left waiting


def test_a_follower_waits_while_its_predecessor_retries(services: Services, clock: Clock, now: datetime) -> None:
    fakes = Performers(update_address=[RetryableError("Throttled"), {"ok": True}])
    plan_address_fix(services.sessions, now)
    drain(OutboxEnv(services, performers=fakes.by_kind))
    assert fakes.performed() == ["update_address", "add_tags"]
    assert {k: v[0] for k, v in states(services.sessions).items()} == {
        "update_address": "pending", "release_hold": "pending", "add_note": "pending", "add_tags": "done"
    }  # fmt: skip
    clock.now = now + timedelta(hours=1)
    drain(OutboxEnv(services, performers=fakes.by_kind))
    assert fakes.performed() == ["update_address", "add_tags", "update_address", "release_hold", "add_note"]
    assert {k: v[0] for k, v in states(services.sessions).items()} == dict.fromkeys(
        ("update_address", "release_hold", "add_note", "add_tags"), "done"
    )


def test_retrying_the_failed_action_re_arms_its_followers(services: Services, now: datetime) -> None:
    fakes = Performers(update_address=[PermanentError("Country can't be blank")])
    plan_address_fix(services.sessions, now)
    drain(OutboxEnv(services, performers=fakes.by_kind))
    with services.sessions() as session:
        failed_id = session.scalars(select(ActionRow.id).where(ActionRow.kind == "update_address")).one()

    with transaction(services.sessions) as session:
        assert retry_failed(session, failed_id, now) is True
    assert {k: v for k, v in states(services.sessions).items() if k != "add_tags"} == {
        "update_address": ("pending", None), "release_hold": ("pending", None), "add_note": ("pending", None)
    }  # fmt: skip
    drain(OutboxEnv(services, performers=fakes.by_kind))

    assert fakes.performed() == ["update_address", "add_tags", "update_address", "release_hold", "add_note"]
    assert {k: v[0] for k, v in states(services.sessions).items()} == dict.fromkeys(
        ("update_address", "release_hold", "add_note", "add_tags"), "done"
    )


def test_a_retry_does_not_re_arm_a_follower_cancelled_for_another_reason(services: Services, now: datetime) -> None:
    fakes = Performers(update_address=[PermanentError("Country can't be blank")])
    plan_address_fix(services.sessions, now)
    with transaction(services.sessions) as session:
        session.execute(
            update(ActionRow)
            .where(ActionRow.kind == "add_note")
            .values(state="cancelled", last_error="the order was erased")
        )
    drain(OutboxEnv(services, performers=fakes.by_kind))
    with services.sessions() as session:
        failed_id = session.scalars(select(ActionRow.id).where(ActionRow.kind == "update_address")).one()
    with transaction(services.sessions) as session:
        retry_failed(session, failed_id, now)
    got = states(services.sessions)
    assert (got["release_hold"][0], got["add_note"]) == ("pending", ("cancelled", "the order was erased"))


def test_cancelling_an_incident_s_actions_cancels_their_followers_in_other_policies(
    services: Services, now: datetime
) -> None:
    fakes = Performers()
    with transaction(services.sessions) as session:
        plan(session, shop_id="fietsen", order_id=None, order_external_id="1001", now=now,
             action=PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "x"}))  # fmt: skip
        session.execute(update(ActionRow).values(order_id=None))
        note = PlannedAction(ActionKind.ADD_NOTE, "address", "1-note", {"text": "held"}, after_step="1-hold")
        plan(session, shop_id="fietsen", order_id=None, order_external_id="1001", now=now, action=note)
        session.execute(update(ActionRow).where(ActionRow.kind == "hold_fulfillment").values(state="cancelled"))
    drain(OutboxEnv(services, performers=fakes.by_kind))
    assert fakes.performed() == []
    assert states(services.sessions)["add_note"] == (
        "cancelled",
        "not performed: it waits for the hold fulfillment, which was cancelled",
    )


# --- a bug in a performer is not an outage ------------------------------------------------------


def test_a_programming_error_fails_the_action_at_once_and_is_counted(services: Services, now: datetime) -> None:
    fakes = Performers(update_address=[KeyError("street")])
    plan_address_fix(services.sessions, now)

    report = drain(OutboxEnv(services, performers=fakes.by_kind))

    assert (report.done, report.retried, report.failed) == (1, 0, 1)
    assert fakes.performed() == ["update_address", "add_tags"]
    got = states(services.sessions)
    assert got["update_address"] == ("failed", "KeyError: 'street'")
    assert got["release_hold"][0] == "cancelled"
    assert attempts(services.sessions)[0] == (1, "failed")
    registry = services.metrics.registry
    assert (
        registry.get_sample_value("ordercare_performer_errors_total", {"kind": "update_address", "error": "KeyError"})
        == 1.0
    )
    assert registry.get_sample_value("ordercare_actions_total", {"kind": "update_address", "outcome": "failed"}) == 1.0


@pytest.mark.parametrize(
    "error", [ConnectionResetError("reset by peer"), TimeoutError("timed out"), OSError("network is unreachable")]
)
def test_a_transport_error_is_retried_like_a_platform_outage(
    services: Services, now: datetime, error: Exception
) -> None:
    fakes = Performers(add_tags=[error])
    plan_tags(services.sessions, now)
    report = drain(OutboxEnv(services, performers=fakes.by_kind))
    assert (report.done, report.retried, report.failed) == (0, 1, 0)
    row = action(services.sessions)
    assert (row.state, row.last_error) == ("pending", f"{type(error).__name__}: {error}")
    assert row.next_attempt_at > now
    assert fakes.performed() == ["add_tags"]
    assert (
        services.metrics.registry.get_sample_value(
            "ordercare_performer_errors_total", {"kind": "add_tags", "error": type(error).__name__}
        )
        is None
    )


# --- idempotency keys ---------------------------------------------------------------------------


def test_idempotency_keys_are_unique_by_construction() -> None:
    tuples = [
        ("a:b", "c", "p", "s"), ("a", "b:c", "p", "s"), ("a", "b", "c:p", "s"), ("a", "b", "c", "p:s"),
        ("a%3Ab", "c", "p", "s"), ("a%b", "c", "p", "s"), ("a%25b", "c", "p", "s"), ("a", "b", "c", "p%3As"),
    ]  # fmt: skip
    keys = [idempotency_key(*parts) for parts in tuples]
    assert len(set(keys)) == len(keys)
    assert [key_parts(key) for key in keys] == tuples
    assert idempotency_key("fietsen", "1001", "address", "1-hold") == "fietsen:1001:address:1-hold"


def test_an_action_without_a_stored_order_gets_its_order_id_back_from_the_key(
    services: Services, fake: FakePerformer, now: datetime
) -> None:
    with transaction(services.sessions) as session:
        plan(session, shop_id="fietsen", order_id=None, order_external_id="gid://shopify/Order/7", now=now,
             action=PlannedAction(ActionKind.ADD_TAGS, "address", "open", {"tags": ["x"]}))  # fmt: skip
    drain(OutboxEnv(services, performers={ActionKind.ADD_TAGS: fake}))
    assert [r.order_external_id for r in fake.performed] == ["gid://shopify/Order/7"]
    assert action(services.sessions).idempotency_key == "fietsen:gid%3A//shopify/Order/7:address:open"


# --- a note that reports a message says what happened to it ----------------------------------------


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        ({"message_id": "<m1@shop>"}, "Klant is op de hoogte gebracht."),
        (PermanentError("recipient refused by smtp: 550 no such user"),
         "Het bericht is niet verstuurd: recipient refused by smtp: 550 no such user."),
    ],
)  # fmt: skip
def test_a_note_after_a_message_says_whether_it_went(
    services: Services, now: datetime, outcome: Any, text: str
) -> None:
    fakes = Performers(notify_customer=[outcome])
    failed = {"text": "Het bericht is niet verstuurd: {error}."}
    note_payload = {"text": "Klant is op de hoogte gebracht.", "if_after_failed": failed}
    with transaction(services.sessions) as session:
        for action in (
            PlannedAction(ActionKind.NOTIFY_CUSTOMER, "address", "1-notify", {"template": "x"}),
            PlannedAction(
                ActionKind.ADD_NOTE, "address", "1-note",
                note_payload, after_step="1-notify", after_even_if_failed=True,
            ),
        ):  # fmt: skip
            plan(session, shop_id="fietsen", order_id=None, order_external_id="1001", action=action, now=now)
    drain(OutboxEnv(services, performers=fakes.by_kind))
    assert fakes.performed() == ["notify_customer", "add_note"]
    (note,) = fakes.by_kind[ActionKind.ADD_NOTE].performed
    assert note.payload == {"text": text}
