"""The worker's jobs: one tick clears a backlog larger than a round; the scheduler has its four jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from connector.config import Settings
from connector.outbox.env import OutboxEnv
from connector.scheduler import build_scheduler, tick
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


def test_the_worker_schedules_its_four_jobs(settings: Settings) -> None:
    services = Services.build(settings)
    scheduler = build_scheduler(services, OutboxEnv(services))
    assert sorted(job.id for job in scheduler.get_jobs()) == ["housekeeping", "outbox", "reconcile", "tick"]
