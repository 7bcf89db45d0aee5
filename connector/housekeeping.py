"""Daily clean-up: raw events past their retention, old webhook receipts, expired fix links, and what sent
messages said once ``sent_message_retention_days`` have passed (their log rows stay)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.notify import sent
from connector.store.tables import FixToken, RawEvent, WebhookReceipt

# platforms retry a delivery for hours (Shopify: 4 h); a week of receipts covers every repeat
RECEIPT_DAYS = 7


@dataclass
class Pruned:
    raw_events: int
    receipts: int
    fix_tokens: int
    sent_messages: int = 0


def prune(session: Session, settings: Settings, now: datetime) -> Pruned:
    raw = session.execute(
        delete(RawEvent).where(RawEvent.received_at < now - timedelta(days=settings.raw_event_retention_days))
    )
    receipts = session.execute(
        delete(WebhookReceipt).where(WebhookReceipt.received_at < now - timedelta(days=RECEIPT_DAYS))
    )
    tokens = session.execute(delete(FixToken).where(FixToken.expires_at < now - timedelta(days=30)))
    bodies = sent.prune(session, now - timedelta(days=settings.sent_message_retention_days))
    return Pruned(
        raw_events=int(getattr(raw, "rowcount", 0) or 0),
        receipts=int(getattr(receipts, "rowcount", 0) or 0),
        fix_tokens=int(getattr(tokens, "rowcount", 0) or 0),
        sent_messages=bodies,
    )
