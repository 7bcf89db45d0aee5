"""Signed address-fix links: a ``FixToken`` row per link, named by a token signed with the secret key.

The row holds the order, the incident and the expiry; ``used_at`` makes a link work once. The id is
derived from the sending action's idempotency key, so a retried e-mail carries the same link. A link
whose signature does not verify names nothing (404); an expired or used one is gone (410).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from connector.store.tables import FixToken

SALT = "ordercare.fix-link"


class LinkState(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"  # bad signature or no such row: 404
    EXPIRED = "expired"  # 410
    USED = "used"  # 410


@dataclass(frozen=True)
class LinkCheck:
    state: LinkState
    token: FixToken | None = None


def token_id_for(secret_key: str, idempotency_key: str) -> str:
    """A stable, unguessable row id for the link sent by one action."""
    digest = hmac.new(secret_key.encode(), f"fix:{idempotency_key}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=SALT)


def sign(secret_key: str, token_id: str) -> str:
    return str(_serializer(secret_key).dumps(token_id))


def unsign(secret_key: str, signed: str) -> str | None:
    """The token id, or None when the signature does not verify (tampered or foreign link)."""
    if not signed or len(signed) > 512:
        return None
    try:
        value = _serializer(secret_key).loads(signed)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def fix_url(public_url: str, signed: str) -> str:
    return f"{public_url.rstrip('/')}/fix/{signed}"


def issue(
    session: Session,
    *,
    token_id: str,
    shop_id: str,
    order_id: int,
    incident_id: int | None,
    now: datetime,
    valid_days: int,
) -> FixToken:
    """The link's row, created on first use; a retry finds the row (and its expiry) as it was."""
    token = session.get(FixToken, token_id)
    if token is None:
        token = FixToken(
            id=token_id,
            shop_id=shop_id,
            order_id=order_id,
            incident_id=incident_id,
            created_at=now,
            expires_at=now + timedelta(days=valid_days),
            used_at=None,
        )
        session.add(token)
        session.flush()
    return token


def check(session: Session, secret_key: str, signed: str, now: datetime) -> LinkCheck:
    token_id = unsign(secret_key, signed)
    token = session.get(FixToken, token_id) if token_id else None
    if token is None:
        return LinkCheck(LinkState.UNKNOWN)
    if token.used_at is not None:
        return LinkCheck(LinkState.USED, token)
    if token.expires_at <= now:
        return LinkCheck(LinkState.EXPIRED, token)
    return LinkCheck(LinkState.VALID, token)


def mark_used(session: Session, token_id: str, now: datetime) -> bool:
    """Use the link up; False if it was used (or expired) meanwhile, e.g. by a second submit."""
    result = session.execute(
        update(FixToken)
        .where(FixToken.id == token_id, FixToken.used_at.is_(None), FixToken.expires_at > now)
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
