"""Uninstall and the privacy requests, end to end through the Shopify adapter and ingest.

The erase test dumps every table afterwards and searches it for the customer's name, e-mail, phone and
street; another customer's data must still be there.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.ingest import Outcome, RawDelivery, ingest
from connector.platforms.shopify import ADAPTER
from connector.privacy import EXPORT_TOPIC, exports
from connector.shops import Shop, ShopDirectory, sync_config_shops
from connector.store.db import transaction
from connector.store.tables import (
    ActionAttempt,
    ActionRow,
    Base,
    CallTaskRow,
    EmailLog,
    IncidentRow,
    OrderRow,
    PendingEvent,
    RawEvent,
    ShopRow,
)
from tests.conftest import fixture_json
from tests.platforms.shopify.conftest import DOMAIN, signed_headers

SANNE = {
    "name": "Sanne",
    "surname": "de Vries",
    "email": "sanne.devries@example.nl",
    "phone": "+31612345678",
    "street": "Hoofdstraat",
}


def _deliver(sessions: sessionmaker[Session], shop: Shop, topic: str, payload: Any, now: datetime, n: int) -> Outcome:
    body = json.dumps(payload).encode()
    headers = signed_headers(topic, body, webhook_id=f"wh-{topic}-{n}")
    event = ADAPTER.parse(headers, body, shop.context)
    assert event is not None
    with transaction(sessions) as session:
        return ingest(session, shop, event, now, RawDelivery(topic, body))


def _other_customer() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(fixture_json("shopify/orders_create__nl_paid.json"))
    data["id"] = 5823991001234567999
    data["admin_graphql_api_id"] = "gid://shopify/Order/5823991001234567999"
    data["name"] = "#1050"
    data["email"] = data["contact_email"] = "piet.jansen@example.nl"
    data["phone"] = "+31687654321"
    data["note"] = None
    data["customer"] = {"id": 7300000000000000999, "email": "piet.jansen@example.nl", "first_name": "Piet",
                        "last_name": "Jansen", "phone": "+31687654321"}  # fmt: skip
    data["shipping_address"] = dict(data["shipping_address"], first_name="Piet", last_name="Jansen", name="Piet Jansen",
                                    address1="Dorpsweg 3", phone="+31687654321")  # fmt: skip
    return data


def _dump(session: Session) -> str:
    chunks = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            chunks.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(chunks)


def _seed(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> tuple[Shop, int]:
    with transaction(sessions) as session:
        sync_config_shops(session, settings, now)
    shop = ShopDirectory(settings, sessions).get("fietsen")
    assert shop is not None
    sanne = fixture_json("shopify/orders_create__nl_paid.json")
    assert _deliver(sessions, shop, "orders/create", sanne, now, 1) is Outcome.APPLIED
    assert _deliver(sessions, shop, "orders/create", _other_customer(), now, 2) is Outcome.APPLIED
    # a shipment event for an order we have not seen yet, from Sanne's second order
    event = fixture_json("shopify/fulfillment_events_create__nl_delayed.json")
    event["order_id"] = 5823991001234567000
    assert _deliver(sessions, shop, "fulfillment_events/create", event, now, 3) is Outcome.PENDING
    with transaction(sessions) as session:
        order_id = session.scalars(select(OrderRow.id).where(OrderRow.external_id == "5823991001234567891")).one()
        details = {"problem": "huisnummer", "address1": "Hoofdstraat 12a"}
        incident = IncidentRow(shop_id=shop.id, order_id=order_id, kind="address", state="open", opened_at=now,
                               updated_at=now, details=details)  # fmt: skip
        session.add(incident)
        session.flush()
        action = ActionRow(
            shop_id=shop.id, order_id=order_id, incident_id=incident.id, policy="address", kind="notify_customer",
            idempotency_key="fietsen:5823991001234567891:address:ask", state="done", attempts=1,
            next_attempt_at=now, created_at=now, last_error="mail to sanne.devries@example.nl bounced once",
            payload={"template": "address_question", "to": SANNE["email"],
                     "context": {"first_name": "Sanne", "address": {"street": "Hoofdstraat", "house_number": "12"},
                                 "greeting": "Beste Sanne de Vries"}},
        )  # fmt: skip
        pending = ActionRow(
            shop_id=shop.id, order_id=order_id, policy="address", kind="update_address",
            idempotency_key="fietsen:5823991001234567891:address:fix", state="pending", attempts=0,
            next_attempt_at=now, created_at=now, payload={"address": {"street": "Hoofdstraat", "house_number": "12"}},
        )  # fmt: skip
        session.add_all([action, pending])
        session.flush()
        session.add(ActionAttempt(action_id=action.id, attempt=1, started_at=now, outcome="retry",
                                  error="550 sanne.devries@example.nl unknown"))  # fmt: skip
        session.add(EmailLog(shop_id=shop.id, order_id=order_id, action_id=action.id, template="address_question",
                             recipient=SANNE["email"], subject="Sanne, klopt je adres Hoofdstraat 12a?",
                             message_id="<abc@ordercare>", sent_at=now))  # fmt: skip
        session.add(CallTaskRow(shop_id=shop.id, order_id=order_id, reason="Bel Sanne de Vries op +31612345678",
                                due_at=now, created_at=now, outcome="no answer",
                                outcomes=[{"outcome": "no answer", "before": {
                                    "outcome": "Sanne de Vries belt terug op +31612345678"}}]))  # fmt: skip
    return shop, order_id


def test_customer_redact_erases_everywhere(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    shop, order_id = _seed(sessions, settings, now)
    with sessions() as session:
        before = _dump(session)
    for value in SANNE.values():
        assert value in before  # the test would catch a leak
    redact = {
        "shop_id": 954889,
        "shop_domain": DOMAIN,
        "customer": {"id": 7300000000000000123, "email": SANNE["email"], "phone": SANNE["phone"]},
        "orders_to_redact": [5823991001234567891, 5823991001234567000],
    }
    assert _deliver(sessions, shop, "customers/redact", redact, now + timedelta(days=1), 4) is Outcome.HANDLED
    with sessions() as session:
        after = _dump(session)
        for value in SANNE.values():
            assert value not in after, (value, [line[:300] for line in after.splitlines() if value in line])
        assert "Piet" in after
        assert "piet.jansen@example.nl" in after
        assert "Dorpsweg 3" in after
        row = session.get(OrderRow, order_id)
        assert row is not None
        assert row.customer_email is None
        assert row.next_check_at is None
        assert row.data["customer"]["locale"] == "nl"
        assert row.data["shipping_address"]["country_code"] == "NL"
        assert session.scalars(select(PendingEvent)).all() == []
        states = dict(session.execute(select(ActionRow.idempotency_key, ActionRow.state)).all())
        assert states == {"fietsen:5823991001234567891:address:ask": "done",
                          "fietsen:5823991001234567891:address:fix": "cancelled"}  # fmt: skip
        # the compliance body itself is not logged
        assert session.scalars(select(RawEvent.topic).where(RawEvent.topic == "customers/redact")).all() == []


def test_data_request_stores_an_export(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    shop, _ = _seed(sessions, settings, now)
    request = fixture_json("shopify/webhooks/customers_data_request.json")
    request["customer"] = {"id": 7300000000000000123, "email": SANNE["email"], "phone": SANNE["phone"]}
    request["orders_requested"] = [5823991001234567891]
    assert _deliver(sessions, shop, "customers/data_request", request, now, 5) is Outcome.HANDLED
    with sessions() as session:
        (export,) = exports(session, shop.id)
    assert export["request_id"] == "9999"
    assert export["customer"] == {"id": "7300000000000000123", "email": SANNE["email"], "phone": SANNE["phone"]}
    assert [o["external_id"] for o in export["orders"]] == ["5823991001234567891"]
    assert export["orders"][0]["customer"]["first_name"] == "Sanne"
    assert [e["template"] for e in export["emails"]] == ["address_question"]
    assert [i["kind"] for i in export["incidents"]] == ["address"]
    assert export["exported_at"] == now.isoformat()
    # a later erase removes the export as well
    redact = {"customer": {"id": 7300000000000000123, "email": SANNE["email"]}, "orders_to_redact": []}
    _deliver(sessions, shop, "customers/redact", redact, now, 6)
    with sessions() as session:
        assert exports(session, shop.id) == []
        assert session.scalars(select(RawEvent).where(RawEvent.topic == EXPORT_TOPIC)).all() == []


def test_uninstall_drops_credentials_and_pauses(
    sessions: sessionmaker[Session], settings: Settings, now: datetime
) -> None:
    with transaction(sessions) as session:
        sync_config_shops(session, settings, now)
        session.add(ShopRow(id="installed", platform="shopify", key="geinstalleerd.myshopify.com", status="active",
                            source="installed", credentials="sealed", created_at=now, settings={}))  # fmt: skip
    directory = ShopDirectory(settings, sessions, ttl_seconds=0)
    row_shop = Shop(id="installed", platform=directory.get("fietsen").platform, key="geinstalleerd.myshopify.com",  # type: ignore[union-attr]
                    name="x", status="active", timezone="Europe/Amsterdam", locale="nl", country="NL",
                    source="installed")  # fmt: skip
    body = fixture_json("shopify/webhooks/app_uninstalled.json")
    assert _deliver(sessions, row_shop, "app/uninstalled", body, now, 7) is Outcome.HANDLED
    with sessions() as session:
        row = session.get(ShopRow, "installed")
        assert row is not None
        assert (row.status, row.credentials, row.uninstalled_at) == ("uninstalled", None, now)
    assert [s.id for s in directory.all()] == ["fietsen", "theewinkel"]  # no longer active: its jobs pause


def test_shop_redact_deletes_everything(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> None:
    shop, _ = _seed(sessions, settings, now)
    uninstall = fixture_json("shopify/webhooks/app_uninstalled.json")
    assert _deliver(sessions, shop, "app/uninstalled", uninstall, now, 7) is Outcome.HANDLED
    assert _deliver(sessions, shop, "shop/redact", {"shop_id": 1, "shop_domain": DOMAIN}, now, 8) is Outcome.HANDLED
    with sessions() as session:
        assert session.get(ShopRow, "fietsen") is None
        for table in Base.metadata.sorted_tables:
            if "shop_id" in table.c:
                count = session.execute(text(f"select count(*) from {table.name} where shop_id = 'fietsen'")).scalar()
                assert count == 0, table.name
        assert session.scalars(select(ActionAttempt)).all() == []
        assert session.get(ShopRow, "theewinkel") is not None
    assert now.tzinfo is UTC
