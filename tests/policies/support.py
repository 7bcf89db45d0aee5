"""Builders for the policy tests: ``tests.builders`` orders at the policy tests' fixed times, a shop, a context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connector.actions import ActionKind
from connector.incidents import IncidentView
from connector.model import (
    Address,
    Customer,
    Order,
    Platform,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
)
from connector.policies.base import Decision, PolicyContext
from connector.policies.config import PoliciesConfig
from connector.shops import Shop
from tests import builders

AMS = ZoneInfo("Europe/Amsterdam")
PAID = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Amsterdam


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS)


NOW = ams(2026, 11, 24, 10, 5)  # Tuesday 10:05 in Amsterdam: the clock of the database tests


def address(**changes: Any) -> Address:
    """``builders.address`` without the addition: Hoofdstraat 12, 1234 AB Amsterdam."""
    return builders.address(**{"address1": "Hoofdstraat 12", "house_number_addition": None, **changes})


def customer(**changes: Any) -> Customer:
    """``builders.customer`` who reads Dutch."""
    return builders.customer(**{"locale": "nl", **changes})


def order(external_id: str = "1001", *, at: datetime = PAID, **changes: Any) -> Order:
    """``builders.order`` as the policy tests use it: placed and paid Tuesday 10:00 (``PAID``), shipped by
    "Standaard verzending" (no next-day promise), two bells at € 12.50 (total € 50.00), a Dutch customer."""
    base: dict[str, Any] = {
        "customer": customer(),
        "shipping_address": address(),
        "lines": (builders.line(price="12.50"),),
        "total": builders.eur("50.00"),
        "shipping_method": "Standaard verzending",
    }
    base.update(changes)
    return builders.order(external_id, at=at, **base)


def shipment(
    shipped_at: datetime,
    *,
    scans: tuple[datetime, ...] = (),
    status: ShipmentStatus = ShipmentStatus.IN_TRANSIT,
    **changes: Any,
) -> Shipment:
    events = tuple(
        ShipmentEvent(external_id=f"e{i}", status=ShipmentStatus.IN_TRANSIT, happened_at=t) for i, t in enumerate(scans)
    )
    base: dict[str, Any] = {
        "external_id": "s1",
        "status": status,
        "carrier": "PostNL",
        "tracking_number": "3SABCD123",
        "tracking_url": "https://postnl.nl/tracktrace/3SABCD123",
        "shipped_at": shipped_at,
        "updated_at": shipped_at,
        "events": events,
    }
    base.update(changes)
    return Shipment(**base)


def shop(**changes: Any) -> Shop:
    base: dict[str, Any] = {
        "id": "fietsen",
        "platform": Platform.SHOPIFY,
        "key": "fietsen-test.myshopify.com",
        "name": "Fietsenwinkel",
        "status": "active",
        "timezone": "Europe/Amsterdam",
        "locale": "nl",
        "country": "NL",
        "source": "config",
    }
    base.update(changes)
    return Shop(**base)


def context(policies: dict[str, Any] | None = None, lookup: Any = None, **shop_changes: Any) -> PolicyContext:
    the_shop = shop(**shop_changes)
    config = PoliciesConfig.model_validate(policies or {})
    return PolicyContext(
        shop=the_shop,
        config=config,
        calendar=config.calendar.build(the_shop.timezone, the_shop.country),
        lookup=lookup,
    )


def incident(kind: str, *, state: str = "open", level: int = 1, occurrence: int = 1, **details: Any) -> IncidentView:
    return IncidentView(kind, state, level, occurrence, PAID, id=1, details=details)


def planned(decision: Decision) -> list[tuple[str, str, str | None]]:
    """(kind, step, incident kind) of every planned action, in order."""
    return [(s.action.kind.value, s.action.step, s.incident) for s in decision.actions]


def payload(decision: Decision, kind: ActionKind) -> dict[str, Any]:
    found = [s.action.payload for s in decision.actions if s.action.kind is kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]
