"""The worker's jobs on APScheduler: policy tick, outbox drain, reconcile per shop, housekeeping.

Each job is a plain function of ``Services`` (the demo and the tests call them directly on a
simulated clock); ``build_scheduler`` only puts them on intervals. Jobs never overlap themselves
(``max_instances=1``) and are safe to run in several processes at once. The reconcile's first run is at start:
it checks every shop's connection first and says so, one line per shop (``start_up``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from connector.connection import ConnectionCheck, check_shops
from connector.housekeeping import prune
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import DrainReport, drain
from connector.reconcile import ReconcileReport, reconcile_shop
from connector.services import Services
from connector.store.db import transaction

log = logging.getLogger(__name__)


def tick(services: Services) -> Any:
    """Evaluate every order that is due now, round after round, so a backlog clears in one tick."""
    from connector.policies.engine import run_until_idle

    return run_until_idle(services, services.now())


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
    scheduler.add_job(
        _guarded("outbox", drain_outbox, env), "interval", seconds=settings.outbox_poll_seconds, id="outbox"
    )
    # the first reconcile runs at start: webhooks are created and a wrong key shows up now, not minutes later
    scheduler.add_job(
        _guarded("reconcile", Reconcile(env, say)),
        "interval",
        minutes=settings.reconcile_minutes,
        id="reconcile",
        next_run_time=services.now(),
    )
    scheduler.add_job(_guarded("housekeeping", housekeeping, services), "interval", hours=24, id="housekeeping")
    return scheduler
