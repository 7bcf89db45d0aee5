"""The tracking page in a real browser: on a phone without JavaScript, and fitting 390 and 1280 px wide screens.

Screenshots of each state go to ``test-output/`` (``track-<state>-<lang>-<width>.png``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.server import BackgroundServer
from connector.services import Services
from connector.tracking import links
from tests.notify.conftest import clock, services, smtp  # noqa: F401  (fixtures)
from tests.notify.support import Clock
from tests.tracking import stored
from tests.tracking.support import NOW, delivered, held_for_address, late, placed

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-0123456789abcdef"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
WIDTHS = (390, 1280)


def path(external_id: str) -> str:
    return f"/track/{links.token_for(SECRET, 'fietsen', external_id)}"


@pytest.fixture
def site(services: Services, clock: Clock) -> Iterator[str]:  # noqa: F811
    """The four states of the demo's orders, served: placed, held for address, late with a promise, delivered."""
    from webhooks import create_app

    clock.now = NOW
    stored.put(services, placed())
    held = stored.put(services, held_for_address().with_changes(external_id="1002", number="#1002"))
    incident = stored.incident(services, held, "address", {"problems": ["missing_house_number"], "held": True})
    stored.told(services, held, incident, "address_question")
    stored.fix_token(services, held, incident)
    slow = stored.put(services, late().with_changes(external_id="1003", number="#1003"))
    incident = stored.incident(services, slow, "shipment_delay", {"reason": "no_scan", "level": 1})
    stored.told(services, slow, incident)
    stored.promised(services, slow, date(2026, 11, 30))
    stored.put(services, delivered().with_changes(external_id="1004", number="#1004"))
    with BackgroundServer(create_app(services)) as server:
        yield server.url


STATES = {"placed": "1001", "held": "1002", "late": "1003", "delivered": "1004"}


def test_a_customer_on_a_phone_without_javascript(page: Any, site: str) -> None:
    page.goto(site + path("1003"))
    assert page.locator("h1").inner_text() == "Bestelling #1003"
    assert page.locator("#headline").inner_text() == "Je bestelling is onderweg."
    assert page.locator("#promise").inner_text() == (
        "Wanneer het aankomt\nDe nieuwe verwachte bezorgdatum is maandag 30 november."
    )
    assert page.locator(".timeline li").count() == 3
    page.get_by_role("link", name="English").click()
    assert page.locator("#headline").inner_text() == "Your order is on its way."

    page.goto(site + path("1002"))
    fix = page.get_by_role("link", name="Mijn adres verbeteren").get_attribute("href")
    assert fix is not None
    assert fix.startswith("http://127.0.0.1:8000/fix/")  # the service's public address
    page.goto(site + fix.removeprefix("http://127.0.0.1:8000"))
    assert page.locator("h1").inner_text() == "Verbeter je bezorgadres"

    page.goto(site + "/track/lookup/fietsen?order=%231004")  # the browser asks for English
    assert page.get_by_label("Order number").input_value() == "#1004"
    page.get_by_label("Postcode or e-mail address").fill("1234ab")
    page.get_by_role("button", name="Show my order").click()  # the order's page speaks the order's language
    assert page.locator("#headline").inner_text() == "Je bestelling is bezorgd op woensdag 25 november."


@pytest.mark.parametrize("width", WIDTHS)
def test_every_state_fits_the_screen(chromium: Any, site: str, width: int) -> None:
    context = chromium.new_context(viewport={"width": width, "height": 844}, java_script_enabled=True)
    context.set_default_timeout(10_000)  # JavaScript only to measure the pages
    shown = context.new_page()
    OUTPUT.mkdir(exist_ok=True)
    try:
        for state, external_id in STATES.items():
            for lang in ("nl", "en"):
                shown.goto(f"{site}{path(external_id)}?lang={lang}")
                assert shown.evaluate("document.documentElement.scrollWidth") <= width, (state, lang)
                shown.screenshot(path=str(OUTPUT / f"track-{state}-{lang}-{width}.png"), full_page=True)
        for extra in ("/track/lookup/fietsen", "/track/nonsense"):
            shown.goto(site + extra)
            assert shown.evaluate("document.documentElement.scrollWidth") <= width, extra
    finally:
        context.close()
