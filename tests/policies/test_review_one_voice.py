"""One voice per customer: no review request while the same customer's other order is in trouble, or
within ``quiet_after_apology_days`` of an apology; the order is looked at again a day later."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connector.model import Order
from connector.policies import engine as tick
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, EmailLog, IncidentRow, OrderRow

from .support import ams, order
from .test_delay_review import delivered
from .test_engine import put

NOW = ams(2026, 11, 27, 10, 0)  # Friday: the parcel of 23 Nov arrived more than three days ago
LATER = NOW + timedelta(days=5)  # when the other order is looked at: not in the round under test


def reviewed() -> Order:
    made = delivered()
    assert isinstance(made, Order)
    return made


def other_order() -> Order:
    return order("1002", at=ams(2026, 11, 25, 10, 0))  # the same customer (sanne@example.nl), not shipped yet


def review_requests(services: Services) -> list[str]:
    with services.sessions() as session:
        return list(session.scalars(select(ActionRow.idempotency_key).where(ActionRow.policy == "review")))


def next_check(services: Services, external_id: str) -> datetime | None:
    with services.sessions() as session:
        return session.scalar(select(OrderRow.next_check_at).where(OrderRow.external_id == external_id))


def open_incident_on(services: Services, order_id: int, state: str) -> None:
    with transaction(services.sessions) as session:
        session.add(
            IncidentRow(shop_id="fietsen", order_id=order_id, kind="shipment_delay", state=state, level=1,
                        occurrence=1, opened_at=NOW, updated_at=NOW, details={})
        )  # fmt: skip


@pytest.mark.parametrize(("state", "asked"), [("open", False), ("escalated", False), ("resolved", True)])
def test_no_review_while_the_customers_other_order_is_in_trouble(services: Services, state: str, asked: bool) -> None:
    ids = put(services, reviewed(), due=NOW) | put(services, other_order(), due=LATER)
    open_incident_on(services, ids["1002"], state)
    tick.run_tick(services, NOW)
    assert review_requests(services) == (["fietsen:1001:review:request"] if asked else [])
    if not asked:
        assert next_check(services, "1001") == NOW + timedelta(days=1)


@pytest.mark.parametrize(("days_ago", "asked"), [(13, False), (14, True), (20, True)])
def test_no_review_within_two_weeks_of_an_apology(services: Services, days_ago: int, asked: bool) -> None:
    put(services, reviewed(), due=NOW)
    with transaction(services.sessions) as session:
        session.add(
            EmailLog(shop_id="fietsen", template="delay_notice", recipient="Sanne@Example.nl", subject="Vertraagd",
                     message_id=f"<m{days_ago}@x>", sent_at=NOW - timedelta(days=days_ago))
        )  # fmt: skip
    tick.run_tick(services, NOW)
    assert review_requests(services) == (["fietsen:1001:review:request"] if asked else [])


def test_another_customers_trouble_or_another_shops_changes_nothing(services: Services) -> None:
    stranger = order("1003", customer=reviewed().customer.__class__(email="piet@example.nl"))
    ids = put(services, reviewed(), stranger, due=NOW)
    open_incident_on(services, ids["1003"], "open")
    with transaction(services.sessions) as session:
        session.add(
            EmailLog(shop_id="theewinkel", template="delay_notice", recipient="sanne@example.nl", subject="Vertraagd",
                     message_id="<m@x>", sent_at=NOW - timedelta(days=1))
        )  # fmt: skip
    tick.run_tick(services, NOW)
    assert review_requests(services) == ["fietsen:1001:review:request"]


def plan_message(services: Services, order_id: int, template: str, state: str) -> None:
    """A customer message on the other order, planned and in ``state`` (pending: waiting for the morning)."""
    with transaction(services.sessions) as session:
        session.add(
            ActionRow(shop_id="fietsen", order_id=order_id, policy="shipment_delay", kind="notify_customer",
                      idempotency_key=f"fietsen:1002:shipment_delay:{template}", state=state, attempts=0,
                      payload={"template": template, "context": {}}, next_attempt_at=NOW, created_at=NOW)
        )  # fmt: skip


@pytest.mark.parametrize(
    ("template", "state", "asked"),
    [
        ("delay_notice", "pending", False),  # an apology on its way: not yet a review request
        ("stale_update", "pending", False),
        ("delay_notice", "cancelled", True),  # it will never go
        ("address_question", "pending", True),  # not an apology
    ],
)
def test_no_review_while_an_apology_to_the_customer_waits_to_be_sent(
    services: Services, template: str, state: str, asked: bool
) -> None:
    ids = put(services, reviewed(), due=NOW) | put(services, other_order(), due=LATER)
    plan_message(services, ids["1002"], template, state)
    tick.run_tick(services, NOW)
    assert review_requests(services) == (["fietsen:1001:review:request"] if asked else [])
    if not asked:
        assert next_check(services, "1001") == NOW + timedelta(days=1)


def test_no_review_in_the_round_that_apologises_for_the_customers_other_order(services: Services) -> None:
    # given the other order placed with a next-day promise on Monday and still not shipped on Friday
    late = order("1002", at=ams(2026, 11, 23, 12, 0), shipping_method="Morgen in huis")
    put(services, reviewed(), late, due=NOW)

    # when one round decides both: the apology for 1002 and, without this rule, a review request for 1001
    tick.run_tick(services, NOW)

    # then only the apologies for 1002 are planned, no review request for 1001
    with services.sessions() as session:
        planned = set(session.scalars(select(ActionRow.idempotency_key).where(ActionRow.kind == "notify_customer")))
    assert planned == {"fietsen:1002:next_day:1-notify", "fietsen:1002:stale:1-notify"}
    assert next_check(services, "1001") == NOW + timedelta(days=1)
