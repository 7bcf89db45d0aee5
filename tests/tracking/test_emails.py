"""Every customer message links to the order's tracking page, and the link in the e-mail opens it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from markupsafe import escape

from connector.notify.render import Renderer
from connector.outbox.env import OutboxEnv
from connector.outbox.queue import drain
from connector.services import Services
from connector.tracking import links
from tests.notify.support import CapturingHandler, Clock, context, notify_payload, plan_notify
from tests.notify.test_render import BASE, CASES
from tests.tracking import stored
from tests.tracking.support import NOW, delivered, late, local

SECRET = "test-secret-key-0123456789abcdef"
PAGE = "https://ordercare.example/track/WyJmaWV0c2VuIiwiMTAwMSJd.sig"
LINE = {
    "nl": f"Je kunt je bestelling altijd volgen op je bestelpagina: {PAGE}",
    "en": f"You can follow your order at any time on your order page: {PAGE}",
}
LINK = {
    "nl": f'Je kunt je bestelling altijd volgen op <a href="{PAGE}" style="color:#1f6f43;">je bestelpagina</a>.',
    "en": f'You can follow your order at any time on <a href="{PAGE}" style="color:#1f6f43;">your order page</a>.',
}


@pytest.mark.parametrize(("template", "locale"), sorted(CASES))
def test_every_message_ends_with_the_link_to_the_order_page(template: str, locale: str) -> None:
    renderer = Renderer()
    message = renderer.render(template, locale, {**BASE, **CASES[template, locale], "tracking_page_url": PAGE})
    paragraphs = message.text.split("\n\n")
    signature_at = next(i for i, p in enumerate(paragraphs) if p.startswith(("Hartelijke groet", "Kind regards")))
    assert paragraphs[signature_at - 1] == LINE[locale]  # the last thing before the signature
    assert message.text.count(PAGE) == 1
    assert f"<p>{LINK[locale]}</p>" in message.html
    without = renderer.render(template, locale, {**BASE, **CASES[template, locale]})
    assert "bestelpagina" not in without.text + without.html
    assert "order page" not in without.text + without.html
    assert without.text == message.text.replace(LINE[locale] + "\n\n", "")


def test_the_link_is_escaped_in_html() -> None:
    odd = 'https://o.example/track/a"b<c'
    message = Renderer().render("stale_update", "en", {**BASE, "tracking_page_url": odd})
    assert f'href="{escape(odd)}"' in message.html
    assert odd not in message.html


def _payload(template: str = "delay_notice", **changes: Any) -> dict[str, Any]:
    return notify_payload(template, context=context(reason="no_scan", new_delivery_date="2026-11-30"), **changes)


def test_the_sent_email_carries_the_orders_link_and_the_link_opens_its_page(
    services: Services, env: OutboxEnv, smtp: CapturingHandler, clock: Clock
) -> None:
    clock.now = NOW
    order_id = stored.put(services, late())
    plan_notify(services, order_id, _payload())
    assert drain(env).done == 1
    token = links.token_for(SECRET, "fietsen", "1001")
    url = f"http://127.0.0.1:8000/track/{token}"
    received = smtp.received[0]
    text = received.body("plain")
    report = f"http://127.0.0.1:8000/report/{token}?via=email"
    assert (
        f"\n\nJe kunt je bestelling altijd volgen op je bestelpagina: {url}\n\n"
        f"Klopt er iets niet met je bestelling? Laat het ons hier weten: {report}\n\nHartelijke groet,"
    ) in text
    assert f'<a href="{url}" style="color:#1f6f43;">je bestelpagina</a>' in received.body("html")

    from webhooks import create_app

    page = create_app(services).test_client().get(url.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200
    assert "Bestelling #1001" in page.get_data(as_text=True)


def test_a_message_about_an_order_whose_page_has_closed_has_no_link(
    services: Services, env: OutboxEnv, smtp: CapturingHandler, clock: Clock
) -> None:
    clock.now = NOW
    order_id = stored.put(services, delivered())
    clock.now = local(25, 13, 10) + timedelta(days=60)
    plan_notify(services, order_id, _payload("review_request", marketing=False), step="1-review")
    assert drain(env).done == 1
    text = smtp.received[0].body("plain")
    assert "/track/" not in text
    assert "bestelpagina" not in text
    assert "/report/" not in text  # the report page closes with the order's page


def test_a_message_sent_the_second_before_the_page_closes_still_has_the_link(
    services: Services, env: OutboxEnv, smtp: CapturingHandler, clock: Clock
) -> None:
    clock.now = NOW
    order_id = stored.put(services, delivered())
    clock.now = local(25, 13, 10) + timedelta(days=60) - timedelta(seconds=1)
    plan_notify(services, order_id, _payload("review_request", marketing=False), step="1-review")
    assert drain(env).done == 1
    assert f"/track/{links.token_for(SECRET, 'fietsen', '1001')}" in smtp.received[0].body("plain")
