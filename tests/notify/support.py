"""Test support for the customer messages: a real SMTP server on loopback, and stored orders to write about."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from connector import ingest
from connector.actions import ActionKind, PlannedAction
from connector.address.check import LookupResult, LookupUnavailable
from connector.config import Settings
from connector.model import Order
from connector.outbox.queue import plan
from connector.sandbox.server import free_port
from connector.services import Services
from connector.store.db import transaction
from connector.store.tables import IncidentRow, OrderRow
from tests import builders

SMTP_USER = "shop"
SMTP_PASSWORD = "s3cret-wachtwoord"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content()).replace("\r\n", "\n")


@dataclass
class CapturingHandler:
    """Keeps every message; refuses (5xx) or defers (4xx) the recipients it is told to."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword) and data.login == SMTP_USER.encode() and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_file))


def self_signed(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_file, key_file)


@contextmanager
def smtp_server(
    handler: CapturingHandler | None = None, *, mode: str = "none", certificate: Certificate | None = None
) -> Iterator[tuple[Controller, CapturingHandler]]:
    """An aiosmtpd server on 127.0.0.1: plain, STARTTLS with login, or implicit TLS (``ssl``)."""
    handler = handler or CapturingHandler()
    port = free_port()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
    if mode == "starttls":
        assert certificate is not None
        kwargs.update(
            tls_context=certificate.server_context(),
            require_starttls=True,
            authenticator=_authenticate,
            auth_required=True,
        )
    elif mode == "ssl":
        assert certificate is not None
        # implicit TLS: the whole connection is encrypted, which aiosmtpd's STARTTLS bookkeeping does not see
        kwargs.update(
            ssl_context=certificate.server_context(),
            authenticator=_authenticate,
            auth_required=True,
            auth_require_tls=False,
        )
        kwargs["server_hostname"] = "127.0.0.1"
    controller = Controller(handler, **kwargs)
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


# --- stored data ---------------------------------------------------------------------------------

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_order(external_id: str = "1001", **changes: Any) -> Order:
    """``builders.order`` as the message tests use it: the house number is missing ("Hoofdstraat",
    1234 AB Amsterdam), the customer reads Dutch, and no total or shipping method is shown."""
    base: dict[str, Any] = {
        "customer": builders.customer(locale="nl"),
        "shipping_address": builders.address(address1="Hoofdstraat", house_number=None, house_number_addition=None),
        "total": None,
        "shipping_method": None,
    }
    base.update(changes)
    return builders.order(external_id, **base)


def store(services: Services, order: Order) -> int:
    with transaction(services.sessions) as session:
        ingest.store_order(session, order, services.now())
        row = session.query(OrderRow).filter_by(shop_id=order.shop_id, external_id=order.external_id).one()
        return row.id


def open_incident(services: Services, shop_id: str, order_id: int, kind: str = "address") -> int:
    now = services.now()
    with transaction(services.sessions) as session:
        row = IncidentRow(
            shop_id=shop_id,
            order_id=order_id,
            kind=kind,
            state="open",
            level=1,
            occurrence=1,
            opened_at=now,
            updated_at=now,
            details={"problems": ["missing_house_number"], "held": True},
        )
        session.add(row)
        session.flush()
        return row.id


def context(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "shop_name": "Fietsenwinkel Één",
        "order_number": "#1001",
        "first_name": "Sanne",
        "items": [{"title": "Fietsbel", "quantity": 2}, {"title": "Café-racer stuurlint", "quantity": 1}],
        "new_delivery_date": "2026-11-26",
        "hear_from_us_by": None,
        "voucher": None,
        "carrier": "PostNL",
        "tracking_url": None,
        "reason": None,
    }
    base.update(changes)
    return base


def notify_payload(template: str = "address_question", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "template": template,
        "to": "sanne@example.nl",
        "locale": "nl",
        "marketing": template == "review_request",
        "context": context(problems=["missing_house_number"]) if template == "address_question" else context(),
    }
    payload.update(changes)
    return payload


def plan_notify(
    services: Services,
    order_id: int,
    payload: dict[str, Any],
    *,
    external_id: str = "1001",
    incident_id: int | None = None,
    shop_id: str = "fietsen",
    step: str = "1-notify",
) -> int:
    with transaction(services.sessions) as session:
        action_id = plan(
            session,
            shop_id=shop_id,
            order_id=order_id,
            order_external_id=external_id,
            action=PlannedAction(kind=ActionKind.NOTIFY_CUSTOMER, policy="address", step=step, payload=payload),
            now=services.now(),
            incident_id=incident_id,
        )
    assert action_id is not None
    return action_id


class Clock:
    """A settable clock for services."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def build_services(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> Services:
    return Services.build(settings, engine=engine, clock=clock)


class FakeLookup:
    """Postcode + house number -> street and city, from a dict; ``down`` makes it unreachable."""

    def __init__(self, table: dict[tuple[str, str], LookupResult] | None = None, down: bool = False) -> None:
        self.table = (
            table if table is not None else {("1234AB", "12"): LookupResult("Hoofdstraat", "Amsterdam", "1234AB")}
        )
        self.down = down
        self.calls: list[tuple[str, str, str]] = []

    def lookup(self, country_code: str, postcode: str, house_number: str) -> LookupResult | None:
        self.calls.append((country_code, postcode, house_number))
        if self.down:
            raise LookupUnavailable("lookup switched off in this test")
        return self.table.get(("".join(postcode.split()).upper(), house_number.strip()))
