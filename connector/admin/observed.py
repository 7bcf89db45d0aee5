"""What ordercare would have done for a shop in observe mode: each observed action in words, with its message.

An observed action (``connector.outbox.queue.OBSERVED``) keeps the payload it was planned with, so what it
would have done is read back from it: the tags, the note's text, the hold's reason, the voucher, and for a
customer message the message itself, rendered as the customer would have got it (the shop's name, voice and
language; an address question shows where its fix link would go, no link is made). Reading changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import codec
from connector.actions import ActionKind
from connector.admin import wording
from connector.admin.wording import N_
from connector.config import Settings
from connector.notify.consent import may_market
from connector.notify.render import ContextError, RenderedMessage, Renderer, renderer_for
from connector.outbox.notify import NOT_MARKETABLE, NotifyPayload, message_context
from connector.outbox.queue import OBSERVED
from connector.platforms.base import PermanentError
from connector.store.tables import ActionRow, OrderRow

FIX_URL_STAND_IN = "https://…/fix/… (the link ordercare makes when it sends this message)"


@dataclass(frozen=True)
class Observation:
    action_id: int
    shop_id: str
    order: str | None  # the order's number (or platform id)
    kind: str
    policy: str
    at: datetime
    words: wording.Phrase  # "Would have done: hold the shipment"
    detail: str  # what exactly, in plain text: the tags, the note, the subject line
    message: RenderedMessage | None = None  # a customer message as it would have gone
    recipient: str | None = None


def show_action(session: Session, settings: Settings, action_id: int, shop_id: str | None = None) -> str | None:
    """``ordercare actions show ID``: the action, what it does (or would have done) and its message, in English
    with times in the shop's zone; None if there is no such action (in ``shop_id``)."""
    row = session.get(ActionRow, action_id)
    if row is None or (shop_id and row.shop_id != shop_id):
        return None
    order_row = session.get(OrderRow, row.order_id) if row.order_id else None
    seen = describe(row, order_row, settings, renderer_for(settings.templates_dir))
    shop = settings.configured_shop(row.shop_id)
    zone = ZoneInfo(shop.timezone if shop is not None else "UTC")
    when = row.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    state = row.state + (f": {row.last_error}" if row.last_error else "")
    lines = [f"action {row.id} · shop {row.shop_id} · order {seen.order or '-'} · {row.kind} · planned {when}"]
    lines.append(f"state: {state}")
    if row.state == OBSERVED:
        lines.append(wording.render(seen.words, lambda text: text, "en", zone) + " (observe mode: not performed)")
    if seen.detail and seen.message is None:
        lines.append(seen.detail)
    if seen.message is not None:
        lines += [
            f"e-mail to {seen.recipient or 'the customer'}",
            f"subject: {seen.message.subject}",
            "",
            seen.message.text.rstrip("\n"),
        ]
    return "\n".join(lines)


def would(kind: str) -> wording.Phrase:
    return wording.phrase(N_("Would have done: %(action)s"), action=wording.action(kind))


def observed(
    session: Session,
    settings: Settings,
    shop_ids: Collection[str],
    *,
    limit: int = 50,
    renderer: Renderer | None = None,
) -> list[Observation]:
    """The newest observed actions of these shops, newest first, each with what it would have done."""
    rows = session.execute(
        select(ActionRow, OrderRow)
        .outerjoin(OrderRow, OrderRow.id == ActionRow.order_id)
        .where(ActionRow.shop_id.in_(list(shop_ids)), ActionRow.state == OBSERVED)
        .order_by(ActionRow.created_at.desc(), ActionRow.id.desc())
        .limit(limit)
    ).all()
    renderer = renderer or renderer_for(settings.templates_dir)
    return [describe(action, order, settings, renderer) for action, order in rows]


def describe(action: ActionRow, order_row: OrderRow | None, settings: Settings, renderer: Renderer) -> Observation:
    """One action, read back from its payload: what it would have done (it need not be observed)."""
    payload: dict[str, Any] = dict(action.payload or {})
    number = (order_row.number or order_row.external_id) if order_row is not None else None
    base: dict[str, Any] = {
        "action_id": action.id,
        "shop_id": action.shop_id,
        "order": number,
        "kind": action.kind,
        "policy": action.policy,
        "at": action.created_at,
        "words": would(action.kind),
    }
    if action.kind == ActionKind.NOTIFY_CUSTOMER:
        return _message(base, payload, order_row, settings, renderer)
    return Observation(**base, detail=_detail(action.kind, payload))


def _detail(kind: str, payload: dict[str, Any]) -> str:
    if kind == ActionKind.ADD_TAGS:
        return "tags: " + ", ".join(str(t) for t in payload.get("tags") or [])
    if kind == ActionKind.ADD_NOTE:
        return str(payload.get("text") or "")
    if kind == ActionKind.SET_ATTRIBUTES:
        attributes = payload.get("attributes") or {}
        return ", ".join(f"{k}={v}" for k, v in sorted(attributes.items()))
    if kind == ActionKind.CREATE_VOUCHER:
        value = payload.get("value")
        amount = f"{value}%" if payload.get("kind") == "percentage" else f"{value} {payload.get('currency', '')}"
        return f"voucher {payload.get('code')} of {amount.strip()}, valid until {payload.get('ends_at')}"
    if kind == ActionKind.HOLD_FULFILLMENT:
        return f"hold: {payload.get('reason')}"
    if kind == ActionKind.UPDATE_ADDRESS:
        address = payload.get("address") or {}
        return ", ".join(str(v) for k, v in address.items() if v and k != "raw")
    if kind == ActionKind.CREATE_CALL_TASK:
        return str(payload.get("reason") or "")
    return ""


def _message(
    base: dict[str, Any], payload: dict[str, Any], order_row: OrderRow | None, settings: Settings, renderer: Renderer
) -> Observation:
    order = codec.load_order(order_row.data) if order_row is not None else None
    try:
        parsed = NotifyPayload.parse(payload)
    except PermanentError as exc:
        return Observation(**base, detail=f"would fail: {exc.platform_message}")
    recipient = parsed.to or (order.customer.email if order is not None else None)
    basis = str(parsed.context.get("consent_basis") or "required")
    if parsed.marketing and order is not None and not may_market(order.customer.accepts_marketing, basis):
        return Observation(**base, detail=NOT_MARKETABLE, recipient=recipient)
    shop = settings.configured_shop(base["shop_id"])
    name = shop.display_name if shop is not None else base["shop_id"]
    context = message_context(parsed, settings, shop_id=base["shop_id"], shop_name=name, order=order, now=base["at"])
    if parsed.template == "address_question":
        context.setdefault("fix_url", FIX_URL_STAND_IN)
        context.setdefault("fix_expires_on", base["at"].date().isoformat())
    locale = parsed.locale or (shop.locale if shop is not None else None)
    try:
        message = renderer.render(parsed.template, locale, context)
    except ContextError as exc:
        return Observation(**base, detail=f"would fail: payload.{exc}", recipient=recipient)
    return Observation(**base, detail=message.subject, message=message, recipient=recipient)
