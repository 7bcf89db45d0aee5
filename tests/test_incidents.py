"""Incidents: each step once — open, escalate, resolve — and a reopen counts the occurrence up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from connector.incidents import escalate, get, load_for_orders, open_incident, resolve
from connector.metrics import Metrics
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import IncidentRow
from tests.conftest import make_settings
from tests.policies.support import NOW, order
from tests.policies.test_engine import put


def test_open_escalate_resolve_each_once(db_url: str, engine: object) -> None:
    services = Services.build(make_settings(db_url), engine=engine, clock=lambda: NOW)  # type: ignore[arg-type]
    order_id = put(services, order("1001"))["1001"]
    metrics = Metrics()
    with transaction(services.sessions) as session:
        first, opened = open_incident(
            session,
            shop_id="fietsen",
            order_id=order_id,
            kind="stale",
            now=NOW,
            details={"reason": "x"},
            metrics=metrics,
        )
        again, opened_again = open_incident(session, shop_id="fietsen", order_id=order_id, kind="stale", now=NOW)
        assert (opened, opened_again, again.id) == (True, False, first.id)
        raised = escalate(session, first, 2, NOW, {"call": True})
        assert raised is not None
        assert raised.level == 2
        assert raised.state == "escalated"
        assert raised.details == {"reason": "x", "call": True}
        assert escalate(session, raised, 2, NOW) is None
        assert resolve(session, first.id, "shipped", NOW, metrics)  # type: ignore[arg-type]
        assert not resolve(session, first.id, "shipped", NOW, metrics)  # type: ignore[arg-type]
        stored = get(session, order_id, "stale")
        assert stored is not None
        assert (stored.state, stored.resolution, stored.level) == ("resolved", "shipped", 2)
        assert escalate(session, stored, 3, NOW) is None
        later = NOW + timedelta(days=1)
        reopened, opened_third = open_incident(
            session, shop_id="fietsen", order_id=order_id, kind="stale", now=later, metrics=metrics
        )
        assert opened_third
        assert (reopened.id, reopened.occurrence, reopened.state, reopened.level) == (
            first.id,
            2,
            "open",
            1,
        )
        assert session.scalar(select(IncidentRow.resolution)) is None
        assert list(load_for_orders(session, [order_id])[order_id]) == ["stale"]
        assert load_for_orders(session, []) == {}
    assert metrics.registry.get_sample_value("ordercare_incidents_opened_total", {"kind": "stale"}) == 2
    assert metrics.registry.get_sample_value("ordercare_incidents_resolved_total", {"kind": "stale"}) == 1
