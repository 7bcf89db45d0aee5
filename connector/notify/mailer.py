"""Building and sending customer e-mails over SMTP (plain, STARTTLS or SSL; optional login).

``build_email`` makes a multipart text + HTML message in UTF-8 with a Message-ID derived from the
outbox idempotency key (a resend is recognisable as the same message). ``SmtpMailer.send`` maps SMTP
trouble onto the outbox's errors: no connection or a 4xx answer is retryable, a 5xx answer is permanent.
It calls ``before_data`` once the server took sender and recipient, just before the message itself goes
(SMTP DATA): from then on the server may accept the message, so the caller records that first. A connection
that breaks while the server is receiving the message raises ``DeliveryUnknown``: it may have been
accepted, and sending it again could deliver it twice.
``describe_email`` shows a message as readable terminal text (demo, preview).
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Protocol

from connector.config import EmailSettings
from connector.platforms.base import PermanentError, RetryableError


def message_id_for(idempotency_key: str, sender: str) -> str:
    """``<hash.ordercare@domain>``: the same action always yields the same Message-ID."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ordercare.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}.ordercare@{domain}>"


def sender_with_name(sender: str, display_name: str) -> str:
    """Keep a configured display name; otherwise show the shop's name before the address."""
    name, address = parseaddr(sender)
    if not address:
        raise PermanentError(f"email.sender: not an e-mail address: {sender!r}")
    return str(Address(display_name=name or display_name, addr_spec=address))


def build_email(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    reply_to: str | None = None,
    language: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    if language:  # after the parts: setting content replaces Content-* headers
        message["Content-Language"] = language
    return message


class DeliveryUnknown(PermanentError):
    """The connection broke while the server was receiving the message: it may or may not have been accepted."""


class Mailer(Protocol):
    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        """Deliver the message, calling ``before_data`` right before the server may accept it; raise
        RetryableError, PermanentError or DeliveryUnknown."""


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


@dataclass
class SmtpMailer:
    """Sends through the SMTP server in ``settings.email``; one connection per message."""

    settings: EmailSettings
    ssl_context: ssl.SSLContext | None = None  # default: the system's trusted certificates

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds, context=self._context())
        client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.timeout_seconds)
        if s.security == "starttls":
            client.ehlo()
            client.starttls(context=self._context())
            client.ehlo()
        return client

    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        where = f"{self.settings.smtp_host}:{self.settings.smtp_port}"
        try:
            client = self._connect()
            try:
                if self.settings.username:
                    client.login(self.settings.username, self.settings.password or "")
                self._envelope(client, message)
                if before_data is not None:
                    before_data()
                self._data(client, message, where)
            finally:
                _close(client)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = {addr: (code, reply.decode("utf-8", "replace")) for addr, (code, reply) in exc.recipients.items()}
            detail = "; ".join(f"{addr}: {code} {reply}" for addr, (code, reply) in answers.items())
            if all(_is_permanent(code) for code, _ in answers.values()):
                raise PermanentError(f"recipient refused by {where}", platform_message=detail) from None
            raise RetryableError(f"recipient deferred by {where}", platform_message=detail) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"{where} does not support what email.security asks: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            detail = f"{exc.smtp_code} {reply}"
            error = PermanentError if _is_permanent(exc.smtp_code) else RetryableError
            raise error(
                f"SMTP server {where} answered {detail}", platform_message=detail, status=exc.smtp_code
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise PermanentError(f"TLS certificate of {where} not trusted: {exc.verify_message}") from None
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers refused connections and timeouts
            raise RetryableError(f"cannot reach SMTP server {where}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _envelope(client: smtplib.SMTP, message: EmailMessage) -> None:
        """MAIL FROM and RCPT TO, as ``smtplib.SMTP.sendmail`` does them (refusals raise its errors)."""
        sender = parseaddr(str(message["From"]))[1]
        recipients = [address for _, address in getaddresses([str(v) for v in message.get_all("To", [])]) if address]
        client.ehlo_or_helo_if_needed()
        code, reply = client.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)

    @staticmethod
    def _data(client: smtplib.SMTP, message: EmailMessage, where: str) -> None:
        """SMTP DATA: the server's answer decides; without an answer nobody knows whether it accepted."""
        try:
            code, reply = client.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        except smtplib.SMTPDataError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryUnknown(f"the connection to {where} broke ({type(exc).__name__}: {exc})") from None
        if code != 250:  # smtplib raises only for a refused DATA command, not for a refused message
            raise smtplib.SMTPDataError(code, reply)


def _close(client: smtplib.SMTP) -> None:
    """QUIT, ignoring its answer: the message's fate was decided by the answer to DATA."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


@dataclass
class MemoryMailer:
    """Keeps messages in memory instead of sending them (demo, dry runs)."""

    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        if before_data is not None:
            before_data()
        self.sent.append(message)


def describe_email(message: EmailMessage | bytes) -> str:
    """A sent message as readable terminal text: the main headers, then the plain-text body."""
    if isinstance(message, bytes | bytearray):
        parsed = message_from_bytes(bytes(message), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        message = parsed
    lines = [f"{name}: {message[name]}" for name in ("From", "To", "Reply-To", "Subject", "Date") if message[name]]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return "\n".join(lines) + "\n\n" + str(text).replace("\r\n", "\n").rstrip() + "\n"
