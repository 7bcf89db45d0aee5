"""Incidents: one per order and kind, opened, escalated to level n, resolved with a reason.

Each step happens once: opening an incident that is open, escalating to a level already reached or
resolving a resolved incident changes nothing and says so. A resolved incident that comes back is
reopened with its ``occurrence`` counted up, so the steps of the new occurrence get fresh keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.metrics import Metrics
from connector.store.tables import IncidentRow

OPEN, ESCALATED, RESOLVED = "open", "escalated", "resolved"


@dataclass(frozen=True)
class IncidentView:
    """What a policy may know about an incident (a read-only copy of the row)."""

    kind: str
    state: str
    level: int
    occurrence: int
    opened_at: datetime
    id: int | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state != RESOLVED

    @classmethod
    def of(cls, row: IncidentRow) -> IncidentView:
        return cls(
            kind=row.kind,
            state=row.state,
            level=row.level,
            occurrence=row.occurrence,
            opened_at=row.opened_at,
            id=row.id,
            resolved_at=row.resolved_at,
            resolution=row.resolution,
            details=dict(row.details or {}),
        )


def load_for_orders(session: Session, order_ids: Iterable[int]) -> dict[int, list[IncidentRow]]:
    """The incidents of many orders in one query, by order id."""
    ids = list(order_ids)
    found: dict[int, list[IncidentRow]] = {}
    if not ids:
        return found
    for row in session.scalars(select(IncidentRow).where(IncidentRow.order_id.in_(ids))):
        found.setdefault(row.order_id, []).append(row)
    return found


def open_incident(
    session: Session,
    *,
    shop_id: str,
    order_id: int,
    kind: str,
    now: datetime,
    level: int = 1,
    details: Mapping[str, Any] | None = None,
    existing: IncidentRow | None = None,
    metrics: Metrics | None = None,
) -> tuple[IncidentRow, bool]:
    """Open (or reopen) the order's incident of this kind; (row, True) if it was not already active."""
    row = existing
    if row is None:
        row = session.scalars(
            select(IncidentRow).where(IncidentRow.order_id == order_id, IncidentRow.kind == kind)
        ).first()
    if row is not None and row.state != RESOLVED:
        return row, False
    if row is None:
        row = IncidentRow(shop_id=shop_id, order_id=order_id, kind=kind, occurrence=1)
        session.add(row)
    else:
        row.occurrence = row.occurrence + 1
        row.resolved_at = None
        row.resolution = None
    row.state = OPEN if level <= 1 else ESCALATED
    row.level = level
    row.opened_at = now
    row.updated_at = now
    row.details = dict(details or {})
    session.flush()
    if metrics is not None:
        metrics.incidents_opened.labels(kind).inc()
    return row, True


def escalate(
    session: Session, row: IncidentRow, level: int, now: datetime, details: Mapping[str, Any] | None = None
) -> bool:
    """Raise an active incident to ``level``; False if it is resolved or already at that level or above."""
    if row.state == RESOLVED or level <= row.level:
        return False
    row.level = level
    row.state = ESCALATED
    row.updated_at = now
    if details:
        row.details = {**(row.details or {}), **details}
    session.flush()
    return True


def add_details(row: IncidentRow, details: Mapping[str, Any], now: datetime) -> None:
    row.details = {**(row.details or {}), **details}
    row.updated_at = now


def resolve(session: Session, incident_id: int, reason: str, now: datetime, metrics: Metrics | None = None) -> bool:
    """Mark an incident resolved with the reason (e.g. "address corrected by customer"); False if it was
    already resolved. Counts the metric where a Metrics object is at hand (optional argument)."""
    kind = session.execute(
        update(IncidentRow)
        .where(IncidentRow.id == incident_id, IncidentRow.state != RESOLVED)
        .values(state=RESOLVED, resolved_at=now, updated_at=now, resolution=reason)
        .returning(IncidentRow.kind)
        .execution_options(synchronize_session="fetch")
    ).scalar()
    if kind is None:
        return False
    if metrics is not None:
        metrics.incidents_resolved.labels(kind).inc()
    return True
