"""The performer for NOTIFY_CUSTOMER: render the message, send it once, remember that it went.

E-mail goes over SMTP with a Message-ID derived from the idempotency key and an ``EmailLog`` row per
action; shops whose customer channel is ``platform_note`` get a customer note on the order instead (the
platform e-mails it). An address question carries a signed fix link created at send time. A marketing
message (review request) is skipped, with the reason as the action's result, when the stored order says
the customer does not accept marketing. The dates a sent message gives the customer are stored as
promises (``connector.promises``) in the transaction that logs it, and so is what it said (subject, text,
HTML, language: ``connector.notify.sent``), for staff to open as the customer got it.

The SMTP server's "accepted" and our log row cannot be committed together. So the attempt is marked
``sending`` (committed) right before the message goes (SMTP DATA), and the log row follows the server's
answer. An attempt that finds an earlier one stopped in that window (a killed worker), or a connection that
broke while the server was receiving the message, does not send again: nobody knows whether the message
arrived, and a second copy is worse than asking staff. The action fails with the reason and the Message-ID
to look up in the mail server's log; staff's retry sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connector import codec
from connector.actions import ActionKind, ActionRequest
from connector.address import fixlinks
from connector.config import Settings
from connector.model import Address, Order
from connector.notify import sent
from connector.notify.consent import may_market
from connector.notify.mailer import DeliveryUnknown, Mailer, build_email, message_id_for, sender_with_name
from connector.notify.render import TEMPLATES, ContextError, RenderedMessage, Renderer, renderer_for
from connector.outbox.base import SENDING
from connector.platforms.base import PermanentError
from connector.promises import store as promises
from connector.reports import links as report_links
from connector.stock import links as stock_links
from connector.store.db import transaction
from connector.store.tables import ActionAttempt, ActionRow, EmailLog, OrderRow
from connector.tracking.links import order_page_url

if TYPE_CHECKING:
    from connector.outbox.base import Environment
    from connector.shops import Shop

log = logging.getLogger(__name__)

NOT_MARKETABLE = "not sent: the customer does not accept marketing e-mail"


def uncertain_delivery(what: str, message_id: str) -> str:
    """Why an e-mail that may or may not have arrived is not sent again, for staff."""
    return (
        f"not sent again: {what} while the mail server was accepting this e-mail, so it may or may not have "
        f"arrived; check the mail server's log for Message-ID {message_id}, and retry only if it is not there"
    )


@dataclass(frozen=True)
class NotifyPayload:
    template: str
    to: str | None
    locale: str | None
    marketing: bool
    context: dict[str, Any]

    @classmethod
    def parse(cls, payload: dict[str, Any]) -> NotifyPayload:
        template = payload.get("template")
        if template not in TEMPLATES:
            raise PermanentError(f"payload.template: unknown message {template!r}; known: {', '.join(TEMPLATES)}")
        to = payload.get("to")
        if to is not None and (not isinstance(to, str) or "@" not in to):
            raise PermanentError(f"payload.to: not an e-mail address: {to!r}")
        locale = payload.get("locale")
        if locale is not None and not isinstance(locale, str):
            raise PermanentError(f"payload.locale: expected text, got {type(locale).__name__}")
        marketing = payload.get("marketing", False)
        if not isinstance(marketing, bool):
            raise PermanentError(f"payload.marketing: expected true or false, got {marketing!r}")
        context = payload.get("context")
        if not isinstance(context, dict):
            raise PermanentError("payload.context: expected an object")
        return cls(str(template), to or None, locale, marketing, dict(context))


@dataclass(frozen=True)
class Prepared:
    payload: NotifyPayload
    shop: Shop
    action: ActionRow | None
    order: Order | None
    message: RenderedMessage


def message_context(
    payload: NotifyPayload, settings: Settings, *, shop_id: str, shop_name: str, order: Order | None, now: datetime
) -> dict[str, Any]:
    """What a customer message renders with, from its payload, the shop and the order; sending adds the fix link
    and drops a voucher the shop refused (the observed-action preview renders with this too)."""
    context = dict(payload.context)
    context.setdefault("shop_name", shop_name)
    if order is not None:  # every message links to the order's tracking page while that page works
        context.setdefault("tracking_page_url", order_page_url(settings.secret_key, settings.public_url, order, now))
        context.setdefault("report_url", report_links.report_url(settings.secret_key, settings.public_url, order, now))
        if payload.template == "address_question" and not context.get("address_lines"):
            context["address_lines"] = address_lines(order.shipping_address)
    signature = settings.voice_for(shop_id).signature
    if signature:
        context["signature"] = signature.strip().splitlines()
    return context


def address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    place = " ".join(p for p in (address.postcode, address.city) if p)
    return [line for line in (address.address1, address.address2, place) if line]


def _insert_log(env: Environment, values: dict[str, Any], then: Callable[[Session], object] | None = None) -> None:
    """Log the message as sent; ``then`` writes what goes with it in the same transaction (its promises)."""
    with transaction(env.services.sessions) as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(EmailLog).values(**values).on_conflict_do_nothing(index_elements=["action_id"]))
        if then is not None:
            then(session)


def _record_promises(session: Session, request: ActionRequest, prepared: Prepared, sent_at: datetime) -> None:
    """The dates an accepted message gave the customer become promises on the order (``connector.promises``)."""
    action = prepared.action
    if action is None:
        return
    promises.record_message(
        session,
        shop_id=request.shop_id,
        order_id=action.order_id,
        action_id=request.action_id,
        policy=action.policy,
        template=prepared.payload.template,
        context=prepared.payload.context,
        order=prepared.order,
        sent_at=sent_at,
        tz=ZoneInfo(prepared.shop.timezone),
    )


def _record_body(session: Session, request: ActionRequest, prepared: Prepared, channel: str, sent_at: datetime) -> None:
    """What the customer got, as they got it (``connector.notify.sent``): a customer note carries the text only."""
    message = prepared.message
    note = channel == sent.PLATFORM_NOTE
    sent.record(
        session,
        action_id=request.action_id,
        channel=channel,
        locale=message.locale,
        subject=message.subject,
        text=message.text.strip() if note else message.text,
        html=None if note else message.html,
        sent_at=sent_at,
    )


class NotifyPerformer:
    """Performs NOTIFY_CUSTOMER actions (see the module docstring)."""

    def __init__(self, mailer: Mailer | None = None, renderer: Renderer | None = None) -> None:
        self._mailer = mailer
        self._renderer = renderer

    def mailer(self, env: Environment) -> Mailer:
        return self._mailer or env.mailer_for()

    def renderer(self, env: Environment) -> Renderer:
        return self._renderer or renderer_for(env.services.settings.templates_dir)

    # --- the Performer protocol ------------------------------------------------------------------

    def perform(self, request: ActionRequest, env: Environment) -> dict[str, Any]:
        logged = self._logged(request, env)
        if logged is not None:
            return logged
        if self._stopped_while_sending(request, env):
            raise PermanentError(uncertain_delivery("the worker stopped", self._mid(request, env)))
        payload = NotifyPayload.parse(request.payload)
        action, order = self._load(request, env)
        basis = str(payload.context.get("consent_basis") or "required")
        if payload.marketing and order is not None and not may_market(order.customer.accepts_marketing, basis):
            log.info("action %s: %s", request.action_id, NOT_MARKETABLE)
            return {"skipped": NOT_MARKETABLE, "template": payload.template}
        prepared = self._prepare(request, env, payload, action, order)
        if prepared.shop.customer_channel == "platform_note":
            return self._send_note(request, env, prepared)
        return self._send_email(request, env, prepared)

    def already_done(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        logged = self._logged(request, env)
        if logged is not None or env.shop(request.shop_id).customer_channel != "platform_note":
            return logged
        payload = NotifyPayload.parse(request.payload)
        action, order = self._load(request, env)
        prepared = self._prepare(request, env, payload, action, order)
        result = env.client_for(request.shop_id).already_done(self._note_request(request, prepared))
        if result is not None:
            self._log(
                request, env, prepared, recipient=payload.to or "customer note", message_id=self._mid(request, env),
                channel=sent.PLATFORM_NOTE,
            )  # fmt: skip
            return {**result, "channel": "platform_note", "template": payload.template}
        return None

    # --- steps -----------------------------------------------------------------------------------

    def _logged(self, request: ActionRequest, env: Environment) -> dict[str, Any] | None:
        with env.services.sessions() as session:
            row = session.scalars(select(EmailLog).where(EmailLog.action_id == request.action_id)).first()
            if row is None:
                return None
            return {"message_id": row.message_id, "template": row.template, "recipient": row.recipient}

    def _stopped_while_sending(self, request: ActionRequest, env: Environment) -> bool:
        """An earlier attempt never finished after it marked the message as going to the mail server."""
        with env.services.sessions() as session:
            found = session.scalar(
                select(ActionAttempt.id).where(
                    ActionAttempt.action_id == request.action_id,
                    ActionAttempt.attempt != request.attempt,
                    ActionAttempt.outcome == SENDING,
                    ActionAttempt.finished_at.is_(None),
                )
            )
        return found is not None

    def _mark_sending(self, request: ActionRequest, env: Environment) -> None:
        with transaction(env.services.sessions) as session:
            session.execute(
                update(ActionAttempt)
                .where(
                    ActionAttempt.action_id == request.action_id,
                    ActionAttempt.attempt == request.attempt,
                    ActionAttempt.finished_at.is_(None),
                )
                .values(outcome=SENDING)
            )

    def _load(self, request: ActionRequest, env: Environment) -> tuple[ActionRow | None, Order | None]:
        with env.services.sessions() as session:
            action = session.get(ActionRow, request.action_id)
            row = session.get(OrderRow, action.order_id) if action is not None and action.order_id else None
            return action, (codec.load_order(row.data) if row is not None else None)

    def _prepare(
        self,
        request: ActionRequest,
        env: Environment,
        payload: NotifyPayload,
        action: ActionRow | None,
        order: Order | None,
    ) -> Prepared:
        shop = env.shop(request.shop_id)
        context = message_context(
            payload, env.services.settings, shop_id=shop.id, shop_name=shop.name, order=order, now=env.services.now()
        )
        if context.get("voucher") and not self._voucher_created(env, action):
            context["voucher"] = None  # never hand out a code the shop refused to create
        if payload.template == "address_question":
            context.update(self._fix_link(request, env, shop, action, order))
        if payload.template == "out_of_stock":
            context.update(self._choice_link(request, env, shop, action))
        try:
            message = self.renderer(env).render(payload.template, payload.locale or shop.locale, context)
        except ContextError as exc:
            raise PermanentError(f"payload.{exc}") from None
        return Prepared(payload, shop, action, order, message)

    def _voucher_created(self, env: Environment, action: ActionRow | None) -> bool:
        """The voucher this message names exists in the shop (its action, if any, ended done)."""
        if action is None or action.after_key is None:
            return True
        with env.services.sessions() as session:
            state = session.scalar(select(ActionRow.state).where(ActionRow.idempotency_key == action.after_key))
        return state in (None, "done")

    def _fix_link(
        self, request: ActionRequest, env: Environment, shop: Shop, action: ActionRow | None, order: Order | None
    ) -> dict[str, Any]:
        if action is None or action.order_id is None:
            raise PermanentError("an address question needs the order it is about (the action has no order)")
        settings = env.services.settings
        token_id = fixlinks.token_id_for(settings.secret_key, request.idempotency_key)
        with transaction(env.services.sessions) as session:
            token = fixlinks.issue(
                session,
                token_id=token_id,
                shop_id=request.shop_id,
                order_id=action.order_id,
                incident_id=action.incident_id,
                now=env.services.now(),
                valid_days=settings.fix_link_days,
            )
            expires_at: datetime = token.expires_at
        return {
            "fix_url": fixlinks.fix_url(settings.public_url, fixlinks.sign(settings.secret_key, token_id)),
            "fix_expires_on": expires_at.astimezone(ZoneInfo(shop.timezone)).date().isoformat(),
        }

    def _choice_link(
        self, request: ActionRequest, env: Environment, shop: Shop, action: ActionRow | None
    ) -> dict[str, Any]:
        """The signed out-of-stock choice link (``connector.stock.links``), created at send time as the fix link."""
        if action is None or action.order_id is None:
            raise PermanentError("an out-of-stock message needs the order it is about (the action has no order)")
        settings = env.services.settings
        link_id = stock_links.link_id_for(settings.secret_key, request.idempotency_key)
        valid_days = settings.policies_for(shop.id).out_of_stock.link_valid_days
        with transaction(env.services.sessions) as session:
            link = stock_links.issue(
                session,
                link_id=link_id,
                shop_id=request.shop_id,
                order_id=action.order_id,
                incident_id=action.incident_id,
                now=env.services.now(),
                valid_days=valid_days,
            )
            expires_at: datetime = link.expires_at
        return {
            "choice_url": stock_links.url(settings.public_url, stock_links.sign(settings.secret_key, link_id)),
            "choice_expires_on": expires_at.astimezone(ZoneInfo(shop.timezone)).date().isoformat(),
        }

    def _mid(self, request: ActionRequest, env: Environment) -> str:
        return message_id_for(request.idempotency_key, env.services.settings.voice_for(request.shop_id).sender)

    def _log(
        self,
        request: ActionRequest,
        env: Environment,
        prepared: Prepared,
        *,
        recipient: str,
        message_id: str,
        channel: str = sent.EMAIL,
    ) -> None:
        sent_at = env.services.now()

        def then(session: Session) -> None:
            _record_promises(session, request, prepared, sent_at)
            _record_body(session, request, prepared, channel, sent_at)

        _insert_log(
            env,
            {
                "shop_id": request.shop_id,
                "order_id": prepared.action.order_id if prepared.action is not None else None,
                "action_id": request.action_id,
                "template": prepared.payload.template,
                "recipient": recipient[:320],
                "subject": prepared.message.subject,
                "message_id": message_id,
                "sent_at": sent_at,
            },
            then=then,
        )

    def _send_email(self, request: ActionRequest, env: Environment, prepared: Prepared) -> dict[str, Any]:
        payload, message = prepared.payload, prepared.message
        if payload.to is None:
            raise PermanentError("payload.to: no customer e-mail address to send to")
        voice = env.services.settings.voice_for(request.shop_id)
        sender = sender_with_name(voice.sender, prepared.shop.name)
        headers: dict[str, str] = {}
        if payload.marketing:
            unsubscribe_to = parseaddr(voice.reply_to or voice.sender)[1]
            headers["List-Unsubscribe"] = f"<mailto:{unsubscribe_to}?subject=stop>"
        message_id = self._mid(request, env)
        outgoing = build_email(
            sender=sender,
            recipient=payload.to,
            subject=message.subject,
            text=message.text,
            html=message.html,
            message_id=message_id,
            date=env.services.now(),
            reply_to=voice.reply_to,
            language=message.locale,
            extra_headers=headers,
        )
        try:
            self.mailer(env).send(outgoing, before_data=lambda: self._mark_sending(request, env))
        except DeliveryUnknown as exc:
            raise PermanentError(uncertain_delivery(str(exc), message_id)) from None
        self._log(request, env, prepared, recipient=payload.to, message_id=message_id)
        log.info("action %s: sent %s (%s)", request.action_id, payload.template, message.locale)
        return {"message_id": message_id, "template": payload.template, "recipient": payload.to, "channel": "email"}

    def _note_request(self, request: ActionRequest, prepared: Prepared) -> ActionRequest:
        return ActionRequest(
            action_id=request.action_id,
            shop_id=request.shop_id,
            kind=ActionKind.ADD_NOTE,
            idempotency_key=request.idempotency_key,
            payload={"text": prepared.message.text.strip(), "customer_note": True},
            order_external_id=request.order_external_id,
            attempt=request.attempt,
        )

    def _send_note(self, request: ActionRequest, env: Environment, prepared: Prepared) -> dict[str, Any]:
        result = env.client_for(request.shop_id).perform(self._note_request(request, prepared))
        recipient = prepared.payload.to or "customer note"
        self._log(
            request, env, prepared, recipient=recipient, message_id=self._mid(request, env), channel=sent.PLATFORM_NOTE
        )
        log.info("action %s: %s left as a customer note", request.action_id, prepared.payload.template)
        return {**result, "template": prepared.payload.template, "channel": "platform_note"}
