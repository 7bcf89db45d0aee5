"""Shared helpers of the carrier tests: a shop with carrier sources configured, ordercare served over HTTP on
loopback (and a ``world`` fixture of it), a simulated clock, shipped orders to store and what became of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connector import codec
from connector.ingest import store_order
from connector.model import Order, OrderStatus, Platform, ShipmentStatus
from connector.sandbox.server import BackgroundServer
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import CarrierEventRow, OrderRow
from tests.builders import order, shipment
from tests.conftest import make_settings
from webhooks import create_app


class SimClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def settings_with(db_url: str, carriers: dict[str, Any], shop_index: int = 1) -> Any:
    """The test settings with ``carriers`` on one shop (default: the WooCommerce shop ``theewinkel``)."""
    base = make_settings(db_url)
    shops = [s.model_dump(exclude_none=True) for s in base.shops]
    shops[shop_index]["carriers"] = carriers
    return make_settings(db_url, shops=shops)


@dataclass
class World:
    services: Services
    url: str
    clock: SimClock

    def carrier_url(self, source: str, shop_id: str = "theewinkel") -> str:
        return f"{self.url}/carriers/{source}/{shop_id}"

    def store(self, order: Order) -> None:
        with transaction(self.services.sessions) as session:
            store_order(session, order, self.clock())

    def order(self, external_id: str, shop_id: str = "theewinkel") -> Order:
        with self.services.sessions() as session:
            data = session.scalar(
                select(OrderRow.data).where(OrderRow.shop_id == shop_id, OrderRow.external_id == external_id)
            )
        assert data is not None
        return codec.load_order(data)

    def carrier_rows(self) -> list[CarrierEventRow]:
        with self.services.sessions() as session:
            rows = list(session.scalars(select(CarrierEventRow).order_by(CarrierEventRow.id)))
            session.expunge_all()
            return rows

    def count(self) -> int:
        with self.services.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(CarrierEventRow)) or 0)

    def metric(self, source: str, outcome: str) -> float:
        value = self.services.metrics.registry.get_sample_value(
            "ordercare_carrier_events_total", {"source": source, "outcome": outcome}
        )
        return float(value or 0.0)


@contextmanager
def served(db_url: str, carriers: dict[str, Any], start: datetime) -> Iterator[World]:
    """ordercare's web app on loopback with ``carriers`` configured for ``theewinkel``."""
    clock = SimClock(start)
    services = Services.build(settings_with(db_url, carriers), clock=clock)
    try:
        with BackgroundServer(create_app(services)) as server:
            yield World(services, server.url, clock)
    finally:
        services.engine.dispose()


def world_fixture(carriers: dict[str, Any], start: datetime) -> Any:
    """A ``world`` fixture for a test module: ordercare served with ``carriers`` for ``theewinkel`` from ``start``."""

    @pytest.fixture
    def world(db_url: str) -> Iterator[World]:
        with served(db_url, carriers, start) as w:
            yield w

    return world


def order_with_parcel(external_id: str, tracking_number: str, **changes: Any) -> Order:
    """A completed WooCommerce order of ``theewinkel`` whose tracking plugin wrote one number, its parcel's status
    not known yet; ``changes`` replace any field."""
    base: dict[str, Any] = {
        "shop_id": "theewinkel",
        "platform": Platform.WOOCOMMERCE,
        "status": OrderStatus.SHIPPED,
        "platform_status": "completed",
        "shipments": (shipment("wc-1", tracking_number=tracking_number, status=ShipmentStatus.UNKNOWN),),
    }
    base.update(changes)
    return order(external_id, **base)
