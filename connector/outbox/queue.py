"""The outbox queue: every write to a shop, every e-mail and every call task is a row here first.

``plan`` inserts an action under its idempotency key (a second plan of the same step is a no-op).
The worker claims due rows under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises
writers), records an attempt, calls the performer for the action's kind, and records the outcome:
done, retry later with exponential backoff and jitter, or failed with the platform's message. An attempt
that follows an unfinished one (a crash between "call made" and "call recorded") first asks the
performer whether the action already took effect, so a replay is harmless. A claimed batch is performed
``scheduler.outbox_concurrency`` actions at a time, each order's one after another in their planned order,
and the outcomes are recorded in groups (``connector.outbox.lanes``).

An action may follow another (``after_key``): it runs only once that one is done. When the one it
follows fails or is cancelled, the follower is cancelled too (and its own followers), with the reason in
words; retrying the failed action re-arms them. A performer that raises something other than a
platform or transport error has a bug: the action fails at once with the exception, it is not retried.

A shop in observe mode gets nothing performed: an action planned for it is stored ``observed`` at once (a
record of what ordercare would do, ``connector.outbox.observe``), and one planned before the shop switched
to observe is made ``observed`` when it comes due instead of being performed. An observed action is final:
its idempotency key stays taken, so switching the shop to act never replays it, and an action that was
to follow it is cancelled.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from connector.actions import (
    CONFIRMED_BY_STAFF,
    IF_AFTER_FAILED,
    PROPOSED,
    ActionKind,
    ActionRequest,
    PlannedAction,
    idempotency_key,
    key_parts,
)
from connector.outbox.base import SENDING
from connector.outbox.lanes import Claimed
from connector.platforms.base import PermanentError, RetryableError
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow, OrderRow, table_of
from connector.wakeup import announce

if TYPE_CHECKING:
    from connector.outbox.env import OutboxEnv
    from connector.outbox.gate import Deferral

log = logging.getLogger(__name__)

OBSERVED = "observed"  # the state of an action recorded, not performed, for a shop in observe mode
OBSERVED_RESULT = {"observed": True}
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0
# Errors that say a connection or the database is unavailable for now, not that the code is wrong.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, OperationalError)


# --- planning ------------------------------------------------------------------------------------


def plan(
    session: Session,
    *,
    shop_id: str,
    order_id: int | None,
    order_external_id: str,
    action: PlannedAction,
    now: datetime,
    incident_id: int | None = None,
    observe: bool = False,
) -> int | None:
    """Insert the action unless its idempotency key exists; the new row's id, or None if it existed.

    ``observe``: the shop is in observe mode, the action is stored as observed and never performed."""
    values = planned_row(shop_id, order_id, order_external_id, action, now, incident_id, observe)
    inserted: int | None = session.execute(_plan_statement(session.get_bind().dialect.name), values).scalar()
    if inserted is not None and not observe:
        announce(session)  # the worker claims it as soon as this commits
    return inserted


def planned_row(
    shop_id: str,
    order_id: int | None,
    order_external_id: str,
    action: PlannedAction,
    now: datetime,
    incident_id: int | None = None,
    observe: bool = False,
) -> dict[str, Any]:
    """The ``actions`` row ``plan`` inserts, for callers that insert many at once (``plan_many``)."""
    key = idempotency_key(shop_id, order_external_id, action.policy, action.step)
    return {
        "shop_id": shop_id,
        "order_id": order_id,
        "incident_id": incident_id,
        "policy": action.policy,
        "kind": action.kind.value,
        "idempotency_key": key,
        "after_key": idempotency_key(shop_id, order_external_id, action.policy, action.after_step)
        if action.after_step
        else None,
        "after_even_if_failed": action.after_even_if_failed,
        "payload": action.payload,
        # an action staff confirm first waits as ``proposed`` (``connector.reports.confirm``)
        "state": OBSERVED if observe else (PROPOSED if action.kind in CONFIRMED_BY_STAFF else "pending"),
        "result": dict(OBSERVED_RESULT) if observe else None,
        "done_at": now if observe else None,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def plan_many(session: Session, rows: list[dict[str, Any]], chunk: int = 500) -> dict[str, int]:
    """Insert ``planned_row`` rows in order, skipping keys that exist; idempotency key -> id of each new row."""
    if not rows:
        return {}
    statement = _plan_statement(session.get_bind().dialect.name, keyed=True)
    inserted: dict[str, int] = {}
    for start in range(0, len(rows), chunk):
        inserted.update((key, id_) for key, id_ in session.execute(statement, rows[start : start + chunk]))
    if inserted and any(row["state"] == "pending" for row in rows):
        announce(session)
    return inserted


_PLAN_STATEMENTS: dict[tuple[str, bool], Any] = {}


def _plan_statement(dialect: str, keyed: bool = False) -> Any:
    """The INSERT ... ON CONFLICT DO NOTHING of ``plan``, built once per dialect (a tick plans thousands).

    ``keyed`` returns (idempotency key, id) of each inserted row, so a many-row insert needs no ordering.
    """
    statement = _PLAN_STATEMENTS.get((dialect, keyed))
    if statement is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table = table_of(ActionRow)
        returned = (table.c.idempotency_key, table.c.id) if keyed else (table.c.id,)
        statement = insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(*returned)
        _PLAN_STATEMENTS[(dialect, keyed)] = statement
    return statement


def cancel_pending(session: Session, order_id: int, policy: str, reason: str, now: datetime) -> int:
    """Cancel a policy's not-yet-performed actions on an order (e.g. the incident resolved first)."""
    result = session.execute(
        update(ActionRow)
        .where(ActionRow.order_id == order_id, ActionRow.policy == policy, ActionRow.state == "pending")
        .values(state="cancelled", last_error=reason, done_at=now)
    )
    cancelled = int(getattr(result, "rowcount", 0) or 0)
    if cancelled:
        cancelled += cancel_followers(session, now)
    return cancelled


def _stranded(observing: Collection[str] | None = None) -> Any:
    """Pending actions whose predecessor ended in a way that means they must not run, with that predecessor.

    With ``observing`` (the shops in observe mode now) also those that follow an observed action in a shop
    that acts again: what was only observed is not followed up. In an observing shop they are observed in turn.
    """
    before = aliased(ActionRow)
    ended = [
        before.state == "cancelled",
        and_(before.state == "failed", ActionRow.after_even_if_failed.is_(False)),
    ]
    if observing is not None:
        ended.append(and_(before.state == OBSERVED, ActionRow.shop_id.not_in(list(observing))))
    return (
        select(ActionRow.id, before.idempotency_key, before.kind, before.state, before.last_error)
        .join(before, before.idempotency_key == ActionRow.after_key)
        .where(ActionRow.state == "pending", ActionRow.after_key.is_not(None), or_(*ended))
    )


def follower_reason(kind: str, state: str, error: str | None) -> str:
    """Why a follower was not performed, in words for the timeline and the staff."""
    what = kind.replace("_", " ")
    if state == "failed":
        return f"not performed: it waits for the {what}, which failed" + (f" ({error})" if error else "")
    if state == OBSERVED:
        return f"not performed: it waits for the {what}, which was only observed (the shop was in observe mode)"
    return f"not performed: it waits for the {what}, which was cancelled"


def cancel_followers(session: Session, now: datetime, observing: Collection[str] | None = None) -> int:
    """Cancel pending actions that follow a failed or cancelled one, and their followers in turn; with
    ``observing``, also those that follow an observed one in a shop that is not in observe mode (any more)."""
    total = 0
    while True:
        rows = session.execute(_stranded(observing)).all()
        if not rows:
            return total
        for action_id, before_key, kind, state, error in rows:
            updated = session.execute(
                update(ActionRow)
                .where(ActionRow.id == action_id, ActionRow.state == "pending")
                .values(
                    state="cancelled",
                    last_error=follower_reason(kind, state, error),
                    result={"cancelled_after": before_key},
                    done_at=now,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            total += int(getattr(updated, "rowcount", 0) or 0)


def retry_failed(session: Session, action_id: int, now: datetime, shop_ids: set[str] | None = None) -> bool:
    """Put a failed action back in the queue (the dashboard's retry button, ``ordercare actions``).

    The actions cancelled because this one failed (and their followers) are re-armed with it. An attempt
    that stopped while the mail server was receiving the e-mail is closed: staff checked, and the retry sends.
    """
    query = update(ActionRow).where(ActionRow.id == action_id, ActionRow.state == "failed")
    if shop_ids is not None:
        query = query.where(ActionRow.shop_id.in_(shop_ids))
    result = session.execute(query.values(state="pending", next_attempt_at=now, lease_until=None, last_error=None))
    if not getattr(result, "rowcount", 0):
        return False
    session.execute(
        update(ActionAttempt)
        .where(ActionAttempt.action_id == action_id, ActionAttempt.outcome == SENDING)
        .where(ActionAttempt.finished_at.is_(None))
        .values(finished_at=now, error="closed by a retry from staff")
    )
    keys = [session.scalars(select(ActionRow.idempotency_key).where(ActionRow.id == action_id)).one()]
    while keys:
        key = keys.pop()
        for follower in session.scalars(
            select(ActionRow).where(ActionRow.after_key == key, ActionRow.state == "cancelled")
        ):
            if (follower.result or {}).get("cancelled_after") != key:
                continue  # cancelled for another reason (the incident resolved, the order was erased)
            follower.state, follower.last_error, follower.result, follower.done_at = "pending", None, None, None
            follower.next_attempt_at = now
            keys.append(follower.idempotency_key)
    return True


# --- the worker ----------------------------------------------------------------------------------


# Which of the due actions (ids) may not go yet, and until when: ``connector.outbox.gate.MessageGate``.
Gate = Callable[[Session, Sequence[int], datetime], Mapping[int, "Deferral"]]


def claim(
    session: Session,
    worker: str,
    now: datetime,
    lease_seconds: int,
    limit: int,
    gate: Gate | None = None,
    observing: Collection[str] = (),
) -> list[Claimed]:
    """Lease up to ``limit`` due actions to this worker and open an attempt for each.

    Due actions the ``gate`` holds back are not claimed: they get its time as their next attempt and its
    reason as their last error, and no attempt is counted. ``observing``: the shops in observe mode now.
    """
    cancel_followers(session, now, observing)
    before = aliased(ActionRow)
    waiting = exists(
        select(before.id).where(
            before.idempotency_key == ActionRow.after_key,
            before.state.not_in(("done", OBSERVED)),  # an observed one's followers are observed (or cancelled)
            or_(ActionRow.after_even_if_failed.is_(False), before.state != "failed"),
        )
    )
    due = (
        select(ActionRow.id)
        .where(
            ActionRow.state == "pending",
            ActionRow.next_attempt_at <= now,
            or_(ActionRow.lease_until.is_(None), ActionRow.lease_until < now),
            or_(ActionRow.after_key.is_(None), ~waiting),
        )
        .order_by(ActionRow.next_attempt_at, ActionRow.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.scalars(due))
    while ids and gate is not None:
        deferred = gate(session, ids, now)
        if not deferred:
            break
        for action_id, deferral in deferred.items():
            session.execute(
                update(ActionRow)
                .where(ActionRow.id == action_id)
                .values(next_attempt_at=deferral.until, last_error=deferral.reason)
            )
        ids = [i for i in ids if i not in deferred] or list(session.scalars(due))  # all waiting: look further
    if not ids:
        return []
    until = now + timedelta(seconds=lease_seconds)
    session.execute(
        update(ActionRow)
        .where(ActionRow.id.in_(ids))
        .values(lease_owner=worker, lease_until=until, attempts=ActionRow.attempts + 1)
    )
    rows = session.execute(
        select(ActionRow, OrderRow.external_id)
        .outerjoin(OrderRow, OrderRow.id == ActionRow.order_id)
        .where(ActionRow.id.in_(ids))
        .order_by(ActionRow.next_attempt_at, ActionRow.id)
    ).all()
    unfinished = set(
        session.scalars(
            select(ActionAttempt.action_id).where(ActionAttempt.action_id.in_(ids), ActionAttempt.finished_at.is_(None))
        )
    )
    outcomes = _predecessor_failures(session, [row for row, _ in rows])
    claimed = []
    for row, order_external_id in rows:
        session.add(ActionAttempt(action_id=row.id, attempt=row.attempts, worker=worker, started_at=now))
        request = ActionRequest(
            action_id=row.id,
            shop_id=row.shop_id,
            kind=ActionKind(row.kind),
            idempotency_key=row.idempotency_key,
            payload=_payload_for(row, outcomes.get(row.after_key or "")),
            order_external_id=order_external_id or key_parts(row.idempotency_key)[1],
            attempt=row.attempts,
        )
        claimed.append(Claimed(request, until, resumed=row.id in unfinished))
    return claimed


def _predecessor_failures(session: Session, rows: list[ActionRow]) -> dict[str, str]:
    """Key -> error of each failed predecessor of these rows that have payload values for that case."""
    keys = [r.after_key for r in rows if r.after_key and r.after_even_if_failed and IF_AFTER_FAILED in r.payload]
    if not keys:
        return {}
    found = session.execute(
        select(ActionRow.idempotency_key, ActionRow.last_error).where(
            ActionRow.idempotency_key.in_(keys), ActionRow.state == "failed"
        )
    )
    return {key: error or "no reason given" for key, error in found}


def _payload_for(row: ActionRow, predecessor_error: str | None) -> dict[str, Any]:
    """The payload the performer gets: the action's own, or its values for a failed predecessor."""
    payload = dict(row.payload)
    variant = payload.pop(IF_AFTER_FAILED, None)
    if predecessor_error is not None and isinstance(variant, dict):
        for name, value in variant.items():
            payload[name] = value.replace("{error}", predecessor_error) if isinstance(value, str) else value
    return payload


def backoff_seconds(attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter (50-150 %), at least what the platform asked for."""
    rng = rng or random.Random()
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1)) * rng.uniform(0.5, 1.5)
    return float(max(delay, retry_after or 0.0))


def _outcome_values(item: Attempted) -> dict[str, Any]:
    """The action row's new values for this outcome (the lease given back)."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": item.error}
    if item.outcome in ("done", "already_done"):
        values.update(state="done", result=item.result or {}, done_at=item.ended_at)
    elif item.outcome == OBSERVED:
        values.update(state=OBSERVED, result=dict(OBSERVED_RESULT), done_at=item.ended_at)
    elif item.outcome == "failed":
        values.update(state="failed", done_at=item.ended_at)
    else:
        values.update(next_attempt_at=item.next_attempt_at)
    return values


def _finish(session: Session, attempted: Sequence[Attempted], worker: str) -> list[bool]:
    """Record the attempts' outcomes where this worker still holds the lease; per attempt, False if it lost it.

    A few statements for the whole group, whatever its size: the rows still leased to this worker (locked on
    PostgreSQL, so no other worker's claim can take them meanwhile; SQLite's transaction holds the write lock),
    one UPDATE per shape of outcome and one for the attempts, each run for every row at once (executemany)."""
    if not attempted:
        return []
    actions, attempts = table_of(ActionRow), table_of(ActionAttempt)
    ids = [item.claimed.request.action_id for item in attempted]
    leased = select(actions.c.id).where(
        actions.c.id.in_(ids), actions.c.lease_owner == worker, actions.c.state == "pending"
    )
    if session.get_bind().dialect.name == "postgresql":
        leased = leased.with_for_update()
    held = set(session.scalars(leased))
    kept = [action_id in held for action_id in ids]
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item, keep in zip(attempted, kept, strict=True):
        if keep:
            values = _outcome_values(item)
            shape = tuple(sorted(values))
            shapes.setdefault(shape, []).append({"b_id": item.claimed.request.action_id} | {
                f"b_{name}": value for name, value in values.items()
            })  # fmt: skip
    for shape, rows in shapes.items():
        statement = (
            update(actions)
            .where(actions.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}", type_=actions.c[name].type) for name in shape})
        )
        session.execute(statement, rows)
    failed = [item.ended_at for item, keep in zip(attempted, kept, strict=True) if keep and item.outcome == "failed"]
    if failed:
        cancel_followers(session, max(failed))
    session.execute(
        update(attempts)
        .where(
            attempts.c.action_id == bindparam("b_action_id"),
            attempts.c.attempt == bindparam("b_attempt"),
            attempts.c.finished_at.is_(None),
        )
        .values(
            finished_at=bindparam("b_finished_at", type_=attempts.c.finished_at.type),
            outcome=bindparam("b_outcome"),
            error=bindparam("b_error"),
        ),
        [
            {
                "b_action_id": item.claimed.request.action_id,
                "b_attempt": item.claimed.request.attempt,
                "b_finished_at": item.ended_at,
                "b_outcome": item.outcome,
                "b_error": item.error,
            }
            for item in attempted
        ],
    )
    return kept


@dataclass
class DrainReport:
    done: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.retried + self.failed


@dataclass(frozen=True)
class Attempted:
    """What one attempt of a claimed action came to, before it is recorded (``record``)."""

    claimed: Claimed
    outcome: str  # done, already_done, observed, retry or failed
    ended_at: datetime
    result: dict[str, Any] | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


def attempt(env: OutboxEnv, claimed: Claimed, observing: Collection[str] | None = None) -> Attempted:
    """Perform one claimed action (or find it done already); nothing is recorded yet.

    ``observing``: the shops in observe mode as the claim saw them; without it the shop is looked up."""
    services = env.services
    request = claimed.request
    performer = env.performer_for(request.kind)
    settings = services.settings.scheduler
    outcome, result, error, next_at = "done", None, None, None
    try:
        if claimed.resumed:
            result = performer.already_done(request, env)
            if result is not None:
                outcome = "already_done"
        if outcome == "done" and (
            request.shop_id in observing if observing is not None else _observing(env, request.shop_id)
        ):
            outcome = OBSERVED  # planned before the shop switched to observe: recorded, not performed
        if outcome == "done":
            result = performer.perform(request, env)
    except RetryableError as exc:
        error = exc.platform_message
        if request.attempt >= settings.max_attempts:
            outcome, error = "failed", f"gave up after {request.attempt} attempts: {error}"
        else:
            outcome = "retry"
            next_at = services.now() + timedelta(seconds=backoff_seconds(request.attempt, exc.retry_after))
    except PermanentError as exc:
        outcome, error = "failed", exc.platform_message
    except TRANSIENT_ERRORS as exc:  # a connection or the database went away: like a platform 5xx
        error = f"{type(exc).__name__}: {exc}"
        if request.attempt >= settings.max_attempts:
            outcome, error = "failed", f"gave up after {request.attempt} attempts: {error}"
        else:
            outcome = "retry"
            next_at = services.now() + timedelta(seconds=backoff_seconds(request.attempt))
    except Exception as exc:  # a bug in a performer: fail this action at once, keep the queue going
        log.exception("action %s (%s) raised", request.action_id, request.kind)
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        services.metrics.performer_errors.labels(request.kind.value, type(exc).__name__).inc()
    return Attempted(claimed, outcome, services.now(), result, error, next_at)


def record(env: OutboxEnv, attempted: Sequence[Attempted]) -> list[bool]:
    """Record the outcomes of these attempts in one transaction; per attempt, False if its lease was lost."""
    services = env.services
    with transaction(services.sessions) as session:
        kept = _finish(session, attempted, env.worker)
    for item, held in zip(attempted, kept, strict=True):
        request = item.claimed.request
        if not held:
            log.warning("action %s: lease lost before its outcome (%s) was recorded", request.action_id, item.outcome)
        services.metrics.actions.labels(request.kind.value, item.outcome).inc()
    return kept


def perform_one(env: OutboxEnv, claimed: Claimed) -> str:
    """Perform one claimed action and record what happened; returns the outcome."""
    attempted = attempt(env, claimed)
    record(env, [attempted])
    return attempted.outcome


def _observing(env: OutboxEnv, shop_id: str) -> bool:
    shop = env.services.shops.get(shop_id)
    return shop is not None and shop.observing


def drain(env: OutboxEnv, *, limit: int | None = None, max_batches: int | None = None) -> DrainReport:
    """Perform due actions until none are due (or ``max_batches`` claims were made).

    Each batch is performed ``scheduler.outbox_concurrency`` actions at a time, one order's actions one after
    another in their planned order (``connector.outbox.lanes``)."""
    services = env.services
    settings = services.settings.scheduler
    report = DrainReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        observing = services.shops.observing()
        with transaction(services.sessions) as session:
            batch = claim(
                session,
                env.worker,
                services.now(),
                settings.lease_seconds,
                limit or settings.outbox_batch,
                gate=env.message_gate(),
                observing=observing,
            )
        if not batch:
            break
        lanes = env.lanes()
        if lanes.concurrency > 1:
            env.prepare_clients({claimed.request.shop_id for claimed in batch})
        attempted = lanes.run(
            batch,
            partial(attempt, env, observing=observing),
            lambda group: record(env, group),
            # the rest go back to the queue when the lease runs out
            expired=lambda claimed: services.now() >= claimed.lease_until,
        )
        for item in attempted:
            if item.outcome in ("done", "already_done", OBSERVED):
                report.done += 1
            elif item.outcome == "failed":
                report.failed += 1
            else:
                report.retried += 1
    return report


def backlog(session: Session) -> tuple[int, int]:
    """(pending, failed) action counts, for the metrics and the CLI."""
    counts = dict(
        session.execute(
            select(ActionRow.state, func.count())
            .where(ActionRow.state.in_(("pending", "failed")))
            .group_by(ActionRow.state)
        ).all()
    )
    return int(counts.get("pending", 0)), int(counts.get("failed", 0))
