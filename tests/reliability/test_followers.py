"""An address update refused for good, against the Shopify sandbox shop: our hold stays on, the release and the note
that follow it are cancelled with the reason in words, and a retry after the fix carries them out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from connector import codec
from connector.actions import ActionKind, PlannedAction
from connector.config import load_settings
from connector.model import Address
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain, plan, retry_failed
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow
from tests.reliability.support import Clock
from tests.reliability.world import world

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def corrected(country_code: str) -> Address:
    return Address(
        first_name="Sanne", last_name="de Vries", address1="Hoofdstraat 12 a", postcode="1234 AB",
        city="Amsterdam", country_code=country_code, street="Hoofdstraat", house_number="12",
        house_number_addition="a",
    )  # fmt: skip


def test_a_refused_address_update_keeps_our_hold_at_the_shop(db_url: str, engine: Engine, tmp_path: Path) -> None:
    with world(1) as w:
        config = w.write_config(tmp_path / "ordercare.yaml", db_url)
        services = Services.build(load_settings(config), engine=engine, clock=Clock(NOW))
        order = w.shopify_orders[0]
        address_before = dict(w.shop.order(order)["shipping_address"])
        with transaction(services.sessions) as session:
            for action in (
                PlannedAction(ActionKind.HOLD_FULFILLMENT, "address", "1-hold", {"reason": "incorrect_address"}),
            ):
                plan(session, shop_id="fietsen", order_id=None, order_external_id=order, action=action, now=NOW)
        env = OutboxEnv(services)
        assert drain(env).done == 1
        assert len(w.shop.holds(order)) == 1
        with transaction(services.sessions) as session:
            for action in (
                # an address that cannot be sent: it has no country
                PlannedAction(ActionKind.UPDATE_ADDRESS, "address", "fix-address",
                              {"address": codec.dump(corrected(""))}),
                PlannedAction(ActionKind.RELEASE_HOLD, "address", "fix-release", {}, after_step="fix-address"),
                PlannedAction(ActionKind.ADD_NOTE, "address", "fix-note", {"text": "Adres gecorrigeerd."},
                              after_step="fix-release"),
            ):  # fmt: skip
                plan(session, shop_id="fietsen", order_id=None, order_external_id=order, action=action, now=NOW)

        report = drain(env)

        assert (report.done, report.retried, report.failed) == (0, 0, 1)
        assert len(w.shop.holds(order)) == 1  # the warehouse still cannot ship to the old address
        assert w.shop.order(order)["shipping_address"] == address_before
        assert "Adres gecorrigeerd." not in str(w.shop.order(order).get("note") or "")
        with services.sessions() as session:
            rows = {r.kind: r for r in session.scalars(select(ActionRow))}
        refusal = "payload.address: needs address1 (or street) and country_code"
        assert (rows["update_address"].state, rows["update_address"].last_error) == ("failed", refusal)
        assert (rows["release_hold"].state, rows["release_hold"].last_error) == (
            "cancelled",
            f"not performed: it waits for the update address, which failed ({refusal})",
        )
        assert (rows["add_note"].state, rows["add_note"].last_error) == (
            "cancelled",
            "not performed: it waits for the release hold, which was cancelled",
        )

        # staff correct the address the shop refused and retry: the release and the note follow
        with transaction(services.sessions) as session:
            row = session.get(ActionRow, rows["update_address"].id)
            assert row is not None
            row.payload = {"address": codec.dump(corrected("NL"))}
            assert retry_failed(session, row.id, NOW) is True
        report = drain(env)
        env.close()

        assert (report.done, report.retried, report.failed) == (3, 0, 0)
        assert w.shop.holds(order) == []
        assert w.shop.order(order)["shipping_address"]["address1"] == "Hoofdstraat 12 a"
        assert str(w.shop.order(order).get("note") or "").count("Adres gecorrigeerd.") == 1
