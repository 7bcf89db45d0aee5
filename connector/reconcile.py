"""The reconcile job: webhooks are hints, the platform is the truth.

Per shop, under a lease: read the orders changed since the last sync through the platform client,
ingest them like deliveries (same dedupe and newer-wins rules), advance the cursor, and make sure our
webhook subscriptions exist and are enabled. Where the platform's listing cannot see every change
(``RereadsOrders``: WooCommerce with the legacy post storage keeps ``date_modified`` on an address or
meta-only save), the orders we are watching, with an open incident or a hold of ours, are also read again
by id, so a staff fix in the shop releases our hold and a delivered parcel ends the delay ladder even when
its webhook was lost. An error ends this shop's run with the error on its report (the cursor stays at the
newest order stored); it never stops the other shops' reconcile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from connector import codec
from connector.incidents import RESOLVED
from connector.ingest import Outcome, ingest
from connector.leases import acquire, release
from connector.model import Customer, Order, OrderEvent, OrderStatus
from connector.platforms.base import PlatformClient, PlatformError, RereadsOrders
from connector.services import Services
from connector.shops import Shop
from connector.store.db import transaction
from connector.store.tables import IncidentRow, OrderRow, ShopRow

log = logging.getLogger(__name__)

# look back a little before the cursor: platforms' "updated_at" and our clock are not one clock
OVERLAP = timedelta(minutes=2)

# At most this many watched orders are read again per run (WooCommerce: 100 ids a request, so 5 requests),
# the soonest ``next_check_at`` first: the orders a policy is about to act on. Each tick moves an order's
# next check on, so with more watched orders than this the others come up in later runs.
REREAD_LIMIT = 500

OWN_HOLD_PREFIX = "ordercare"  # the handle of the holds we place (as the policies read it)
RECONCILE_ERROR = "reconcile_error"  # ``shops.settings`` key: the last run's error, None after a run without one
CONNECTION = "connection"  # ``shops.settings`` key: granted scopes, denied fields, missing webhooks, pause
UNKNOWN_KEY = "unknown"  # ``Order.extra``: fields the platform refused on that read (shopify.mapper.UNKNOWN_KEY)


class AccessCheck(Protocol):
    @property
    def missing(self) -> tuple[str, ...]: ...

    def describe(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class ChecksAccess(Protocol):
    """A client that can read what the shop granted it (Shopify: ``currentAppInstallation.accessScopes``)."""

    def check_access(self) -> AccessCheck: ...

    def status(self) -> dict[str, Any]:
        """What it learnt of the connection: denied fields, topics without a subscription, a pause."""


@dataclass
class ReconcileReport:
    shop_id: str
    seen: int = 0  # orders the change listing returned
    applied: int = 0  # of those and of the re-read ones: new or changed
    webhooks_changed: int = 0
    webhooks_replaced: int = 0  # of those: deleted and created anew with a fresh secret (disabled again)
    error: str | None = None
    reread: int = 0  # watched orders read again by id (``RereadsOrders``)
    # the shop is frozen, locked or closed: in words; no further calls until the next run's check finds it open
    paused: str | None = None
    missing_scopes: tuple[str, ...] = ()
    # as stored in ``shops.settings["connection"]`` (not compared: it carries the time of the check)
    connection: dict[str, Any] = field(default_factory=dict, compare=False)


def keep_known(stored: Order | None, order: Order) -> Order:
    """A read that could not see some fields (``extra["unknown"]``: the platform denied them) keeps what the
    stored version knew of them, so a listing never erases a webhook's e-mail address; a field stays unknown
    when the stored version did not know it either (nothing is made up)."""
    unknown = list(order.extra.get(UNKNOWN_KEY) or ())
    if not unknown or stored is None:
        return order
    stored_unknown = set(stored.extra.get(UNKNOWN_KEY) or ())
    customer, address, lines = order.customer, order.shipping_address, order.lines
    still: list[str] = []
    for name in unknown:
        if name in stored_unknown:
            still.append(name)
        elif name == "customer":  # what this read did give (the order's own e-mail, the locale) stays
            given = {f: getattr(customer, f) for f in Customer.__slots__ if getattr(customer, f) is not None}
            customer = replace(stored.customer, **given)
        elif name.startswith("customer."):
            attr = name.removeprefix("customer.")
            customer = replace(customer, **{attr: getattr(stored.customer, attr)})
        elif name == "shipping_address":
            address = stored.shipping_address
        elif name.startswith("shipping_address.") and address is not None:
            attr = name.removeprefix("shipping_address.")
            address = replace(address, **{attr: getattr(stored.shipping_address, attr, None)})
        elif name == "lines.product_id":
            known = {line.external_id: line.product_id for line in stored.lines}
            lines = tuple(replace(line, product_id=line.product_id or known.get(line.external_id)) for line in lines)
        else:
            still.append(name)
    extra = {k: v for k, v in order.extra.items() if k != UNKNOWN_KEY}
    if still:
        extra[UNKNOWN_KEY] = still
    return order.with_changes(customer=customer, shipping_address=address, lines=lines, extra=extra)


def _keep_known(session: Session, shop_id: str, event: OrderEvent) -> OrderEvent:
    order = event.order
    if order is None or not order.extra.get(UNKNOWN_KEY):
        return event
    data = session.scalar(
        select(OrderRow.data).where(OrderRow.shop_id == shop_id, OrderRow.external_id == order.external_id)
    )
    return replace(event, order=keep_known(codec.load_order(data) if data else None, order))


def store_read(services: Services, shop: Shop, event: OrderEvent, report: ReconcileReport) -> OrderEvent:
    """Ingest one order the platform read gave, in its own transaction, keeping what the read leaves out
    (``keep_known``); counts it in ``report`` when applied. Returns the event as ingested."""
    with transaction(services.sessions) as session:
        event = _keep_known(session, shop.id, event)
        outcome = ingest(session, shop, event, services.now())
    if outcome is Outcome.APPLIED:
        report.applied += 1
    return event


def watched_orders(session: Session, shop_id: str, limit: int = REREAD_LIMIT) -> list[str]:
    """External ids of this shop's live orders with an open incident or an active hold of ours (at most
    ``limit``, soonest next check first)."""
    incident = exists().where(IncidentRow.order_id == OrderRow.id, IncidentRow.state != RESOLVED)
    live = (OrderRow.shop_id == shop_id, OrderRow.deleted.is_(False))
    order = (OrderRow.next_check_at.is_(None), OrderRow.next_check_at, OrderRow.id)
    with_incident = session.execute(
        select(OrderRow.external_id, OrderRow.next_check_at, OrderRow.id)
        .where(*live, incident)
        .order_by(*order)
        .limit(limit)
    ).all()
    on_hold = session.execute(
        select(OrderRow.external_id, OrderRow.next_check_at, OrderRow.id, OrderRow.data)
        .where(*live, ~incident, OrderRow.status == OrderStatus.ON_HOLD.value)
        .order_by(*order)
        .limit(limit)
    ).all()
    ours = [
        (external_id, next_check_at, row_id)
        for external_id, next_check_at, row_id, data in on_hold
        if any((h.handle or "").startswith(OWN_HOLD_PREFIX) for h in codec.load_order(data).active_holds)
    ]
    rows = sorted([*with_incident, *ours], key=lambda r: (r[1] is None, r[1], r[2]))
    return [external_id for external_id, _, _ in rows[:limit]]


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
        if isinstance(client, ChecksAccess):  # also the check that ends a pause: the run's first call
            report.missing_scopes = tuple(client.check_access().missing)
        since = cursor - OVERLAP if cursor else None
        listed: set[str] = set()
        for event in client.changed_orders(since):
            report.seen += 1
            event = store_read(services, shop, event, report)
            if event.order is not None:
                listed.add(event.order.external_id)
                if newest is None or event.order.updated_at > newest:
                    newest = event.order.updated_at
        if isinstance(client, RereadsOrders):
            with services.sessions() as session:
                watched = [i for i in watched_orders(session, shop.id) if i not in listed]
            # the cursor stays where the listing left it: a re-read is not a place in the listing's order
            for event in client.read_orders(watched) if watched else ():
                report.reread += 1
                store_read(services, shop, event, report)
        if check_webhooks:
            callback = services.settings.public_url.rstrip("/") + f"/webhooks/{shop.platform.value}"
            changes = client.ensure_webhooks(callback)
            report.webhooks_changed = len(changes)
            report.webhooks_replaced = sum(1 for change in changes if change.startswith("replaced "))
    except PlatformError as exc:
        paused = getattr(exc, "pause_reason", None)  # frozen, locked or closed: paused, not failed
        if paused:
            report.paused = str(paused)
            log.warning("shop %s is paused: %s", shop.id, paused, extra={"shop": shop.id})
        else:
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
                # the dashboard's Shops page shows it (error texts carry no keys: the clients redact them)
                if isinstance(client, ChecksAccess):
                    report.connection = {
                        **client.status(),
                        "checked_at": started.isoformat(),
                        "missing_scopes": list(report.missing_scopes),
                        "paused": report.paused,
                    }
                    row.settings = {**(row.settings or {}), CONNECTION: report.connection}
                row.settings = {**(row.settings or {}), RECONCILE_ERROR: report.error}
                if newest is not None:
                    row.reconcile_cursor = newest
            release(session, lease, owner)
    return report
