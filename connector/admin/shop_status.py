"""The dashboard's Shops page: per shop its webhooks, what ordercare did about them, deliveries and reconcile.

Read from the store only (the page never calls a shop): the webhook state the last reconcile kept sealed in
``shops.webhook_keys`` (``connector.shops.WebhookState``), signature failures and deliveries from ``raw_events``,
and the last reconcile's time and error from the shop row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.crypto import SecretBox
from connector.platforms.woocommerce.webhooks import SIGNATURE_FAILURES_TO_REPLACE
from connector.privacy import EXPORT_TOPIC
from connector.reconcile import RECONCILE_ERROR
from connector.shops import BAD_SIGNATURE, WebhookState, signature_failures
from connector.store.tables import RawEvent, ShopRow

FAILURE_DAYS = 7  # signature failures are counted over this many days


@dataclass(frozen=True)
class Webhook:
    id: str
    topic: str
    status: str  # active | paused | disabled (WooCommerce's words)
    failure_count: int
    ours: bool  # created by ordercare (its name starts with "ordercare")
    own_secret: bool  # signed with a secret ordercare generated and keeps
    replaced_at: datetime | None  # when ordercare created it in place of another
    replaced_why: str | None  # signature | disabled
    replaced_old: str | None
    reported: str | None  # trouble ordercare no longer acts on (a ``webhooks`` why code)

    @property
    def healthy(self) -> bool:
        return self.status == "active" and self.failure_count == 0 and self.reported is None


@dataclass(frozen=True)
class Change:
    at: datetime
    action: str  # created | adopted | reenabled | replaced | removed | reported
    topic: str
    webhook: str
    old: str | None
    why: str | None


@dataclass(frozen=True)
class ShopStatus:
    id: str
    name: str
    platform: str
    webhooks: tuple[Webhook, ...]
    webhooks_checked_at: datetime | None
    changes: tuple[Change, ...]  # newest first
    last_delivery_at: datetime | None
    signature_failures: int  # in the last ``FAILURE_DAYS`` days
    last_signature_failure_at: datetime | None
    last_reconciled_at: datetime | None
    reconcile_error: str | None

    @property
    def healthy(self) -> int:
        return sum(1 for hook in self.webhooks if hook.healthy)

    @property
    def replaced(self) -> int:
        return sum(1 for hook in self.webhooks if hook.replaced_at is not None)


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _webhooks(state: WebhookState) -> tuple[Webhook, ...]:
    found = []
    for hook in state.hooks:
        hook_id = str(hook.get("id"))
        replaced = state.replaced.get(hook_id) or {}
        found.append(
            Webhook(
                id=hook_id,
                topic=str(hook.get("topic") or ""),
                status=str(hook.get("status") or ""),
                failure_count=int(hook.get("failure_count") or 0),
                ours=bool(hook.get("ours")),
                own_secret=bool(hook.get("own_secret")),
                replaced_at=_moment(replaced.get("at")),
                replaced_why=replaced.get("why"),
                replaced_old=replaced.get("old"),
                reported=(state.reported.get(hook_id) or {}).get("why"),
            )
        )
    return tuple(sorted(found, key=lambda h: (h.topic, h.id)))


def _changes(state: WebhookState) -> tuple[Change, ...]:
    changes = []
    for entry in state.history:
        at = _moment(entry.get("at"))
        if at is None:
            continue
        changes.append(
            Change(
                at=at,
                action=str(entry.get("action") or ""),
                topic=str(entry.get("topic") or ""),
                webhook=str(entry.get("webhook") or ""),
                old=entry.get("old"),
                why=entry.get("why"),
            )
        )
    return tuple(reversed(changes))


def _last_delivery(session: Session, shop_id: str) -> datetime | None:
    """The last delivery stored for the shop (a signature failure or a data export is not one)."""
    value: datetime | None = session.scalar(
        select(func.max(RawEvent.received_at)).where(
            RawEvent.shop_id == shop_id, RawEvent.outcome != BAD_SIGNATURE, RawEvent.topic != EXPORT_TOPIC
        )
    )
    return value


def shop_statuses(session: Session, box: SecretBox, shop_ids: Collection[str], now: datetime) -> list[ShopStatus]:
    rows = session.scalars(select(ShopRow).where(ShopRow.id.in_(shop_ids)).order_by(ShopRow.id))
    statuses = []
    for row in rows:
        state = WebhookState.of(box.open(row.webhook_keys)) if row.webhook_keys else WebhookState()
        failures = signature_failures(session, row.id, now - timedelta(days=FAILURE_DAYS))
        error = (row.settings or {}).get(RECONCILE_ERROR)
        statuses.append(
            ShopStatus(
                id=row.id,
                name=row.name or row.id,
                platform=row.platform,
                webhooks=_webhooks(state),
                webhooks_checked_at=state.checked_at,
                changes=_changes(state),
                last_delivery_at=_last_delivery(session, row.id),
                signature_failures=sum(f.count for f in failures.values()),
                last_signature_failure_at=max((f.last_at for f in failures.values()), default=None),
                last_reconciled_at=row.last_reconciled_at,
                reconcile_error=str(error) if error else None,
            )
        )
    return statuses


__all__ = ["FAILURE_DAYS", "SIGNATURE_FAILURES_TO_REPLACE", "Change", "ShopStatus", "Webhook", "shop_statuses"]
