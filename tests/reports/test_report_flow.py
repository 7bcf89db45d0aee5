"""A customer's report end to end over HTTP against the sandbox shops: the page, the answer at once with its
promise, the staff task, the replacement staff confirm with one click, the voucher, and "not received"."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from connector.store.tables import ActionRow, CallTaskRow, IncidentRow, ProblemReport, PromiseRow, VoucherRow
from tests.admin.builders import account
from tests.admin.web import post, sign_in
from tests.reports.conftest import World
from tests.reports.web import PNG, send

VARIANT = "44000000000000001"


def _delivered_shopify_order(world: World) -> str:
    world.shop.stock.add_variant(VARIANT, product_id=8800000000000000001, display_name="Fietsbel messing",
                                 sku="BEL-MS", available=5, price="12.50")  # fmt: skip
    order = world.shop.create_order()
    line = order["line_items"][0]
    world.shop.update_order(order["id"], line_items=[{**line, "variant_id": int(VARIANT)}])
    world.shop.fulfil(order["id"], shipment_status="delivered")
    return str(order["id"])


def _actions(world: World) -> dict[str, str]:
    with world.services.sessions() as session:
        return {
            row.kind: row.state for row in session.scalars(select(ActionRow).where(ActionRow.policy == "order_problem"))
        }


def test_a_damaged_item_gets_an_answer_a_task_and_a_replacement_staff_confirm(world: World) -> None:
    # given a delivered Shopify order ordercare knows
    external_id = _delivered_shopify_order(world)
    world.run()
    before = world.counts()

    # when the customer reports from the link in an e-mail, with a photo
    response = send(world.client, world.token("fietsen", external_id), cause="damaged", text="Deuk in de bel",
                    photo=(PNG, "bel.png"))  # fmt: skip

    # then the report is stored (nothing decided or sent yet) and the page thanks the customer in Dutch
    assert response.status_code == 200
    assert "Dank je wel, we hebben je melding" in response.get_data(as_text=True)
    with world.services.sessions() as session:
        report = session.scalars(select(ProblemReport)).one()
        assert (report.cause, report.channel, report.text, report.photo_type) == (
            "damaged", "email", "Deuk in de bel", "image/png",
        )  # fmt: skip
        assert report.lines[0]["title"] == "Fietsbel messing"
    assert world.counts() == {**before, "reports": 1}

    # when the next round runs
    world.tick()

    # then the incident is open, staff have a call task, the replacement waits for them, the customer got the answer
    with world.services.sessions() as session:
        incident = session.scalars(select(IncidentRow).where(IncidentRow.kind == "report_damaged")).one()
        assert incident.state == "open"
        assert incident.details["replacement"] == {"state": "proposed"}
        task = session.scalars(select(CallTaskRow)).one()
        assert task.reason.startswith("klant meldt: artikel beschadigd: 2× Fietsbel messing.")
        promise = session.scalars(select(PromiseRow)).one()
        assert (promise.kind, promise.promised_on, promise.awaits, promise.ended) == (
            "hear_from_us_by", date(2026, 11, 27), "answered", "open",
        )  # fmt: skip
    assert _actions(world) == {"create_call_task": "done", "add_tags": "done", "create_replacement": "proposed",
                               "notify_customer": "done", "add_note": "done"}  # fmt: skip
    answer = world.smtp.received[-1].message
    assert answer["Subject"] == "Je bestelling #1001: we lossen het op"
    text = world.smtp.received[-1].body("plain")
    assert (
        "We maken een vervanging voor je klaar, zonder kosten. Je hoort uiterlijk vrijdag 27 november van ons" in text
    )
    assert world.shop.drafts.all() == []  # nothing in the shop until staff confirm

    # when staff confirm the replacement on the dashboard with one click
    with world.services.sessions() as session, session.begin():
        account(session, "lotte", ["fietsen"], world.clock())
    assert sign_in(world.client, "lotte").status_code == 302
    with world.services.sessions() as session:
        action_id = session.scalar(select(ActionRow.id).where(ActionRow.kind == "create_replacement"))
    page = world.client.get(f"/admin/incidents/{incident.id}")
    assert f'action="/admin/replacements/{action_id}/confirm' in page.get_data(as_text=True)
    assert post(world.client, f"/admin/replacements/{action_id}/confirm").status_code == 302
    world.clock.advance(timedelta(minutes=5))
    world.tick()

    # then the shop has a completed draft order at no cost, the customer hears it comes with a voucher, and the
    # promise is met
    [draft] = world.shop.drafts.all()
    assert draft["status"] == "COMPLETED"
    assert sum(Decimal(line["total"]) for line in draft["lines"]) == 0
    replacement = world.shop.order(draft["order_id"])
    assert replacement["total_price"] == "0.00"
    assert [li["title"] for li in replacement["line_items"]] == ["Fietsbel messing"]
    assert "ordercare:replacement" in replacement["tags"]
    sent = world.smtp.received[-1]
    assert sent.message["Subject"] == "We sturen je een vervanging voor bestelling #1001"
    with world.services.sessions() as session:
        code = session.scalar(select(VoucherRow.code))
        assert code is not None
        assert code in sent.body("plain")
        assert session.scalar(select(PromiseRow.ended)) == "met"
        assert session.scalar(select(IncidentRow.state).where(IncidentRow.id == incident.id)) == "resolved"

    # and a second click changes nothing
    post(world.client, f"/admin/replacements/{action_id}/confirm")
    world.tick()
    assert len(world.shop.drafts.all()) == 1


def test_a_wrong_item_on_woocommerce_gets_a_zero_total_order_linked_to_the_original(world: World) -> None:
    world.woo.catalog.add(300, "Rooibos Vanille 250 g", price="6.88")  # the sandbox's order lines name 300, 301
    world.woo.catalog.add(301, "Earl Grey 100 g", price="4.50")
    woo_order = world.woo.create_order(status="completed", items=(("Rooibos Vanille 250 g", 1, "6.88"),
                                                                   ("Earl Grey 100 g", 1, "4.50")))  # fmt: skip
    world.run()
    lines = world.woo.order(woo_order["id"])["line_items"]

    response = send(world.client, world.token("theewinkel", str(woo_order["id"])), cause="wrong_item",
                    line=[str(lines[1]["id"])])  # fmt: skip
    assert response.status_code == 200
    world.tick()
    with world.services.sessions() as session:
        action_id = session.scalar(select(ActionRow.id).where(ActionRow.kind == "create_replacement"))
    with world.services.sessions() as session, session.begin():
        account(session, "bram", ["theewinkel"], world.clock())
    sign_in(world.client, "bram")
    assert post(world.client, f"/admin/replacements/{action_id}/confirm").status_code == 302
    world.tick()

    made = [o for o in world.woo.orders.values() if o["created_via"] == "ordercare"]
    assert len(made) == 1
    assert made[0]["total"] == "0.00"
    assert [item["name"] for item in made[0]["line_items"]] == ["Earl Grey 100 g"]
    meta = {m["key"]: m["value"] for m in made[0]["meta_data"]}
    assert meta["_ordercare_replacement_of"] == str(woo_order["id"])
    assert any("replacement order" in note["note"] for note in world.woo.order_notes(woo_order["id"]))


def test_not_received_with_a_delivery_scan_gets_a_careful_message_and_staff_a_task(world: World) -> None:
    external_id = _delivered_shopify_order(world)
    world.run()
    before = world.counts()
    send(world.client, world.token("fietsen", external_id), cause="not_received")
    world.tick()

    text = world.smtp.received[-1].body("plain")
    assert "heeft het als bezorgd geregistreerd" in text
    assert "Het spijt ons" not in text  # no apology that accepts the loss
    assert _actions(world) == {"create_call_task": "done", "add_tags": "done", "notify_customer": "done",
                               "add_note": "done"}  # fmt: skip
    with world.services.sessions() as session:
        assert session.scalar(select(VoucherRow.id)) is None
        assert session.scalars(select(CallTaskRow)).one().reason.startswith("klant meldt: pakket niet ontvangen.")
    assert world.counts()["smtp"] == before["smtp"] + 1


def test_not_received_without_carrier_data_tells_staff_only(world: World) -> None:
    order = world.shop.create_order()  # paid, not shipped: no carrier knows the parcel
    world.run()
    before = world.counts()
    send(world.client, world.token("fietsen", str(order["id"])), cause="not_received")
    world.tick()

    assert world.counts()["smtp"] == before["smtp"]  # nothing to the customer
    assert _actions(world) == {"create_call_task": "done", "add_tags": "done", "add_note": "done"}
    with world.services.sessions() as session:
        incident = session.scalars(select(IncidentRow).where(IncidentRow.kind == "report_not_received")).one()
        assert (incident.details["staff_only"], incident.details["told_customer"]) == ("no_carrier_data", False)


def test_an_unpaid_order_tells_staff_only_and_prepares_no_replacement(world: World) -> None:
    order = world.shop.create_order(financial_status="pending")
    world.run()
    before = world.counts()
    send(world.client, world.token("fietsen", str(order["id"])), cause="damaged")
    world.tick()

    assert world.counts()["smtp"] == before["smtp"]
    assert _actions(world) == {"create_call_task": "done", "add_tags": "done", "add_note": "done"}
