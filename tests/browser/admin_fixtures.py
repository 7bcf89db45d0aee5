"""The dashboard served on loopback for browser tests, on a fixed clock, with twelve weeks of history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from connector.model import OrderStatus
from connector.sandbox.server import BackgroundServer
from connector.services import Services
from tests.admin import builders as b
from tests.admin import scenario
from tests.conftest import make_settings
from webhooks import create_app

CARRIERS = ("PostNL", "PostNL", "DHL", "DPD", "PostNL")
METHODS = ("Morgen in huis", "Standaard", "Standaard", "Brievenbuspakje")
PRODUCTS = ("Fietsbel", "Slot", "Binnenband", "Achterlicht", "Zadel")
# incidents per week for twelve weeks, oldest first: a bad checkout release in weeks 6-8
ADDRESS = (1, 0, 1, 1, 0, 6, 7, 5, 1, 0, 1, 0)
DELAY = (2, 3, 1, 2, 4, 3, 2, 5, 2, 1, 2, 1)
STALE = (1, 0, 2, 1, 1, 0, 1, 2, 0, 1, 0, 1)


@dataclass
class AdminSite:
    url: str
    services: Services
    world: scenario.World


def seed_history(session: Session, now: datetime) -> None:
    """Deterministic history for the patterns page: orders, incidents, vouchers and contacts."""
    serial = 0
    for week in range(12):
        monday = now - timedelta(weeks=12 - week)
        kinds = ["address"] * ADDRESS[week] + ["shipment_delay"] * DELAY[week] + ["stale"] * STALE[week]
        for index in range(14):
            serial += 1
            placed = monday + timedelta(hours=7 * index)
            kind = kinds[index] if index < len(kinds) else None
            order = b.order(
                session,
                "fietsen",
                f"H{serial}",
                placed,
                status=OrderStatus.DELIVERED if kind != "stale" else OrderStatus.PAID,
                carrier=CARRIERS[serial % len(CARRIERS)] if kind != "stale" else None,
                method=METHODS[serial % len(METHODS)],
                products=(PRODUCTS[serial % len(PRODUCTS)],),
            )
            if kind is None:
                continue
            problems = ["missing_street"] if 5 <= week <= 7 else ["postcode_format"]
            details = {"problems": problems} if kind == "address" else {"status": "on-hold"} if kind == "stale" else {}
            b.incident(session, order, kind, placed + timedelta(hours=30), state="resolved",
                       resolved_at=placed + timedelta(days=3), resolution="delivered", details=details)  # fmt: skip
            if kind == "shipment_delay":
                b.email(session, order, placed + timedelta(hours=31))
                if serial % 3 == 0:
                    b.voucher(session, order, placed + timedelta(hours=55), "5.00")
                if serial % 4 == 0:
                    b.contact(session, order, placed + timedelta(hours=40))
            elif serial % 5 == 0:
                b.contact(session, order, placed + timedelta(hours=20), kind="where_is_my_order")
    session.commit()


@pytest.fixture
def admin_site(db_url: str, engine: Engine, now: datetime) -> Iterator[AdminSite]:
    services = Services.build(make_settings(db_url), engine=engine, clock=b.Clock(now))
    with services.sessions() as session:
        world = scenario.build(session, now)
        seed_history(session, now)
    app = create_app(services)
    with BackgroundServer(app) as server:
        yield AdminSite(server.url, services, world)
