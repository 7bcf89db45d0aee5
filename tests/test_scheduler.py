"""The worker's jobs: one tick clears a backlog larger than a round; the scheduler has its four jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from connector.config import Settings
from connector.outbox.env import OutboxEnv
from connector.reconcile import ReconcileReport
from connector.scheduler import build_scheduler, describe, tick
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import OrderRow
from tests.builders import address, order, order_event
from tests.conftest import make_settings


def test_one_tick_clears_a_backlog_bigger_than_a_round(db_url: str, now: datetime) -> None:
    settings: Settings = make_settings(db_url, scheduler={"tick_batch": 2})
    services = Services.build(settings, clock=lambda: now)
    shop = services.shops.get("fietsen")
    assert shop is not None
    from connector.ingest import ingest

    with transaction(services.sessions) as session:
        for n in range(5):
            bad = order(str(2000 + n), shipping_address=address(address1="Hoofdstraat", house_number=None))
            ingest(session, shop, order_event(bad), now)
    report = tick(services)
    assert (report.evaluated, report.incidents_opened) == (5, 5)
    with services.sessions() as session:
        due = session.scalar(select(func.count()).select_from(OrderRow).where(OrderRow.next_check_at <= now))
    assert due == 0
    assert services.metrics.registry.get_sample_value("ordercare_ticks_total") == 3  # rounds of 2, 2 and 1


def test_the_worker_schedules_three_jobs_and_leaves_the_outbox_to_its_reactor(settings: Settings) -> None:
    services = Services.build(settings)
    scheduler = build_scheduler(services, OutboxEnv(services))
    assert sorted(job.id for job in scheduler.get_jobs()) == ["housekeeping", "reconcile", "tick"]


def test_the_first_reconcile_runs_at_start_not_a_reconcile_interval_later(settings: Settings, now: datetime) -> None:
    services = Services.build(settings, clock=lambda: now)
    scheduler = build_scheduler(services, OutboxEnv(services))
    scheduler.start(paused=True)  # jobs get their run times; nothing runs
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert jobs["reconcile"].next_run_time == now
        assert jobs["reconcile"].trigger.interval == timedelta(minutes=settings.scheduler.reconcile_minutes)
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (ReconcileReport("fietsen", seen=12, applied=3, webhooks_changed=4),
         "fietsen: 12 order(s) read, 3 new or changed, 4 webhook(s) created or re-enabled"),
        (ReconcileReport("fietsen", seen=0, applied=0), "fietsen: 0 order(s) read, 0 new or changed"),
        (ReconcileReport("thee", seen=2, applied=1, reread=3),
         "thee: 2 order(s) read, 1 new or changed, 3 watched order(s) read again"),
        (ReconcileReport("thee", error="woocommerce_rest_cannot_view: Sorry, you cannot list resources."),
         "thee: reconcile failed: woocommerce_rest_cannot_view: Sorry, you cannot list resources."),
    ],
)  # fmt: skip
def test_each_shops_reconcile_is_one_line_in_the_log(report: ReconcileReport, line: str) -> None:
    assert describe(report) == line
