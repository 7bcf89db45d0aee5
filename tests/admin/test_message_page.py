"""What the customer actually got: each sent message opens as it was sent (subject, text, the HTML in a sandboxed
frame under a policy that forbids scripts), is erased with the customer and pruned after its retention; an
address incident shows the address as typed and as corrected."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import codec
from connector.actions import ActionKind, ActionRequest
from connector.address import change
from connector.address.fix import accept
from connector.address.fixlinks import issue
from connector.housekeeping import prune
from connector.model import Address, CustomerRef, EventKind, OrderEvent
from connector.notify import sent
from connector.outbox.env import OutboxEnv
from connector.outbox.notify import NotifyPerformer
from connector.privacy import HANDLERS
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import ActionRow, EmailLog, IncidentRow, OrderRow, SentMessage

from . import builders as b
from .web import sign_in

SCRIPT = "<script>document.title='pwned'</script>"


class RecordingMailer:
    """A mail server that accepts everything and keeps it."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        if before_data is not None:
            before_data()
        self.sent.append(message)


@dataclass
class World:
    order: OrderRow
    other: OrderRow  # theewinkel: anna may not see it
    log_id: int  # the e-mail sent on ``order``
    other_log_id: int


def send(services: Services, order: OrderRow, step: str, first_name: str = "Jan") -> int:
    """Plan a stale update for ``order`` and send it through the notify performer; its ``email_log`` id."""
    payload = {
        "template": "stale_update", "to": order.customer_email, "locale": "nl", "marketing": False,
        "context": {"shop_name": "Fietsen", "order_number": order.number, "first_name": first_name,
                    "items": [{"title": "Bel", "quantity": 1}], "reason": "unshipped",
                    "new_delivery_date": "2026-11-27"},
    }  # fmt: skip
    with transaction(services.sessions) as session:
        row = ActionRow(
            shop_id=order.shop_id, order_id=order.id, policy="stale", kind="notify_customer",
            idempotency_key=f"{order.shop_id}:{order.external_id}:stale:{step}", payload=payload, state="pending",
            attempts=1, next_attempt_at=services.now(), created_at=services.now(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        action_id = row.id
    request = ActionRequest(
        action_id=action_id, shop_id=order.shop_id, kind=ActionKind.NOTIFY_CUSTOMER,
        idempotency_key=f"{order.shop_id}:{order.external_id}:stale:{step}", payload=payload,
        order_external_id=order.external_id, attempt=1,
    )  # fmt: skip
    NotifyPerformer(mailer=RecordingMailer()).perform(request, OutboxEnv(services=services, worker="test"))
    with services.sessions() as session:
        found = session.scalar(select(EmailLog.id).where(EmailLog.action_id == action_id))
    assert found is not None
    return found


@pytest.fixture
def world(session: Session, services: Services, now: datetime) -> World:
    b.account(session, "anna", ["fietsen"], now)
    b.account(session, "bert", ["theewinkel"], now)
    order = b.order(session, "fietsen", "6601", now - timedelta(days=3))
    other = b.order(session, "theewinkel", "6602", now - timedelta(days=3), email="b@example.nl")
    session.commit()
    # a first name a customer could type, with markup in it: it reaches the HTML part as text only
    log_id = send(services, order, "1", first_name=f"Jan{SCRIPT}")
    other_log_id = send(services, other, "1")
    return World(order, other, log_id, other_log_id)


def body_of(services: Services, log_id: int) -> SentMessage | None:
    with services.sessions() as session:
        found = session.get(SentMessage, log_id)
        session.expunge_all()
        return found


def test_the_performer_keeps_what_the_customer_got(services: Services, world: World, now: datetime) -> None:
    body = body_of(services, world.log_id)
    assert body is not None
    assert (body.channel, body.locale, body.sent_at, body.shop_id) == ("email", "nl", now, "fietsen")
    assert body.subject == "Bestelling #6601 duurt langer dan we zeiden"
    assert body.text_body.startswith(f"Hoi Jan{SCRIPT},\n\nJe bestelling #6601 (Bel) is nog niet verstuurd")
    assert body.html_body is not None
    assert body.html_body.startswith('<!DOCTYPE html>\n<html lang="nl">')
    assert SCRIPT not in body.html_body  # the message's own escaping: the name is text in the HTML part
    assert "<p>Hoi Jan&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;,</p>" in body.html_body


def test_the_message_opens_from_the_order_timeline(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    order_page = client.get(f"/admin/orders/{world.order.id}").get_data(as_text=True)
    links = set(re.findall(r'<a class="message-link" href="(/admin/messages/\d+)">', order_page))
    assert links == {f"/admin/messages/{world.log_id}"}
    response = client.get(f"/admin/messages/{world.log_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<h1 class="message-subject">Bestelling #6601 duurt langer dan we zeiden</h1>' in page
    assert "<dd>Dutch</dd>" in page
    assert f'<a href="/admin/orders/{world.order.id}">#6601</a>' in page
    text = re.search(r'<pre class="message-text">(.*?)</pre>', page, re.S)
    assert text is not None
    assert html.unescape(text.group(1)).startswith(f"Hoi Jan{SCRIPT},")


def test_a_script_in_a_message_never_reaches_the_page(client: FlaskClient, world: World, services: Services) -> None:
    with transaction(services.sessions) as session:  # a body with live markup, as a merchant template could make
        row = session.get(SentMessage, world.log_id)
        assert row is not None
        row.html_body = f'<p onclick="x()">Hoi</p>{SCRIPT}<img src="https://tracker.example/p.gif">'
    sign_in(client, "anna")
    response = client.get(f"/admin/messages/{world.log_id}")
    page = response.get_data(as_text=True)
    assert "<script" not in page  # not the body's, and none of the dashboard's own
    assert 'onclick="x()"' not in page
    frame = re.search(r'<iframe class="message-frame" sandbox="" [^>]*srcdoc="([^"]*)"></iframe>', page)
    assert frame is not None, "the HTML is shown in a sandboxed frame"
    assert html.unescape(frame.group(1)).endswith(SCRIPT + '<img src="https://tracker.example/p.gif">')
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy
    assert "img-src 'self' data:" in policy  # no tracking pixel is fetched when staff open the message
    assert "default-src 'none'" in policy


def test_a_note_channel_message_has_no_html(services: Services, world: World, client: FlaskClient) -> None:
    with transaction(services.sessions) as session:
        row = session.get(SentMessage, world.log_id)
        assert row is not None
        row.channel, row.html_body = sent.PLATFORM_NOTE, None
    sign_in(client, "anna")
    page = client.get(f"/admin/messages/{world.log_id}").get_data(as_text=True)
    assert "<iframe" not in page
    assert "a customer note in the shop (the shop e-mails it)" in page


def test_staff_of_another_shop_get_404(client: FlaskClient, world: World) -> None:
    sign_in(client, "anna")
    assert client.get(f"/admin/messages/{world.other_log_id}").status_code == 404
    assert client.get("/admin/messages/999999").status_code == 404
    sign_in(client, "bert")
    assert client.get(f"/admin/messages/{world.other_log_id}").status_code == 200
    assert client.get(f"/admin/messages/{world.log_id}").status_code == 404


def test_the_customer_s_erasure_removes_the_body(
    client: FlaskClient, world: World, services: Services, now: datetime
) -> None:
    shop = services.shops.get("fietsen")
    assert shop is not None
    event = OrderEvent(
        EventKind.CUSTOMER_REDACT, "customers/redact", "redact-1", now, customer=CustomerRef(email="jan@example.nl")
    )
    with transaction(services.sessions) as session:
        HANDLERS[EventKind.CUSTOMER_REDACT](session, shop, event, now)
    assert body_of(services, world.log_id) is None
    assert body_of(services, world.other_log_id) is not None  # another shop's customer keeps theirs
    sign_in(client, "anna")
    page = client.get(f"/admin/messages/{world.log_id}").get_data(as_text=True)
    assert "What this message said was erased with the customer’s data, at their request." in page
    assert "duurt langer" not in page
    assert "jan@example.nl" not in page


def test_bodies_are_kept_for_the_retention_period_only(services: Services, world: World, now: datetime) -> None:
    days = services.settings.sent_message_retention_days
    assert days == 180
    with transaction(services.sessions) as session:
        assert prune(session, services.settings, now + timedelta(days=days)).sent_messages == 0  # exactly 180 days
    assert body_of(services, world.log_id) is not None
    with transaction(services.sessions) as session:
        pruned = prune(session, services.settings, now + timedelta(days=days, seconds=1))
    assert pruned.sent_messages == 2
    assert body_of(services, world.log_id) is None
    with services.sessions() as session:  # the log row stays: the timeline still shows the message went
        assert session.get(EmailLog, world.log_id) is not None


def test_a_pruned_body_says_how_long_messages_are_kept(
    client: FlaskClient, world: World, services: Services, now: datetime
) -> None:
    with transaction(services.sessions) as session:
        prune(session, services.settings, now + timedelta(days=181))
    sign_in(client, "anna")
    page = client.get(f"/admin/messages/{world.log_id}").get_data(as_text=True)
    assert "What this message said is no longer kept: ordercare keeps it for 180 days after sending." in page
    assert '<h1 class="message-subject">Bestelling #6601 duurt langer dan we zeiden</h1>' in page


# --- the address as typed and as corrected -------------------------------------------------------


def test_an_address_incident_shows_the_address_as_typed_and_as_the_customer_corrected_it(
    client: FlaskClient, session: Session, services: Services, now: datetime
) -> None:
    b.account(session, "anna", ["fietsen"], now)
    order = b.order(session, "fietsen", "6701", now - timedelta(days=1))
    typed = codec.load_order(order.data).shipping_address
    incident = b.incident(
        session, order, "address", now - timedelta(hours=5), details={"problems": ["missing_house_number"],
                                                                       **{change.ADDRESS_KEY: change.typed(typed)}},
    )  # fmt: skip
    token = issue(session, token_id="t-6701", shop_id="fietsen", order_id=order.id, incident_id=incident.id,
                  now=now - timedelta(hours=5), valid_days=7)  # fmt: skip
    session.commit()
    fixed = Address(first_name="Jan", address1="Dorpsstraat 12", postcode="1234 AB", city="Utrecht", country_code="NL")
    with transaction(services.sessions) as db:
        fresh = db.get(type(token), token.id)
        assert fresh is not None
        assert accept(db, fresh, fixed, "adres gecorrigeerd", now).accepted
    with services.sessions() as db:
        row = db.get(IncidentRow, incident.id)
        assert row is not None
        assert row.details[change.ADDRESS_KEY] == {
            "typed": codec.dump(typed), "corrected": codec.dump(fixed), "by": "customer",
        }  # fmt: skip
    sign_in(client, "anna")
    page = client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True)
    section = page.split('<section class="card address-change">')[1].split("</section>")[0]
    assert "<h3>As the customer typed it</h3>" in section
    assert '<p class="address">Jan<br>Dorpsstraat 1<br>1234 AB Utrecht<br>NL</p>' in section
    assert "<h3>As the customer corrected it</h3>" in section
    assert '<p class="address">Jan<br>Dorpsstraat 12<br>1234 AB Utrecht<br>NL</p>' in section


def test_an_address_incident_without_a_record_shows_no_address_section(
    client: FlaskClient, session: Session, now: datetime
) -> None:
    b.account(session, "anna", ["fietsen"], now)
    order = b.order(session, "fietsen", "6702", now - timedelta(days=1))
    incident = b.incident(session, order, "address", now, details={"problems": ["missing_street"]})
    session.commit()
    sign_in(client, "anna")
    page = client.get(f"/admin/incidents/{incident.id}").get_data(as_text=True)
    assert "address-change" not in page


def test_an_erased_address_record_shows_nothing() -> None:
    assert change.read({change.ADDRESS_KEY: None}) is None  # the customer's erasure empties the key
    assert change.read({}) is None
    shown = change.read({change.ADDRESS_KEY: {"typed": {"address1": "Kerkstraat", "house_number": "4",
                                                        "postcode": "1234 AB", "city": "Ede"}}})  # fmt: skip
    assert shown == change.AddressChange(("Kerkstraat 4", "1234 AB Ede"), (), None)
