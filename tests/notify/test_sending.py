# ruff: noqa: E501  (the expected message is kept as the customer reads it, one paragraph a line)
"""Customer e-mail through the outbox to a real SMTP server on loopback: what arrives, once, and what fails how."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import Engine, select

from connector.actions import ActionKind, ActionRequest
from connector.address import fixlinks
from connector.model import Customer
from connector.notify.mailer import SmtpMailer, describe_email, message_id_for
from connector.outbox.env import OutboxEnv
from connector.outbox.notify import NOT_MARKETABLE, NotifyPerformer
from connector.outbox.queue import drain
from connector.platforms.base import PermanentError, RetryableError
from connector.sandbox.server import free_port
from connector.services import Services
from connector.store.tables import ActionRow, EmailLog, FixToken
from connector.tracking import links
from tests.notify.conftest import notify_settings
from tests.notify.support import (
    SMTP_PASSWORD,
    SMTP_USER,
    CapturingHandler,
    Certificate,
    Clock,
    context,
    make_order,
    notify_payload,
    open_incident,
    plan_notify,
    smtp_server,
    store,
)

# the implicit-TLS test server accepts a login without STARTTLS (the whole connection is TLS already)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

ADDRESS_TEXT_NL = """\
Hoi Sanne,

Bedankt voor je bestelling #1001 (2× Fietsbel en Café-racer stuurlint). Voordat we die kunnen versturen, hebben we je hulp nodig bij het bezorgadres: het huisnummer ontbreekt.

Je kunt het hier in een minuutje verbeteren:
{url}
De link werkt tot en met dinsdag 1 december.

Het adres dat we nu hebben:
  Hoofdstraat
  1234 AB Amsterdam

We houden je bestelling klaar en versturen hem zodra het adres klopt. Wil je liever annuleren, of is er iets anders mis? Beantwoord dan gewoon deze e-mail.

Je kunt je bestelling altijd volgen op je bestelpagina: {track}

Klopt er iets niet met je bestelling? Laat het ons hier weten: {report}

Hartelijke groet,
Fietsenwinkel Één
"""


def action_row(services: Services, action_id: int) -> ActionRow:
    with services.sessions() as session:
        row = session.get(ActionRow, action_id)
        assert row is not None
        return row


def email_logs(services: Services) -> list[EmailLog]:
    with services.sessions() as session:
        return list(session.scalars(select(EmailLog).order_by(EmailLog.id)))


def request_for(services: Services, action_id: int, attempt: int = 1) -> ActionRequest:
    row = action_row(services, action_id)
    return ActionRequest(
        action_id=row.id,
        shop_id=row.shop_id,
        kind=ActionKind(row.kind),
        idempotency_key=row.idempotency_key,
        payload=dict(row.payload),
        order_external_id="1001",
        attempt=attempt,
    )


def test_address_question_arrives_once_with_its_fix_link(
    services: Services, env: OutboxEnv, smtp: CapturingHandler
) -> None:
    order_id = store(services, make_order())
    incident_id = open_incident(services, "fietsen", order_id)
    action_id = plan_notify(services, order_id, notify_payload(), incident_id=incident_id)

    report = drain(env)

    assert (report.done, report.retried, report.failed) == (1, 0, 0)
    assert len(smtp.received) == 1
    received = smtp.received[0]
    assert received.rcpt_tos == ["sanne@example.nl"]
    assert received.mail_from == "service@fietsenwinkel.example"
    message = received.message
    assert message["Subject"] == "Bestelling #1001: wil je je bezorgadres controleren?"
    assert message["From"] == "Fietsenwinkel Één <service@fietsenwinkel.example>"
    assert message["To"] == "sanne@example.nl"
    assert message["Reply-To"] == "Klantenservice <help@fietsenwinkel.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "nl"
    assert message["List-Unsubscribe"] is None  # transactional
    key = action_row(services, action_id).idempotency_key
    assert message["Message-ID"] == message_id_for(key, "service@fietsenwinkel.example")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())
    # Dutch characters travel encoded (7-bit clean on the wire) and decode to what we wrote
    assert all(byte < 128 for byte in received.raw)
    assert b"=?utf-8?" in received.raw.split(b"\r\n\r\n", 1)[0]

    with services.sessions() as session:
        token = session.scalars(select(FixToken)).one()
    assert (token.shop_id, token.order_id, token.incident_id, token.used_at) == ("fietsen", order_id, incident_id, None)
    assert token.expires_at == services.now() + timedelta(days=7)
    url = fixlinks.fix_url("http://127.0.0.1:8000", fixlinks.sign(services.settings.secret_key, token.id))
    track = links.page_url("http://127.0.0.1:8000", links.token_for(services.settings.secret_key, "fietsen", "1001"))
    report_url = track.replace("/track/", "/report/") + "?via=email"  # the report page: the same signed token
    assert received.body("plain") == ADDRESS_TEXT_NL.format(url=url, track=track, report=report_url)
    html = received.body("html")
    assert f'<a href="{url}"' in html
    assert f'<a href="{track}" style="color:#1f6f43;">je bestelpagina</a>' in html
    assert "Fietsenwinkel Één" in html
    assert "Café-racer stuurlint" in html

    logs = email_logs(services)
    assert [(log.action_id, log.order_id, log.template, log.recipient, log.message_id) for log in logs] == [
        (action_id, order_id, "address_question", "sanne@example.nl", message["Message-ID"])
    ]
    assert logs[0].subject == message["Subject"]
    row = action_row(services, action_id)
    assert row.state == "done"
    assert row.result == {
        "message_id": message["Message-ID"],
        "template": "address_question",
        "recipient": "sanne@example.nl",
        "channel": "email",
    }

    assert drain(env).total == 0  # nothing due any more
    assert len(smtp.received) == 1


def test_a_resend_after_a_crash_is_the_same_message(services: Services, env: OutboxEnv, smtp: CapturingHandler) -> None:
    order_id = store(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload())
    performer = NotifyPerformer()
    request = request_for(services, action_id)

    first = performer.perform(request, env)
    assert performer.already_done(request, env) == {k: first[k] for k in ("message_id", "template", "recipient")}
    assert performer.perform(request, env) == {k: first[k] for k in ("message_id", "template", "recipient")}
    assert len(smtp.received) == 1  # the log says it went: not sent again

    with services.sessions() as session, session.begin():
        session.query(EmailLog).delete()  # the crash: sent, but not recorded
    assert performer.already_done(request, env) is None
    performer.perform(request, env)
    assert len(smtp.received) == 2
    one, two = (r.message for r in smtp.received)
    assert one["Message-ID"] == two["Message-ID"]
    assert received_link(one) == received_link(two)  # the same fix link, not a second token
    with services.sessions() as session:
        assert session.query(FixToken).count() == 1


def received_link(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    text: str = part.get_content()
    return next(line for line in text.splitlines() if "/fix/" in line)


@pytest.mark.parametrize(
    ("accepts", "basis", "sent"),
    [(False, "required", False), (True, "required", True), (None, "required", False),
     (False, "existing_customer", False), (True, "existing_customer", True), (None, "existing_customer", True)],
)  # fmt: skip
def test_review_request_respects_marketing_consent(
    services: Services, env: OutboxEnv, smtp: CapturingHandler, accepts: bool | None, basis: str, sent: bool
) -> None:
    customer = Customer(first_name="Sanne", email="sanne@example.nl", accepts_marketing=accepts)
    order_id = store(services, make_order(customer=customer))
    payload = notify_payload("review_request", locale="en", context=context(consent_basis=basis))
    action_id = plan_notify(services, order_id, payload, step="review")

    assert drain(env).done == 1

    row = action_row(services, action_id)
    if sent:
        assert len(smtp.received) == 1
        message = smtp.received[0].message
        assert message["Subject"] == "How do you like your order #1001?"
        assert message["List-Unsubscribe"] == "<mailto:help@fietsenwinkel.example?subject=stop>"
        assert [log.template for log in email_logs(services)] == ["review_request"]
        reason = {
            "required": "You receive this e-mail because you agreed to hear from us.",
            "existing_customer": "You receive this e-mail because you recently ordered from Fietsenwinkel Één.",
        }
        assert reason[basis] in smtp.received[0].body("plain")
        assert reason[basis] in smtp.received[0].body("html")
    else:
        assert smtp.received == []
        assert email_logs(services) == []
        assert row.result == {"skipped": NOT_MARKETABLE, "template": "review_request"}


def test_delay_notice_with_voucher_in_english(services: Services, env: OutboxEnv, smtp: CapturingHandler) -> None:
    order_id = store(services, make_order())
    voucher = {"code": "OC-7KQ2M9", "kind": "fixed", "value": "5.00", "currency": "EUR", "ends_at": "2027-02-22"}
    payload = notify_payload(
        "delay_notice",
        locale="en",
        context=context(level=2, reason="late", voucher=voucher, new_delivery_date="2026-11-27"),
    )
    plan_notify(services, order_id, payload, step="delay-2")
    drain(env)
    (received,) = smtp.received
    assert received.message["Subject"] == "Your parcel for order #1001 is still on its way"
    text = received.body("plain")
    assert "did not arrive on the day we expected. The new expected delivery date is Friday 27 November." in text
    assert "OC-7KQ2M9 (€5.00 off, valid until 22 February 2027)" in text
    assert "OC-7KQ2M9" in received.body("html")


def test_unreachable_server_is_retried_and_nothing_is_logged(
    db_url: str, engine: Engine, clock: Clock, smtp: CapturingHandler
) -> None:
    services = Services.build(notify_settings(db_url, free_port()), engine=engine, clock=clock)
    env = OutboxEnv(services=services, worker="test-worker")
    order_id = store(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload())

    with pytest.raises(RetryableError, match=r"cannot reach SMTP server 127\.0\.0\.1"):
        NotifyPerformer().perform(request_for(services, action_id), env)
    report = drain(env)

    assert (report.done, report.retried, report.failed) == (0, 1, 0)
    row = action_row(services, action_id)
    assert row.state == "pending"
    assert row.next_attempt_at > services.now()
    assert "cannot reach SMTP server" in (row.last_error or "")
    assert email_logs(services) == []
    assert smtp.received == []


def test_deferred_recipient_is_retryable_and_refused_recipient_fails(
    services: Services, env: OutboxEnv, smtp: CapturingHandler
) -> None:
    order_id = store(services, make_order())
    smtp.defer.add("later@example.nl")
    smtp.refuse.add("nobody@example.nl")
    later = plan_notify(services, order_id, notify_payload(to="later@example.nl"), step="a")
    nobody = plan_notify(services, order_id, notify_payload(to="nobody@example.nl"), step="b")
    performer = NotifyPerformer()

    with pytest.raises(RetryableError) as deferred:
        performer.perform(request_for(services, later), env)
    assert "451" in deferred.value.platform_message
    with pytest.raises(PermanentError) as refused:
        performer.perform(request_for(services, nobody), env)
    assert "550" in refused.value.platform_message

    report = drain(env)
    assert (report.done, report.retried, report.failed) == (0, 1, 1)
    assert action_row(services, nobody).state == "failed"
    assert "550 5.1.1 mailbox unavailable" in (action_row(services, nobody).last_error or "")
    assert email_logs(services) == []
    assert smtp.received == []


def _tls_env(
    services: Services, port: int, security: str, certificate: Certificate, password: str = SMTP_PASSWORD
) -> tuple[OutboxEnv, NotifyPerformer]:
    email = services.settings.email.model_copy(
        update={"smtp_port": port, "security": security, "username": SMTP_USER, "password": password}
    )
    mailer = SmtpMailer(email, ssl_context=certificate.client_context())
    return OutboxEnv(services=services, worker="tls"), NotifyPerformer(mailer=mailer)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login(services: Services, certificate: Certificate, security: str) -> None:
    order_id = store(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload())
    with smtp_server(mode=security, certificate=certificate) as (controller, handler):
        env, performer = _tls_env(services, controller.port, security, certificate)
        performer.perform(request_for(services, action_id), env)
    assert [r.rcpt_tos for r in handler.received] == [["sanne@example.nl"]]
    assert handler.received[0].message["Subject"] == "Bestelling #1001: wil je je bezorgadres controleren?"


def test_wrong_password_fails_permanently(services: Services, certificate: Certificate) -> None:
    order_id = store(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload())
    with smtp_server(mode="starttls", certificate=certificate) as (controller, handler):
        env, performer = _tls_env(services, controller.port, "starttls", certificate, password="wrong")
        with pytest.raises(PermanentError, match="535"):
            performer.perform(request_for(services, action_id), env)
    assert handler.received == []
    assert email_logs(services) == []


def test_untrusted_certificate_is_a_clear_permanent_error(services: Services, certificate: Certificate) -> None:
    order_id = store(services, make_order())
    action_id = plan_notify(services, order_id, notify_payload())
    with smtp_server(mode="ssl", certificate=certificate) as (controller, handler):
        email = services.settings.email.model_copy(update={"smtp_port": controller.port, "security": "ssl"})
        env = OutboxEnv(services=services, worker="tls")
        with pytest.raises(PermanentError, match=r"TLS certificate of 127\.0\.0\.1"):
            NotifyPerformer(mailer=SmtpMailer(email)).perform(request_for(services, action_id), env)
    assert handler.received == []


class RecordingClient:
    def __init__(self) -> None:
        self.performed: list[ActionRequest] = []

    def perform(self, request: ActionRequest) -> dict[str, Any]:
        self.performed.append(request)
        return {"note_id": "n-1"}

    def already_done(self, request: ActionRequest) -> dict[str, Any] | None:
        return {"note_id": "n-1"} if self.performed else None

    def close(self) -> None:
        pass


def test_platform_note_shops_get_a_customer_note_instead_of_mail(
    db_url: str, engine: Engine, clock: Clock, smtp: CapturingHandler
) -> None:
    settings = notify_settings(db_url, smtp.port)  # type: ignore[attr-defined]
    shops = [shop.model_dump(exclude_none=True) for shop in settings.shops]
    shops[1]["customer_channel"] = "platform_note"
    services = Services.build(notify_settings(db_url, smtp.port, shops=shops), engine=engine, clock=clock)  # type: ignore[attr-defined]
    client = RecordingClient()
    env = OutboxEnv(services=services, worker="w", client_factory=lambda shop: client)  # type: ignore[arg-type,return-value]
    order = make_order("2002", shop_id="theewinkel")
    order_id = store(services, order)
    payload = notify_payload(
        "stale_update", context=context(order_number="#2002", shop_name="Theewinkel", reason="unshipped")
    )
    action_id = plan_notify(services, order_id, payload, external_id="2002", shop_id="theewinkel", step="stale")

    assert drain(env).done == 1

    assert smtp.received == []
    (note,) = client.performed
    assert note.kind is ActionKind.ADD_NOTE
    assert note.payload["customer_note"] is True
    assert note.payload["text"].startswith("Hoi Sanne,\n\nJe bestelling #2002 (2× Fietsbel en Café-racer stuurlint)")
    assert note.payload["text"].endswith("Hartelijke groet,\nTheewinkel")
    assert action_row(services, action_id).result == {
        "note_id": "n-1",
        "template": "stale_update",
        "channel": "platform_note",
    }
    assert [(log.template, log.recipient) for log in email_logs(services)] == [("stale_update", "sanne@example.nl")]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"template": "welcome"}, "payload.template: unknown message 'welcome'"),
        ({"to": None}, "payload.to: no customer e-mail address"),
        ({"to": "not-an-address"}, "payload.to: not an e-mail address"),
        ({"context": {"order_number": "#1"}}, "payload.context.shop_name: required"),
    ],
)
def test_bad_payload_fails_with_the_key_named(
    services: Services, env: OutboxEnv, smtp: CapturingHandler, change: dict[str, Any], error: str
) -> None:
    order_id = store(services, make_order())
    payload = {**notify_payload("stale_update"), **change}
    if "context" in change:
        payload["context"] = {**change["context"], "shop_name": None}
    action_id = plan_notify(services, order_id, payload)
    assert drain(env).failed == 1
    assert (action_row(services, action_id).last_error or "").startswith(error)
    assert smtp.received == []
    assert email_logs(services) == []


def test_describe_email_is_readable_in_a_terminal(services: Services, env: OutboxEnv, smtp: CapturingHandler) -> None:
    order_id = store(services, make_order())
    plan_notify(services, order_id, notify_payload("stale_update", context=context(reason="unshipped")))
    drain(env)
    shown = describe_email(smtp.received[0].raw)
    assert shown.startswith(
        "From: Fietsenwinkel Één <service@fietsenwinkel.example>\n"
        "To: sanne@example.nl\n"
        "Reply-To: Klantenservice <help@fietsenwinkel.example>\n"
        "Subject: Bestelling #1001 duurt langer dan we zeiden\n"
        "Date: Tue, 24 Nov 2026 09:00:00 +0000\n\n"
        "Hoi Sanne,\n\nJe bestelling #1001 (2× Fietsbel en Café-racer stuurlint) is nog niet verstuurd: "
    )


def test_a_voucher_the_shop_refused_to_create_is_left_out(
    services: Services, env: OutboxEnv, smtp: CapturingHandler
) -> None:
    from sqlalchemy import update

    from connector.store.db import transaction

    order_id = store(services, make_order())
    voucher = {"code": "OC-7KQ2M9", "kind": "fixed", "value": "5.00", "currency": "EUR", "ends_at": "2027-02-22"}
    payload = notify_payload(
        "delay_notice", locale="en", context=context(level=2, reason="late", voucher=voucher, new_delivery_date=None)
    )
    action_id = plan_notify(services, order_id, payload, step="delay-2")
    with transaction(services.sessions) as session:  # it follows a voucher action that failed for good
        session.execute(
            update(ActionRow)
            .where(ActionRow.id == action_id)
            .values(after_key="fietsen:1001:address:voucher", after_even_if_failed=True)
        )
        session.add(
            ActionRow(
                shop_id="fietsen", order_id=order_id, policy="address", kind="create_voucher",
                idempotency_key="fietsen:1001:address:voucher", payload={}, state="failed", attempts=1,
                next_attempt_at=services.now(), created_at=services.now(),
            )
        )  # fmt: skip
    drain(env)
    (received,) = smtp.received
    assert "OC-7KQ2M9" not in received.body("plain")
    assert "OC-7KQ2M9" not in received.body("html")
