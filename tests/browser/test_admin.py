"""The dashboard in headless Chromium, without JavaScript on a phone-sized screen: the shop's admin signs in and
follows an incident that a Shopify sandbox shop caused through the real code path; staff finish a call task and
retry a failed action; and a full-page screenshot of the patterns page over twelve weeks of history."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from connector.store.tables import ActionRow, CallTaskRow
from tests.admin.builders import PASSWORD
from tests.admin.web import load

from .admin_fixtures import AdminSite, admin_site  # noqa: F401  (fixture)
from .sandbox_site import ADMIN, ADMIN_PASSWORD, SandboxSite, sandbox_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
PHONE = {"width": 390, "height": 844}


def _context(chromium: Any, viewport: dict[str, int], javascript: bool) -> Any:
    context = chromium.new_context(viewport=viewport, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context


def _sign_in(page: Any, site: AdminSite | SandboxSite, username: str = "anna", password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/admin/login?lang=en")  # this viewer reads English; the test shops are Dutch
    page.goto(f"{site.url}/admin/")
    assert "/admin/login" in page.url
    page.get_by_label("Name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/admin/")


def test_an_incident_from_the_sandbox_shop(chromium: Any, sandbox_site: SandboxSite) -> None:  # noqa: F811
    site, order_id = sandbox_site, sandbox_site.order["id"]
    # the webhook went over HTTP, the tick opened one incident with four actions, the outbox did all four
    assert site.delivery_status == 200
    assert (site.tick.evaluated, site.tick.incidents_opened, site.tick.actions_planned) == (1, 1, 4)
    assert (site.outbox.done, site.outbox.retried, site.outbox.failed) == (4, 0, 0)
    subject = "Bestelling #1001: wil je je bezorgadres controleren?"

    context = _context(chromium, PHONE, javascript=False)
    page = context.new_page()
    try:
        _sign_in(page, site, ADMIN, ADMIN_PASSWORD)
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Incidents").click()
        assert page.locator("h1 .count").inner_text() == "1"
        rows = page.locator("table.list tbody tr")
        assert rows.count() == 1
        assert [cell.inner_text() for cell in rows.locator("td").all()][1:4] == [
            "#1001",
            "Address incomplete",
            "Open, step 1",
        ]
        rows.get_by_role("link", name="#1001").click()

        assert page.get_by_role("heading", name="Address incomplete: house number missing", exact=True).is_visible()
        timeline = [
            (item.locator(".lane").text_content(), item.locator(".title").text_content())  # as written, not as styled
            for item in page.locator("ol.timeline > li").all()
        ]
        assert timeline == [
            ("we saw", "Order placed"),
            ("we saw", "Problem found: Address incomplete: house number missing"),
            ("we did", "We held the shipment"),
            ("we did", "We tagged the order"),
            ("we did", "We wrote a note on the order"),
            ("we did", "We e-mailed the customer"),
            ("customer got", f"E-mail: “{subject}”"),
        ]
        raw = page.locator("ol.raw-timeline > li").all_text_contents()  # the technical details, folded away
        did = [line.split(" did: ", 1)[1] for line in raw if " did: " in line]
        assert did == [
            f"{kind} (address) — done" for kind in ("hold_fulfillment", "add_tags", "add_note", "notify_customer")
        ]
        shopify = page.get_by_role("link", name="open in Shopify")
        assert shopify.get_attribute("href") == f"https://{site.shop.domain}/admin/orders/{order_id}"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "incident-from-sandbox-phone.png"), full_page=True)
    finally:
        context.close()

    # what the shop and the customer got: our hold, our tag, the staff note, one e-mail
    (hold,) = site.shop.holds(order_id)
    assert (hold["handle"], hold["reason"]) == ("ordercare", "INCORRECT_ADDRESS")
    on_shop = site.shop.order(order_id)
    assert on_shop["tags"] == "ordercare:address"
    assert on_shop["note"].startswith("24 nov 2026 10:00 ordercare: adres klopt niet: huisnummer ontbreekt.")
    assert on_shop["note"].count("ordercare:") == 1
    (email,) = site.mail.received
    assert (email.rcpt_tos, email.message["Subject"]) == (["daan@example.nl"], subject)


def test_daily_work_on_a_phone_without_javascript(chromium: Any, admin_site: AdminSite) -> None:  # noqa: F811
    site, world = admin_site, admin_site.world
    context = _context(chromium, PHONE, javascript=False)
    page = context.new_page()
    try:
        _sign_in(page, site)
        assert page.get_by_role("heading", name="Today", exact=True).is_visible()

        page.get_by_role("link", name="Parcel delayed").click()
        page.get_by_role("link", name="#5501").click()
        assert page.get_by_role("heading", name="Parcel delayed", exact=True).is_visible()
        assert page.get_by_text("Code has already been taken (discountCodeBasicCreate userErrors)").first.is_visible()
        shopify = page.get_by_role("link", name="open in Shopify")
        assert shopify.get_attribute("href") == "https://fietsen-test.myshopify.com/admin/orders/5501"

        page.get_by_role("link", name="Today").click()
        task = page.locator(f"#call-task-{world.task_a.id}")
        task.get_by_label("Who calls").fill("Sanne")
        task.get_by_role("button", name="Assign").click()
        assert page.get_by_text(f"Call task {world.task_a.id} is assigned to Sanne.").is_visible()
        task = page.locator(f"#call-task-{world.task_a.id}")
        task.get_by_label("Outcome").select_option("happy")
        task.get_by_role("button", name="Done").click()
        assert page.get_by_text(f"Call task {world.task_a.id} is done: called, customer happy.").is_visible()
        assert page.locator(f"#call-task-{world.task_a.id}").count() == 0
        done = load(site.services, CallTaskRow, world.task_a.id)
        assert (done.state, done.assigned_to, done.outcome) == ("done", "Sanne", "called, customer happy")

        page.locator(f"#action-{world.failed_a.id}").get_by_role("button", name="Retry").click()
        assert page.get_by_text(f"Action {world.failed_a.id} will be tried again.").is_visible()
        assert page.locator(f"#action-{world.failed_a.id}").count() == 0
        retried = load(site.services, ActionRow, world.failed_a.id)
        assert (retried.state, retried.last_error) == ("pending", None)

        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "today-phone.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()
        assert page.get_by_text("You are signed out.").is_visible()
    finally:
        context.close()


def test_pages_fit_a_phone_screen(chromium: Any, admin_site: AdminSite) -> None:  # noqa: F811
    context = _context(chromium, PHONE, javascript=True)  # JavaScript only to measure the pages
    page = context.new_page()
    try:
        _sign_in(page, admin_site)
        world = admin_site.world
        paths = ["/admin/", "/admin/incidents", "/admin/patterns", f"/admin/orders/{world.order_a.id}"]
        paths.append(f"/admin/incidents/{world.incident_a.id}")
        for path in paths:
            page.goto(admin_site.url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    finally:
        context.close()


def test_patterns_page_screenshot(chromium: Any, admin_site: AdminSite) -> None:  # noqa: F811
    OUTPUT.mkdir(exist_ok=True)
    context = _context(chromium, {"width": 1280, "height": 900}, javascript=False)
    page = context.new_page()
    try:
        _sign_in(page, admin_site, "anna")
        page.get_by_role("link", name="Patterns").click()
        assert page.get_by_text("were a missing street name").is_visible()
        page.wait_for_load_state("networkidle")
        widths = [img.bounding_box()["width"] for img in page.locator("img.chart").all()]
        assert len(widths) == 3
        assert min(widths) > 300
        shot = OUTPUT / "patterns.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("ORDERCARE_UPDATE_DOCS") == "1":
            shutil.copy(shot, ROOT / "docs" / "patterns.png")
        phone = _context(chromium, PHONE, javascript=False)
        try:
            small = phone.new_page()
            _sign_in(small, admin_site, "anna")
            small.goto(f"{admin_site.url}/admin/patterns")
            small.screenshot(path=str(OUTPUT / "patterns-phone.png"), full_page=True)
        finally:
            phone.close()
    finally:
        context.close()
