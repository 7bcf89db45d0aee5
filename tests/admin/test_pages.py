"""Today, incidents, timeline and orders through the test client, on the two-shop world."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, CallTaskRow, CustomerContact

from . import scenario
from .web import load, post, rows, sign_in


@pytest.fixture
def world(session: Session, now: datetime) -> scenario.World:
    return scenario.build(session, now)


def text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_today_shows_the_days_work(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    page = text(client, "/admin/")
    assert 'Open incidents <span class="count">1</span>' in page
    assert "shipment_delay" in page
    assert f'id="call-task-{world.task_a.id}"' in page
    assert "Pakket ligt al 3 dagen stil" in page
    assert "later: not due today" not in page
    assert "Code has already been taken (discountCodeBasicCreate userErrors)" in page
    assert "€12.50 of €250.00 (5%)" in page


def test_today_csv(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    response = client.get("/admin/?format=csv&table=failed_actions")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "id,shop,order,kind,attempts,error,failed_at"
    assert lines[1].startswith(f"{world.failed_a.id},fietsen,#5501,create_voucher,2,Code has already been taken")
    assert len(lines) == 2
    assert client.get("/admin/?format=csv&table=nope").status_code == 404


def test_assign_and_complete_a_call_task(client: FlaskClient, world: scenario.World, services: Services) -> None:
    sign_in(client, "anna")
    task_id = world.task_a.id
    assigned = post(client, f"/admin/call-tasks/{task_id}/assign", assigned_to="Sanne")
    assert assigned.status_code == 302
    done = post(client, f"/admin/call-tasks/{task_id}/done", outcome="happy", outcome_text="krijgt morgen")
    assert done.status_code == 302
    task = load(services, CallTaskRow, task_id)
    assert (task.state, task.assigned_to, task.outcome) == ("done", "Sanne", "called, customer happy: krijgt morgen")
    assert task.done_at is not None
    assert f'id="call-task-{task_id}"' not in text(client, "/admin/")


@pytest.mark.parametrize(
    ("form", "outcome"),
    [
        ({"outcome": "no_answer", "retry_at": "2026-11-24T14:00"}, "no answer; call again Tue 24 Nov 14:00"),
        ({"outcome": "other", "outcome_text": "belt zelf terug"}, "belt zelf terug"),
    ],
)
def test_call_task_outcomes(
    client: FlaskClient, world: scenario.World, services: Services, form: dict[str, str], outcome: str
) -> None:
    sign_in(client, "anna")
    assert post(client, f"/admin/call-tasks/{world.task_a.id}/done", **form).status_code == 302
    task = load(services, CallTaskRow, world.task_a.id)
    assert (task.outcome, task.assigned_to) == (outcome, "anna")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"outcome": "other"}, "outcome_text"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "other", "outcome_text": "x" * 1001}, "outcome_text"),
    ],
)
def test_bad_call_task_outcome_is_refused_and_changes_nothing(
    client: FlaskClient, world: scenario.World, services: Services, form: dict[str, str], field: str
) -> None:
    sign_in(client, "anna")
    response = post(client, f"/admin/call-tasks/{world.task_a.id}/done", **form)
    assert response.status_code == 400
    assert f"{field}:" in response.get_data(as_text=True)
    task = load(services, CallTaskRow, world.task_a.id)
    assert (task.state, task.outcome) == ("open", None)


def test_retry_puts_a_failed_action_back_in_the_queue(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    sign_in(client, "anna")
    response = post(client, f"/admin/actions/{world.failed_a.id}/retry")
    assert response.status_code == 302
    action = load(services, ActionRow, world.failed_a.id)
    assert (action.state, action.last_error, action.next_attempt_at) == ("pending", None, now)
    assert "will be tried again" in text(client, "/admin/")
    post(client, f"/admin/actions/{world.done_a.id}/retry")
    assert f"Action {world.done_a.id} is done, not failed." in text(client, "/admin/")


def test_a_failed_action_names_what_waits_on_it_and_its_retry_re_arms_them(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    failed = world.failed_a
    with transaction(services.sessions) as session:
        session.add(
            ActionRow(
                shop_id=failed.shop_id, order_id=failed.order_id, incident_id=failed.incident_id, policy=failed.policy,
                kind="notify_customer", idempotency_key=failed.idempotency_key + "-notify", payload={},
                after_key=failed.idempotency_key, state="cancelled", attempts=0, next_attempt_at=now, created_at=now,
                last_error="not performed: it waits for the create voucher, which failed",
                result={"cancelled_after": failed.idempotency_key}, done_at=now,
            )
        )  # fmt: skip
    sign_in(client, "anna")
    assert "Not done because this failed: e-mail the customer. Retry carries them out too." in text(client, "/admin/")

    assert post(client, f"/admin/actions/{failed.id}/retry").status_code == 302

    with services.sessions() as session:
        got = session.execute(
            select(ActionRow.kind, ActionRow.state, ActionRow.last_error).where(ActionRow.order_id == failed.order_id)
        ).all()
    assert sorted(got) == [
        ("add_tags", "done", None), ("create_voucher", "pending", None), ("notify_customer", "done", None),
        ("notify_customer", "pending", None),
    ]  # fmt: skip
    assert "Not done because this failed" not in text(client, "/admin/")


def test_one_shops_admin_never_reaches_another_shops_rows(
    client: FlaskClient, world: scenario.World, services: Services
) -> None:
    sign_in(client, "anna")
    for path in (f"/admin/incidents/{world.incident_b.id}", f"/admin/orders/{world.order_b.id}"):
        assert client.get(path).status_code == 404, path
        assert client.get(path + "?format=csv").status_code == 404, path
    assert post(client, f"/admin/actions/{world.failed_b.id}/retry").status_code == 404
    assert post(client, f"/admin/call-tasks/{world.task_b.id}/done", outcome="happy").status_code == 404
    assert post(client, f"/admin/call-tasks/{world.task_b.id}/assign", assigned_to="x").status_code == 404
    assert post(client, "/admin/contacts", order_id=str(world.order_b.id), kind="complaint").status_code == 404
    assert post(client, "/admin/contacts", order_number="7707", kind="complaint").status_code == 400
    failed_b = load(services, ActionRow, world.failed_b.id)
    task_b = load(services, CallTaskRow, world.task_b.id)
    assert (failed_b.state, task_b.state, task_b.assigned_to) == ("failed", "open", None)
    assert len(rows(services, select(CustomerContact))) == 1  # only B's own, from the scenario

    pages = ["/admin/", "/admin/incidents", "/admin/patterns", "/admin/incidents?state=unresolved"]
    tables = ["open_incidents", "call_tasks", "failed_actions", "vouchers_today"]
    pages += [f"/admin/?format=csv&table={t}" for t in tables]
    pages += ["/admin/incidents?format=csv"]
    pattern_tables = [
        "incidents_per_week", "by_carrier", "by_shipping_method", "by_product", "by_warehouse_step",
        "by_address_problem", "on_time_by_carrier", "on_time_by_shipping_method", "voucher_spend", "contacts",
        "contact_summary",
    ]  # fmt: skip
    pages += [f"/admin/patterns?format=csv&table={t}" for t in pattern_tables]
    for path in pages:
        body = text(client, path)
        for marker in ("B-ONLY", "7707", "theewinkel", "DPD", "on-hold", "99.00"):
            assert marker not in body, (path, marker)
    summary = text(client, "/admin/patterns?format=csv&table=contact_summary").splitlines()
    assert summary[1] == "2,0,0,0"  # anna's two orders, no contacts (B's contact is not hers)


def test_multi_shop_owner_sees_both_shops(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "owner")
    assert client.get(f"/admin/incidents/{world.incident_b.id}").status_code == 200
    assert client.get(f"/admin/incidents/{world.incident_a.id}").status_code == 200
    page = text(client, "/admin/")
    assert "B-ONLY call" in page
    assert "Pakket ligt al 3 dagen stil" in page
    assert "€99.00 of €250.00 (40%)" in page


def test_incident_timeline(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "anna")
    page = text(client, f"/admin/incidents/{world.incident_a.id}")
    assert 'href="https://fietsen-test.myshopify.com/admin/orders/5501"' in page
    for seen in ("orders/create (applied)", "fulfillments/create (applied)", "orders/updated (stale)"):
        assert seen in page
    assert "incident shipment_delay opened" in page
    assert "attempt 1" in page
    assert "THROTTLED" in page
    assert "e-mail: Over je bestelling #5501" in page
    assert "voucher SORRY-5501 12.50 EUR" in page
    csv_lines = text(client, f"/admin/incidents/{world.incident_a.id}?format=csv&table=timeline").splitlines()
    assert csv_lines[0] == "at,lane,what,detail"
    lanes = [line.split(",")[1] for line in csv_lines[1:]]
    # the three deliveries, the incident, the note and tag, the e-mail, the failed voucher, the call task due
    # today, the voucher, and a call task for the order that is due later
    assert lanes == ["saw", "saw", "saw", "saw", "did", "did", "customer", "did", "staff", "customer", "staff"]

    resolved = text(client, f"/admin/incidents/{world.resolved_a.id}")
    assert "incident address resolved" in resolved
    assert "address corrected by customer" in resolved


def test_woocommerce_order_links_to_the_wordpress_admin(client: FlaskClient, world: scenario.World) -> None:
    sign_in(client, "bert")
    page = text(client, f"/admin/orders/{world.order_b.id}")
    assert 'href="https://theewinkel.example.nl/wp-admin/post.php?post=7707&amp;action=edit"' in page


def test_incident_list_filters_and_pages(client: FlaskClient, world: scenario.World, app: object) -> None:
    sign_in(client, "owner")

    def numbers(query: str) -> list[str]:
        lines = text(client, f"/admin/incidents?format=csv&{query}").splitlines()[1:]
        return sorted(line.split(",")[2] for line in lines)

    assert numbers("") == ["#5501", "#5502", "#7707"]
    assert numbers("kind=address") == ["#5502"]
    assert numbers("state=unresolved") == ["#5501", "#7707"]
    assert numbers("state=escalated") == ["#5501"]
    assert numbers("method=Standaard") == ["#5502"]
    assert numbers("carrier=PostNL") == ["#5501"]
    assert numbers("country=be") == ["#5502"]
    assert numbers("from=2026-11-22&to=2026-11-22") == ["#5501"]  # opened 22 Nov local
    assert numbers("to=2026-11-21") == ["#5502", "#7707"]
    assert client.get("/admin/incidents?state=sleeping").status_code == 400
    bad = client.get("/admin/incidents?from=22-11-2026")
    assert bad.status_code == 400
    assert "from: &#39;22-11-2026&#39; is not a date" in bad.get_data(as_text=True)

    app.config["ORDERCARE_ADMIN_PAGE_SIZE"] = 2  # type: ignore[attr-defined]
    # newest first; #7707 and #5502 opened at the same instant, the later row first
    first = text(client, "/admin/incidents?kind=&carrier=")
    assert "page 1 of 2" in first
    assert "#5501" in first
    assert "#7707" in first
    assert "#5502" not in first
    assert 'href="/admin/incidents?page=2"' in first
    second = text(client, "/admin/incidents?page=2")
    assert "page 2 of 2" in second
    assert "#5502" in second
    assert "#5501" not in second
    assert "#7707" not in second
    assert client.get("/admin/incidents?page=0").status_code == 400


def test_record_a_contact_by_number_and_on_the_order_page(
    client: FlaskClient, world: scenario.World, services: Services, now: datetime
) -> None:
    sign_in(client, "anna")
    assert post(client, "/admin/contacts", order_number="5501", kind="where_is_my_order").status_code == 302
    page = f"/admin/orders/{world.order_a.id}"
    on_page = post(client, "/admin/contacts", order_id=str(world.order_a.id), kind="complaint", next=page)
    assert on_page.headers["Location"] == page
    mine = select(CustomerContact).where(CustomerContact.shop_id == "fietsen").order_by(CustomerContact.id)
    assert [(r.order_id, r.kind, r.noted_at, r.source) for r in rows(services, mine)] == [
        (world.order_a.id, "where_is_my_order", now, "dashboard"),
        (world.order_a.id, "complaint", now, "dashboard"),
    ]
    bad = post(client, "/admin/contacts", order_number="5501", kind="praise")
    assert bad.status_code == 400
    assert "kind: choose one of" in bad.get_data(as_text=True)
    missing = post(client, "/admin/contacts", order_number="9999", kind="other")
    assert missing.status_code == 400
    assert "order_number: no order" in missing.get_data(as_text=True)
    assert len(rows(services, mine)) == 2
    summary = text(client, "/admin/patterns?format=csv&table=contact_summary").splitlines()
    assert summary[1] == "2,2,100,2"  # both after the delay e-mail
