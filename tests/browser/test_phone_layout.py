"""The dashboard on a 390 px phone in Dutch: the state column stays on screen, touch targets are big enough,
charts keep their size, and a sent message opens with its HTML in a sandboxed frame where no script runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.store.db import transaction
from connector.store.tables import EmailLog, SentMessage
from tests.admin.builders import PASSWORD

from .admin_fixtures import AdminSite, admin_site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PHONE = {"width": 390, "height": 844}
TOUCH = 44  # px: the smallest target a finger hits reliably
# a body as a merchant's own template could make it: markup that would run if it were not sandboxed
HTML_BODY = (
    '<!DOCTYPE html><html lang="nl"><body><p id="hello" style="color:#222">Hoi Jan, je pakket komt later.</p>'
    "<script>document.body.insertAdjacentHTML('beforeend', '<p id=ran>ran</p>');"
    "parent.document.title = 'pwned';</script></body></html>"
)


def _message(site: AdminSite) -> int:
    """The world's e-mail on order #5501, with what it said stored as the outbox stores it."""
    with transaction(site.services.sessions) as session:
        log = session.scalars(select(EmailLog).where(EmailLog.order_id == site.world.order_a.id)).first()
        assert log is not None
        session.add(
            SentMessage(
                email_log_id=log.id, shop_id=log.shop_id, channel="email", locale="nl", subject=log.subject,
                text_body="Hoi Jan,\n\nJe pakket komt later.\n", html_body=HTML_BODY, sent_at=log.sent_at,
            )
        )  # fmt: skip
        return log.id


def _sign_in(page: Any, site: AdminSite) -> None:
    page.goto(f"{site.url}/admin/login?lang=nl")
    page.locator("input[name=username]").fill("anna")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{site.url}/admin/")


def _on_screen(page: Any, selector: str) -> None:
    """Every element matching ``selector`` is visible and lies within the phone's width."""
    found = page.locator(selector)
    assert found.count() > 0, selector
    for element in found.all():
        assert element.is_visible(), selector
        box = element.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= PHONE["width"] + 0.5, (selector, box)


def _touch_targets(page: Any) -> None:
    """Buttons, fields and the navigation are at least ``TOUCH`` px high."""
    small = page.evaluate(
        """(least) => [...document.querySelectorAll(
            'button, select, input:not([type=hidden]), .top nav a, .languages a, table.reflow td a, a.tel')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
            .filter(([_, h]) => h < least)""",
        TOUCH,
    )
    assert small == []


def _fits(page: Any, path: str) -> None:
    assert page.evaluate("document.documentElement.lang") == "nl", path
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    _touch_targets(page)


def test_the_dashboard_on_a_phone_in_dutch(chromium: Any, admin_site: AdminSite) -> None:  # noqa: F811
    site, world = admin_site, admin_site.world
    message_id = _message(site)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=True)  # JavaScript only to measure
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        _sign_in(page, site)
        OUTPUT.mkdir(exist_ok=True)

        page.goto(f"{site.url}/admin/orders")
        _fits(page, "orders")
        _on_screen(page, "table.list tbody td.incident-state")  # the state column, every row
        _on_screen(page, "table.list tbody td.order-state")
        assert page.locator(f"#order-{world.order_a.id} td.incident-state").inner_text() == (
            page.locator(f"#order-{world.order_a.id} td.incident-state a").first.inner_text()
        )
        page.screenshot(path=str(OUTPUT / "orders-phone-nl.png"), full_page=True)

        page.goto(f"{site.url}/admin/incidents")
        _fits(page, "incidents")
        _on_screen(page, "table.list tbody td.incident-state")

        page.goto(f"{site.url}/admin/incidents/{world.incident_a.id}")
        _fits(page, "incident")
        _on_screen(page, ".facts .state")
        _on_screen(page, "a.message-link")
        page.screenshot(path=str(OUTPUT / "incident-phone-nl.png"), full_page=True)

        page.goto(f"{site.url}/admin/")
        _fits(page, "today")
        card = f"#call-task-{world.task_a.id}"
        _on_screen(page, card)
        _on_screen(page, f"{card} select[name=outcome]")
        _on_screen(page, f"{card} .outcome button[type=submit]")
        page.screenshot(path=str(OUTPUT / "call-task-phone-nl.png"), full_page=True)

        page.locator(f"{card} a.message-link").click()  # what the customer was last told, as they got it
        page.wait_for_url(f"{site.url}/admin/messages/{message_id}")
        _fits(page, "message")
        _on_screen(page, "h1.message-subject")
        _on_screen(page, "iframe.message-frame")
        _on_screen(page, "pre.message-text")
        frame = page.frame_locator("iframe.message-frame")
        assert frame.locator("#hello").inner_text() == "Hoi Jan, je pakket komt later."
        assert frame.locator("#ran").count() == 0  # the body's script did not run
        assert page.title() != "pwned"
        assert page.locator("iframe.message-frame").get_attribute("sandbox") == ""
        page.screenshot(path=str(OUTPUT / "message-phone-nl.png"), full_page=True)

        page.goto(f"{site.url}/admin/patterns")
        _fits(page, "patterns")
        widths = [img.bounding_box()["width"] for img in page.locator("img.chart").all()]
        assert len(widths) == 3
        assert min(widths) >= 600  # labels at a readable size; the card scrolls sideways
    finally:
        context.close()
