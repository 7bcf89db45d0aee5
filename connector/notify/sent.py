"""What each customer message said, as it was sent: stored with its log row, read for staff, erased, pruned.

The outbox's notify performer stores the subject, the text and the HTML (None for a customer note, which
carries text only) and the customer's language in the transaction that logs the message as sent. These are
customer data: the customer's erasure deletes them (``connector.privacy``), and housekeeping deletes them
``sent_message_retention_days`` after sending (``connector.housekeeping``). The ``email_log`` row (template,
time, Message-ID) stays, so the timeline still shows that a message went.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.store.tables import EmailLog, SentMessage

EMAIL, PLATFORM_NOTE = "email", "platform_note"


def record(
    session: Session,
    *,
    action_id: int,
    channel: str,
    locale: str,
    subject: str,
    text: str,
    html: str | None,
    sent_at: datetime,
) -> bool:
    """Store what the message logged for ``action_id`` said; False when there is no log row or it is stored."""
    log = session.scalars(select(EmailLog).where(EmailLog.action_id == action_id)).first()
    if log is None or session.get(SentMessage, log.id) is not None:
        return False
    session.add(
        SentMessage(
            email_log_id=log.id,
            shop_id=log.shop_id,
            channel=channel,
            locale=locale[:16],
            subject=subject,
            text_body=text,
            html_body=html,
            sent_at=sent_at,
        )
    )
    session.flush()
    return True


@dataclass(frozen=True)
class MessageView:
    """One logged message for staff: its log row, and what it said while that is kept (None after)."""

    log: EmailLog
    body: SentMessage | None


def for_staff(session: Session, shop_ids: Collection[str], email_log_id: int) -> MessageView | None:
    """The message of the viewer's shops with this log id; None for any other."""
    log = session.scalars(
        select(EmailLog).where(EmailLog.id == email_log_id, EmailLog.shop_id.in_(list(shop_ids)))
    ).first()
    if log is None:
        return None
    body = session.get(SentMessage, log.id)
    return MessageView(log, body if body is not None and body.shop_id == log.shop_id else None)


def erase(session: Session, email_log_ids: Collection[int]) -> int:
    """Delete what these messages said (a customer's erasure); how many were deleted."""
    if not email_log_ids:
        return 0
    result = session.execute(
        delete(SentMessage)
        .where(SentMessage.email_log_id.in_(list(email_log_ids)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def prune(session: Session, before: datetime) -> int:
    """Delete what messages sent before ``before`` said (retention); how many were deleted."""
    result = session.execute(
        delete(SentMessage).where(SentMessage.sent_at < before).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
