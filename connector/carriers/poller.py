"""Reading open parcels from the sources that are polled, as ``connector.carriers.polling`` allows.

Every worker round (``Poller.run(now)``): for each shop with a ``carriers:`` block, first match the events that
arrived before their order (``carriers.ingest.rematch``); then for each of its sources, select
the shop's shipped orders in SQL, decide in Python which parcels that source can read (``policies.visibility``)
and which are due (``polling.plan``, one ``Limiter`` per shop and source), read them, and store what came back
like a webhook's events (``carriers.ingest.receive``), which makes the order due for its policies. A source that
refuses (429, 5xx, garbage) backs its limiter off and the round goes on with the next source; a shop whose
source fails for good is logged and the others still run. Read counts live in the worker's memory: after a
restart a parcel may be read once early, within the same limits.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from connector import codec
from connector.carriers import registry
from connector.carriers.base import (
    CarrierClient,
    CarrierContext,
    MalformedPayload,
    Parcel,
    normalise_postcode,
    normalise_tracking,
)
from connector.carriers.config import CarriersSettings
from connector.carriers.ingest import Received, details_due, receive, rematch
from connector.carriers.names import display_name
from connector.carriers.polling import Limiter, ParcelState, SourcePlan, plan
from connector.model import Order, OrderStatus, Shipment, ShipmentStatus
from connector.platforms.base import PermanentError, RetryableError
from connector.policies.visibility import sources_for
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import OrderRow
from connector.wakeup import announce

log = logging.getLogger(__name__)

_TRAVELLING = tuple(s.value for s in OrderStatus if s.is_shipped and not s.is_final)
# MyParcel reads by its own shipment id (``/tracktraces/{id;id}``), which only its webhooks tell us: it is read
# when a hook came without details, never by tracking number
_BY_ID_ONLY = frozenset({"myparcel"})


@dataclass
class _Reads:
    """What this worker read of one parcel."""

    last_read_at: datetime | None = None
    day: Any = None
    today: int = 0


@dataclass
class PollReport:
    reads: int = 0  # calls made
    events: dict[str, int] = field(default_factory=dict)  # outcome -> count
    refused: list[str] = field(default_factory=list)  # "shop/source: why"
    rematched: int = 0  # waiting events that found their order
    dropped: int = 0  # waiting events that waited longer than ``unmatched_days``


@dataclass(frozen=True)
class _Open:
    parcel: Parcel
    state: ParcelState


def _parcel(source: str, order: Order, shipment: Shipment) -> Parcel:
    postcode = order.shipping_address.postcode if order.shipping_address is not None else None
    return Parcel(
        source=source,
        tracking_number=normalise_tracking(shipment.tracking_number),
        postcode=normalise_postcode(postcode),
        order_number=order.number,
        carrier=display_name(shipment.carrier),
    )


class Poller:
    """The polled reads of one worker: its limiters and read counts, kept between rounds."""

    def __init__(
        self,
        services: Services,
        *,
        rng: random.Random | None = None,
        clients: Callable[[str, Any], CarrierClient] = registry.make_client,
    ) -> None:
        self.services = services
        self.rng = rng or random.Random()
        self.make_client = clients
        self.limiters: dict[tuple[str, str], Limiter] = {}
        self.reads: dict[tuple[str, str], _Reads] = {}

    def _shops(self) -> Iterator[tuple[str, str, CarriersSettings]]:
        for shop in self.services.shops.all(active_only=True):
            configured = self.services.settings.configured_shop(shop.id)
            if configured is not None and configured.carriers is not None and not shop.observing:
                yield shop.id, shop.timezone, configured.carriers

    def _open_parcels(
        self, shop_id: str, source: str, carriers: CarriersSettings, now: datetime, tz: str
    ) -> list[_Open]:
        since = now - timedelta(days=carriers.polling.max_age_days)
        with self.services.sessions() as session:
            rows = session.scalars(
                select(OrderRow.data).where(
                    OrderRow.shop_id == shop_id,
                    OrderRow.deleted.is_(False),
                    OrderRow.status.in_(_TRAVELLING),
                    OrderRow.created_at >= since,
                )
            ).all()
            wanted = details_due(session, shop_id, source)
        found: list[_Open] = [
            _Open(parcel, ParcelState(f"{shop_id}:{source}:id:{parcel.parcel_id}", ShipmentStatus.UNKNOWN, now,
                                      needs_details=True))
            for parcel in wanted
            if parcel.parcel_id
        ]  # fmt: skip
        if source in _BY_ID_ONLY:
            return found
        asked = {p.tracking_number for p in wanted if p.tracking_number}
        for data in rows:
            order = codec.load_order(data)
            for shipment in order.shipments:
                if shipment.cancelled or source not in sources_for(order, shipment, carriers):
                    continue
                parcel = _parcel(source, order, shipment)
                if parcel.tracking_number is None:
                    continue
                key = f"{shop_id}:{source}:{parcel.tracking_number}"
                reads = self.reads.get((shop_id, key), _Reads())
                news = [e.happened_at for e in shipment.events] + [t for t in (shipment.updated_at,) if t is not None]
                shipped = shipment.shipped_at or order.created_at
                state = ParcelState(
                    key=key,
                    status=shipment.current_status,
                    shipped_at=shipped,
                    last_read_at=reads.last_read_at,
                    last_news_at=max(news, default=None),
                    reads_today=reads.today,
                    reads_day=reads.day,
                    needs_details=parcel.tracking_number in asked,
                )
                found.append(_Open(parcel, state))
        return found

    def _count_read(self, shop_id: str, key: str, now: datetime, tz: str) -> None:
        reads = self.reads.setdefault((shop_id, key), _Reads())
        day = now.astimezone(ZoneInfo(tz)).date()
        if reads.day != day:
            reads.day, reads.today = day, 0
        reads.today += 1
        reads.last_read_at = now

    def run(self, now: datetime) -> PollReport:
        """One round over every shop and source that is due now."""
        report = PollReport()
        for shop_id, tz, carriers in self._shops():
            with transaction(self.services.sessions) as session:  # events that came before their order did
                merged, dropped = rematch(session, shop_id, now)
                if merged:
                    announce(session)
            report.rematched += merged
            report.dropped += dropped
            for source in sorted(registry.SOURCES):
                settings = carriers.source(source)
                if settings is None:
                    continue
                try:
                    self._poll(shop_id, tz, source, settings, carriers, now, report)
                except Exception as exc:  # one shop's source must never stop the others
                    report.refused.append(f"{shop_id}/{source}: {exc}")
                    log.exception("polling failed", extra={"shop": shop_id, "source": source})
        return report

    def _poll(
        self,
        shop_id: str,
        tz: str,
        source: str,
        settings: Any,
        carriers: CarriersSettings,
        now: datetime,
        report: PollReport,
    ) -> None:
        adapter = registry.adapter(source)
        limiter = self.limiters.setdefault((shop_id, source), Limiter(settings.limit, tz, carriers.polling))
        parcels = self._open_parcels(shop_id, source, carriers, now, tz)
        if not parcels:
            return
        by_key = {p.state.key: p.parcel for p in parcels}
        client = self.make_client(source, settings)
        per_parcel = getattr(settings, "per_parcel_daily", None)
        batch = int(getattr(client, "batch_size", 1))
        todo = plan(
            [p.state for p in parcels],
            now,
            carriers.polling,
            tz,
            SourcePlan(adapter.pushes, batch, per_parcel),
            limiter,
        )
        context = CarrierContext(shop_id=shop_id, timezone=tz, received_at=now)
        try:
            for states in todo.batches:
                try:
                    events = client.track([by_key[s.key] for s in states], context)
                except (RetryableError, MalformedPayload) as exc:  # 429, 5xx, an answer we cannot read
                    limiter.refused(now, self.rng, getattr(exc, "retry_after", None))
                    report.refused.append(f"{shop_id}/{source}: {exc}")
                    return
                except PermanentError as exc:
                    limiter.refused(now, self.rng)
                    report.refused.append(f"{shop_id}/{source}: {exc}")
                    log.warning("carrier source refused", extra={"shop": shop_id, "source": source, "error": str(exc)})
                    return
                limiter.succeeded()
                report.reads += 1
                for state in states:
                    self._count_read(shop_id, state.key, now, tz)
                if not events:
                    continue
                with transaction(self.services.sessions) as session:
                    outcomes = receive(session, shop_id, events, now, unmatched_days=carriers.unmatched_days)
                    if Received.APPLIED in outcomes:
                        announce(session)
                for outcome in outcomes:
                    report.events[outcome.value] = report.events.get(outcome.value, 0) + 1
                    self.services.metrics.carrier_events.labels(source, outcome.value).inc()
        finally:
            client.close()
