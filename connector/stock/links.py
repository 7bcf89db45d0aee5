"""Signed out-of-stock choice links: a ``StockLink`` row per link, named by a token signed with the secret key.

As the address-fix links (``connector.address.fixlinks``), with their own salt and table: the row holds the
order, the incident and the expiry, ``used_at`` makes a link work once, and the id is derived from the sending
action's idempotency key, so a retried e-mail carries the same link. A link whose signature does not verify
names nothing (404); an expired or used one is gone (410).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from connector.address.fixlinks import LinkState
from connector.store.tables import StockLink

SALT = "ordercare.stock-link"
PATH = "/stock/"


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    link: StockLink | None = None


def link_id_for(secret_key: str, idempotency_key: str) -> str:
    """A stable, unguessable row id for the link sent by one action."""
    return hmac.new(secret_key.encode(), f"stock:{idempotency_key}".encode(), hashlib.sha256).hexdigest()[:32]


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def sign(secret_key: str, link_id: str) -> str:
    return str(_serializer(secret_key).dumps(link_id))


def unsign(secret_key: str, signed: str) -> str | None:
    """The link id, or None when the signature does not verify (tampered, foreign, or an address-fix link)."""
    if not signed or len(signed) > 512:
        return None
    try:
        value = _serializer(secret_key).loads(signed)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def url(public_url: str, signed: str) -> str:
    return f"{public_url.rstrip('/')}{PATH}{signed}"


def issue(
    session: Session,
    *,
    link_id: str,
    shop_id: str,
    order_id: int,
    incident_id: int | None,
    now: datetime,
    valid_days: int,
) -> StockLink:
    """The link's row, created on first use; a retry finds the row (and its expiry) as it was."""
    link = session.get(StockLink, link_id)
    if link is None:
        link = StockLink(
            id=link_id,
            shop_id=shop_id,
            order_id=order_id,
            incident_id=incident_id,
            created_at=now,
            expires_at=now + timedelta(days=valid_days),
            used_at=None,
            choice=None,
        )
        session.add(link)
        session.flush()
    return link


def check(session: Session, secret_key: str, signed: str, now: datetime) -> LinkCheck:
    link_id = unsign(secret_key, signed)
    link = session.get(StockLink, link_id) if link_id else None
    if link is None:
        return LinkCheck(LinkState.UNKNOWN)
    if link.used_at is not None:
        return LinkCheck(LinkState.USED, link)
    if link.expires_at <= now:
        return LinkCheck(LinkState.EXPIRED, link)
    return LinkCheck(LinkState.VALID, link)


def use(session: Session, link_id: str, now: datetime, choice: dict[str, Any]) -> bool:
    """Use the link up with the customer's choice; False if it was used (or expired) meanwhile."""
    result = session.execute(
        update(StockLink)
        .where(StockLink.id == link_id, StockLink.used_at.is_(None), StockLink.expires_at > now)
        .values(used_at=now, choice=choice)
    )
    return bool(getattr(result, "rowcount", 0))
