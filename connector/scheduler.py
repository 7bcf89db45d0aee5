"""The worker: jobs on APScheduler (policy tick, reconcile per shop, housekeeping) and the reactor.

Each job is a plain function of ``Services`` (the demo and the tests call them directly on a
simulated clock); ``build_scheduler`` only puts them on intervals. Jobs never overlap themselves
(``max_instances=1``) and are safe to run in several processes at once. The reconcile's first run is at start:
it checks every shop's connection first and says so, one line per shop (``start_up``).

The reactor is the fast path: woken when a change is stored or an action planned (``connector.wakeup``), and
at the latest every ``scheduler.outbox_poll_seconds``, it decides on the orders due now and then performs the
due actions, so a bad address is held within moments of its webhook. The minute tick stays for the rest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.carriers.poller import Poller
from connector.connection import ConnectionCheck, check_shops
from connector.housekeeping import prune
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import DrainReport, drain
from connector.reconcile import ReconcileReport, reconcile_shop
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import OrderRow
from connector.wakeup import Listener

log = logging.getLogger(__name__)


def tick(services: Services) -> Any:
    """Evaluate every order that is due now, round after round, so a backlog clears in one tick."""
    from connector.policies.engine import run_until_idle

    return run_until_idle(services, services.now())


def any_due(session: Session, now: datetime) -> bool:
    """Whether any order is due for a decision (one indexed row at most)."""
    return session.scalar(select(OrderRow.id).where(OrderRow.next_check_at <= now).limit(1)) is not None


def drain_outbox(env: OutboxEnv) -> DrainReport:
    return drain(env)


def reconcile_all(env: OutboxEnv) -> list[ReconcileReport]:
    reports = []
    for shop in env.services.shops.all(active_only=True):
        try:
            client = env.client_for(shop.id)
        except Exception as exc:  # a shop without a working client must not stop the others' reconcile
            log.warning("no client for shop", extra={"shop": shop.id, "error": str(exc)}, exc_info=True)
            continue
        report = reconcile_shop(env.services, shop, client, env.worker)
        log.info(describe(report), extra={"shop": shop.id, "seen": report.seen, "applied": report.applied})
        reports.append(report)
    return reports


def start_up(env: OutboxEnv, say: Callable[[str], None]) -> list[ConnectionCheck]:
    """Every active shop's connection at start, one line each through ``say``; missing or broken webhooks are
    made right first (under the shop's reconcile lease), so a line names only what ordercare cannot fix."""
    checks = check_shops(env.services, lambda shop: env.client_for(shop.id), repair_as=env.worker)
    for check in checks:
        say(check.line())
    return checks


class Reconcile:
    """The reconcile job. With ``say``, its first run (at start) is ``start_up`` and then the reconcile."""

    def __init__(self, env: OutboxEnv, say: Callable[[str], None] | None = None) -> None:
        self.env = env
        self.say = say
        self.checked = say is None

    def __call__(self) -> list[ReconcileReport]:
        if not self.checked and self.say is not None:
            self.checked = True
            try:
                start_up(self.env, self.say)
            except Exception:  # the reconcile still runs: its own errors name the shop
                log.exception("the start-up connection check failed")
        return reconcile_all(self.env)


def describe(report: ReconcileReport) -> str:
    """One line per shop for the log: what the reconcile found, or why it could not."""
    if report.error is not None:
        return f"{report.shop_id}: reconcile failed: {report.error}"
    if report.paused is not None:
        return f"{report.shop_id}: paused: {report.paused}"
    webhooks = f", {report.webhooks_changed} webhook(s) created or re-enabled" if report.webhooks_changed else ""
    watched = f", {report.reread} watched order(s) read again" if report.reread else ""
    return f"{report.shop_id}: {report.seen} order(s) read, {report.applied} new or changed{watched}{webhooks}"


def housekeeping(services: Services) -> None:
    with transaction(services.sessions) as session:
        pruned = prune(session, services.settings, services.now())
    log.info("housekeeping", extra={"raw_events": pruned.raw_events, "receipts": pruned.receipts})


def _guarded(name: str, job: Any, *args: Any) -> Any:
    def run() -> None:
        try:
            job(*args)
        except Exception:
            log.exception("job %s failed", name)

    return run


def build_scheduler(
    services: Services, env: OutboxEnv, *, say: Callable[[str], None] | None = None
) -> BackgroundScheduler:
    """The worker's jobs; ``say`` gets the start-up check's line per shop (the console's, for serve and worker)."""
    settings = services.settings.scheduler
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
    scheduler.add_job(_guarded("tick", tick, services), "interval", seconds=settings.tick_seconds, id="tick")
    # the first reconcile runs at start: webhooks are created and a wrong key shows up now, not minutes later
    scheduler.add_job(
        _guarded("reconcile", Reconcile(env, say)),
        "interval",
        minutes=settings.reconcile_minutes,
        id="reconcile",
        next_run_time=services.now(),
    )
    scheduler.add_job(_guarded("housekeeping", housekeeping, services), "interval", hours=24, id="housekeeping")
    if any(shop.carriers is not None for shop in services.settings.shops):
        poller = Poller(services)  # its limiters and read counts live as long as the worker
        scheduler.add_job(
            _guarded("carriers", lambda: poller.run(services.now())),
            "interval",
            seconds=settings.tick_seconds,
            id="carriers",
        )
    return scheduler


class Reactor(threading.Thread):
    """Decide on the orders due now and perform the due actions, whenever woken and at every poll."""

    def __init__(self, env: OutboxEnv) -> None:
        super().__init__(name="ordercare-reactor", daemon=True)
        self.env = env
        self._stopped = threading.Event()
        self.rounds = 0  # rounds run, for the tests

    def stop(self) -> None:
        self._stopped.set()
        self.env.services.wakeup.notify()  # end the wait at once

    def run(self) -> None:
        services = self.env.services
        poll = services.settings.scheduler.outbox_poll_seconds
        while not self._stopped.is_set():
            services.wakeup.wait(poll)
            if self._stopped.is_set():
                break
            self.round()

    def round(self) -> None:
        """One pass: the due orders decided (if any), then the due actions performed."""
        services = self.env.services
        try:
            with services.sessions() as session:
                due = any_due(session, services.now())
            if due:
                tick(services)
            while not self._stopped.is_set() and drain(self.env, max_batches=1).total:
                pass  # batch by batch, so a stop ends a long backlog between two batches
        except Exception:  # the next wake-up or poll tries again; a job must never end the worker
            log.exception("reactor round failed")
        self.rounds += 1


class Worker:
    """``ordercare worker`` (and the worker half of ``serve``): the scheduled jobs, the reactor, and on
    PostgreSQL a listener that wakes the reactor for work other processes committed."""

    def __init__(self, services: Services, *, say: Callable[[str], None] | None = None) -> None:
        self.env = OutboxEnv(services)
        self.scheduler = build_scheduler(services, self.env, say=say)
        self.reactor = Reactor(self.env)
        postgres = services.engine.dialect.name == "postgresql"
        self.listener = Listener(services.settings.database_url, services.wakeup) if postgres else None

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()
        self.reactor.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.reactor.stop()
        self.reactor.join()
        if self.listener is not None:
            self.listener.stop()
            self.listener.join()
        self.env.close()
