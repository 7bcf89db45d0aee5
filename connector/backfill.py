"""``ordercare backfill --shop ID --days N``: what ordercare would do with a shop's recent orders, as a preview.

Only for a shop in observe mode (``mode: observe``), so a preview can never write to the shop or reach a
customer. It reads the orders the shop changed in the last N days through the platform client (paged, within
the platform's rate limits as every read is), stores them as the reconcile job does (the same dedupe and
newer-wins rules; the reconcile cursor is left alone), and lets the policies decide on them now, as the
scheduler would. What they decided is recorded as observed actions: the report counts them by kind and shows a
sample of the messages, on the console and, kept on the shop's row, on the dashboard's Shops page.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.admin import wording
from connector.admin.observed import Observation, describe
from connector.config import ConfigError, load_for_command
from connector.notify.render import renderer_for
from connector.outbox.queue import OBSERVED
from connector.platforms.base import PlatformClient, PlatformError
from connector.policies.engine import run_tick
from connector.reconcile import ReconcileReport, store_read
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import ActionRow, OrderRow, ShopRow

BACKFILL = "backfill"  # ``shops.settings`` key: the last backfill's report, for the Shops page
SAMPLES = 3  # messages shown in the report
PROGRESS_EVERY = 50  # orders between two progress lines
MAX_DAYS = 365


class BackfillRefused(Exception):
    """The backfill cannot run for this shop (it acts, it is unknown): the reason in words."""


@dataclass
class BackfillReport:
    shop_id: str
    days: int
    read: int = 0  # orders the platform listed
    stored: int = 0  # of those, new or changed in our store
    decided: int = 0  # orders the policies looked at
    by_kind: Counter[str] = field(default_factory=Counter)  # observed actions by kind
    samples: list[Observation] = field(default_factory=list)
    messages: int = 0  # observed customer messages
    error: str | None = None  # the platform stopped the read: what was read so far is in the report

    def as_dict(self, at: datetime) -> dict[str, Any]:
        return {
            "at": at.isoformat(),
            "days": self.days,
            "read": self.read,
            "stored": self.stored,
            "decided": self.decided,
            "by_kind": dict(sorted(self.by_kind.items())),
            "messages": self.messages,
            "error": self.error,
        }


def backfill(
    services: Services,
    shop: Shop,
    client: PlatformClient,
    days: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> BackfillReport:
    """Read, store and decide on the shop's orders of the last ``days`` days; observed actions only."""
    if not shop.observing:
        raise BackfillRefused(
            f"{shop.id}: the shop acts (mode: act); a backfill previews only a shop in observe mode: "
            "set mode: observe for it, run the backfill, then switch back"
        )
    if not 1 <= days <= MAX_DAYS:
        raise BackfillRefused(f"--days: give 1 to {MAX_DAYS} days, not {days}")
    report = BackfillReport(shop.id, days)
    started = services.now()
    with services.sessions() as session:
        before = session.scalar(select(func.coalesce(func.max(ActionRow.id), 0))) or 0
    counted = ReconcileReport(shop.id)
    try:
        for event in client.changed_orders(started - timedelta(days=days)):
            report.read += 1
            store_read(services, shop, event, counted)
            if progress is not None and report.read % PROGRESS_EVERY == 0:
                progress(report.read)
    except PlatformError as exc:
        report.error = exc.platform_message
    report.stored = counted.applied
    _decide(services, shop.id, services.now(), report)  # the orders stored are due from their storing on
    _count(services, shop.id, before, report)
    with transaction(services.sessions) as session:
        row = session.get(ShopRow, shop.id)
        if row is not None:
            row.settings = {**(row.settings or {}), BACKFILL: report.as_dict(started)}
    return report


def _decide(services: Services, shop_id: str, now: datetime, report: BackfillReport) -> None:
    """Tick over this shop's orders until none is due (every tick moves a decided order's next check on); the
    other shops' due orders are left to the scheduler."""
    with services.sessions() as session:
        due = (
            session.scalar(select(func.count()).where(OrderRow.shop_id == shop_id, OrderRow.next_check_at <= now)) or 0
        )
    batch = services.settings.scheduler.tick_batch
    for _ in range(due // batch + 2):
        evaluated = run_tick(services, now, shop_id=shop_id).evaluated
        report.decided += evaluated
        if evaluated == 0:
            break


def _count(services: Services, shop_id: str, before: int, report: BackfillReport) -> None:
    renderer = renderer_for(services.settings.templates_dir)
    with services.sessions() as session:
        rows = session.execute(
            select(ActionRow, OrderRow)
            .outerjoin(OrderRow, OrderRow.id == ActionRow.order_id)
            .where(ActionRow.shop_id == shop_id, ActionRow.id > before, ActionRow.state == OBSERVED)
            .order_by(ActionRow.id)
        ).all()
        for action, order in rows:
            report.by_kind[action.kind] += 1
            if action.kind == "notify_customer":
                report.messages += 1
                if len(report.samples) < SAMPLES:
                    report.samples.append(describe(action, order, services.settings, renderer))


def last_reports(session: Session, shop_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Each shop's last backfill report (``BackfillReport.as_dict``), for the Shops page."""
    rows = session.execute(select(ShopRow.id, ShopRow.settings).where(ShopRow.id.in_(list(shop_ids))))
    return {shop_id: values[BACKFILL] for shop_id, values in rows if values and values.get(BACKFILL)}


def lines(report: BackfillReport) -> list[str]:
    """The report as the console shows it, in English."""
    out = [
        f"{report.shop_id}: read {report.read} orders changed in the last {report.days} days "
        f"({report.stored} new or changed here), decided on {report.decided}"
    ]
    if report.error:
        out.append(f"the shop stopped the read: {report.error} (the report covers what was read)")
    total = sum(report.by_kind.values())
    if not total:
        out.append("ordercare would have done nothing with them")
        return out
    out.append(f"ordercare would have done {total} things:")
    for kind, count in sorted(report.by_kind.items(), key=lambda item: (-item[1], item[0])):
        out.append(f"  {wording.ACTIONS.get(kind, kind)}: {count}")
    if report.samples:
        out.append(f"messages ({len(report.samples)} of {report.messages}):")
        for sample in report.samples:
            subject = sample.message.subject if sample.message else sample.detail
            out.append(f"  order {sample.order or '-'} to {sample.recipient or 'the customer'}: {subject}")
    out.append(
        f"every step: ordercare actions --observed --shop {report.shop_id} (show ID for one message), "
        "or the dashboard's Shops page"
    )
    return out


# --- the command ---------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="configuration file (default: $ORDERCARE_CONFIG)")
    parser.add_argument("--shop", required=True, metavar="ID", help="the shop (it must be in observe mode)")
    parser.add_argument("--days", type=int, default=30, help="how far back to read the shop's orders")


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    from connector import platforms
    from connector.store.db import make_engine, upgrade

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        settings = load_for_command(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return 2
    engine = make_engine(settings.database_url)
    upgrade(engine)
    services = Services.build(settings, engine=engine)
    shop = services.shops.get(args.shop)
    if shop is None:
        print(f"--shop: no shop {args.shop!r}; known: {', '.join(s.id for s in settings.shops)}", file=err)
        return 2
    client = platforms.make_client(shop, settings, clock=services.now)
    try:
        report = backfill(
            services, shop, client, args.days, progress=lambda n: print(f"read {n} orders…", file=err, flush=True)
        )
    except BackfillRefused as exc:
        print(str(exc), file=err)
        return 1
    finally:
        client.close()
        engine.dispose()
    print("\n".join(lines(report)), file=out)
    return 1 if report.error else 0
