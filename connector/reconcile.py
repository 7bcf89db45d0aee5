"""The reconcile job: webhooks are hints, the platform is the truth.

Per shop, under a lease: read the orders changed since the last sync through the platform client,
ingest them like deliveries (same dedupe and newer-wins rules), advance the cursor, and make sure our
webhook subscriptions exist and are enabled. An error ends this shop's run with the error on its report
(the cursor stays at the newest order stored); it never stops the other shops' reconcile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from connector.ingest import Outcome, ingest
from connector.leases import acquire, release
from connector.platforms.base import PlatformClient, PlatformError
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import ShopRow

log = logging.getLogger(__name__)

# look back a little before the cursor: platforms' "updated_at" and our clock are not one clock
OVERLAP = timedelta(minutes=2)


@dataclass
class ReconcileReport:
    shop_id: str
    seen: int = 0
    applied: int = 0
    webhooks_changed: int = 0
    error: str | None = None


def reconcile_shop(
    services: Services, shop: Shop, client: PlatformClient, owner: str, *, check_webhooks: bool = True
) -> ReconcileReport:
    report = ReconcileReport(shop.id)
    lease = f"reconcile:{shop.id}"
    with transaction(services.sessions) as session:
        if not acquire(session, lease, owner, services.now(), 15 * 60):
            return report
        row = session.get(ShopRow, shop.id)
        cursor = row.reconcile_cursor if row else None
    started = services.now()
    newest = cursor
    try:
        since = cursor - OVERLAP if cursor else None
        for event in client.changed_orders(since):
            report.seen += 1
            with transaction(services.sessions) as session:
                outcome = ingest(session, shop, event, services.now())
            if outcome is Outcome.APPLIED:
                report.applied += 1
            if event.order is not None and (newest is None or event.order.updated_at > newest):
                newest = event.order.updated_at
        if check_webhooks:
            callback = services.settings.public_url.rstrip("/") + f"/webhooks/{shop.platform.value}"
            report.webhooks_changed = len(client.ensure_webhooks(callback))
    except PlatformError as exc:
        report.error = exc.platform_message
        log.warning("reconcile failed", extra={"shop": shop.id, "error": exc.platform_message})
    except Exception as exc:  # an order we cannot read or store: this shop stops here, the others go on
        report.error = f"{type(exc).__name__}: {exc}"
        log.exception("reconcile failed", extra={"shop": shop.id, "error": report.error})
    finally:
        with transaction(services.sessions) as session:
            row = session.get(ShopRow, shop.id)
            if row is not None:
                row.last_reconciled_at = started
                if newest is not None:
                    row.reconcile_cursor = newest
            release(session, lease, owner)
    return report
