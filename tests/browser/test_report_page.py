"""The report page in a real browser: a customer on a 390 px phone without JavaScript goes from the tracking page
to "report a problem", picks what is wrong, adds a photo and sends it; the page fits the screen.

A screenshot goes to ``test-output/report-<lang>-390.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.sandbox.server import BackgroundServer
from connector.services import Services
from connector.store.tables import ProblemReport
from connector.tracking import links
from tests.notify.conftest import clock, services, smtp  # noqa: F401  (fixtures)
from tests.notify.support import Clock
from tests.tracking import stored
from tests.tracking.support import NOW, delivered

pytestmark = pytest.mark.browser

SECRET = "test-secret-key-0123456789abcdef"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
PUBLIC = "http://127.0.0.1:8000"  # the service's public address in the links


@pytest.fixture
def site(services: Services, clock: Clock) -> Iterator[str]:  # noqa: F811
    from webhooks import create_app

    clock.now = NOW
    stored.put(services, delivered())
    with BackgroundServer(create_app(services)) as server:
        yield server.url


def test_a_customer_on_a_phone_reports_a_damaged_item_with_a_photo(
    page: Any,
    site: str,
    services: Services,  # noqa: F811
    tmp_path: Path,
) -> None:
    page.goto(f"{site}/track/{links.token_for(SECRET, 'fietsen', '1001')}")
    report = page.get_by_role("link", name="Een probleem melden").get_attribute("href")
    assert report is not None
    assert report.startswith(f"{PUBLIC}/report/")
    page.goto(site + report.removeprefix(PUBLIC))
    assert page.locator("h1").inner_text() == "Klopt er iets niet met je bestelling?"

    page.get_by_label("Er is iets beschadigd aangekomen").check()
    page.get_by_label("Vertel ons meer").fill("De bel heeft een deuk")
    photo = tmp_path / "bel.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 256)
    page.get_by_label("Een foto").set_input_files(str(photo))
    page.get_by_role("button", name="Stuur naar de winkel").click()

    assert page.locator("#done").inner_text() == "Dank je wel, we hebben je melding"
    with services.sessions() as session:
        row = session.scalars(select(ProblemReport)).one()
        assert (row.cause, row.channel, row.text, row.photo_type) == (
            "damaged", "tracking", "De bel heeft een deuk", "image/png",
        )  # fmt: skip


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_report_page_fits_a_phone(chromium: Any, site: str, lang: str) -> None:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=True)
    context.set_default_timeout(10_000)  # JavaScript only to measure the page
    shown = context.new_page()
    OUTPUT.mkdir(exist_ok=True)
    try:
        shown.goto(f"{site}/report/{links.token_for(SECRET, 'fietsen', '1001')}?lang={lang}")
        assert shown.evaluate("document.documentElement.scrollWidth") <= 390
        # every choice is a big enough target for a thumb
        heights = shown.evaluate("[...document.querySelectorAll('label.choice')].map(e => e.offsetHeight)")
        assert heights
        assert min(heights) >= 44
        shown.screenshot(path=str(OUTPUT / f"report-{lang}-390.png"), full_page=True)
        shown.goto(f"{site}/report/lookup/fietsen?lang={lang}")
        assert shown.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
