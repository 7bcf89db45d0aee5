"""Incidents: one per order and kind, opened, escalated to level n, resolved with a reason.

Each step happens once: opening an incident that is open, escalating to a level already reached or
resolving a resolved incident changes nothing and says so. A resolved incident that comes back is
reopened with its ``occurrence`` counted up, so the steps of the new occurrence get fresh keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from connector.metrics import Metrics
from connector.store.tables import IncidentRow, table_of

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


Incidents = Mapping[str, IncidentView]  # an order's incidents by kind, as the policies see them


_TABLE = table_of(IncidentRow)
_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.order_id,
    _TABLE.c.kind,
    _TABLE.c.state,
    _TABLE.c.level,
    _TABLE.c.occurrence,
    _TABLE.c.opened_at,
    _TABLE.c.resolved_at,
    _TABLE.c.resolution,
    _TABLE.c.details,
)
_INSERT = _TABLE.insert().returning(_TABLE.c.id)
_UPDATE = _TABLE.update().where(_TABLE.c.id == bindparam("incident_id"))


def _view(row: Any) -> IncidentView:
    return IncidentView(
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


def load_for_orders(session: Session, order_ids: Iterable[int]) -> dict[int, dict[str, IncidentView]]:
    """The incidents of many orders in one query: order id -> kind -> incident."""
    ids = list(order_ids)
    found: dict[int, dict[str, IncidentView]] = {}
    if ids:
        for row in session.execute(select(*_COLUMNS).where(_TABLE.c.order_id.in_(ids))):
            found.setdefault(row.order_id, {})[row.kind] = _view(row)
    return found


def get(session: Session, order_id: int, kind: str) -> IncidentView | None:
    row = session.execute(select(*_COLUMNS).where(_TABLE.c.order_id == order_id, _TABLE.c.kind == kind)).first()
    return _view(row) if row is not None else None


def open_incident(
    session: Session,
    *,
    shop_id: str,
    order_id: int,
    kind: str,
    now: datetime,
    level: int = 1,
    details: Mapping[str, Any] | None = None,
    existing: IncidentView | None = None,
    known: bool = False,
    metrics: Metrics | None = None,
) -> tuple[IncidentView, bool]:
    """Open (or reopen) the order's incident of this kind; (incident, True) if it was not already active.

    ``known``: the caller loaded the order's incidents, so ``existing`` is the truth and no query is needed.
    """
    current = existing if known else get(session, order_id, kind)
    if current is not None and current.active:
        return current, False
    state = OPEN if level <= 1 else ESCALATED
    stored = dict(details or {})
    values = {"state": state, "level": level, "opened_at": now, "updated_at": now, "details": stored}
    if current is None:
        incident_id = session.execute(
            _INSERT, {"shop_id": shop_id, "order_id": order_id, "kind": kind, "occurrence": 1, **values}
        ).scalar_one()
        occurrence = 1
    else:
        incident_id, occurrence = current.id, current.occurrence + 1
        session.execute(
            _UPDATE,
            {"incident_id": incident_id, "occurrence": occurrence, "resolved_at": None, "resolution": None, **values},
        )
    if metrics is not None:
        metrics.incidents_opened.labels(kind).inc()
    view = IncidentView(kind, state, level, occurrence, now, id=incident_id, details=stored)
    return view, True


def escalate(
    session: Session, incident: IncidentView, level: int, now: datetime, details: Mapping[str, Any] | None = None
) -> IncidentView | None:
    """Raise an active incident to ``level``; None if it is resolved or already at that level or above."""
    if not incident.active or level <= incident.level:
        return None
    merged = {**incident.details, **(details or {})}
    session.execute(
        _UPDATE, {"incident_id": incident.id, "level": level, "state": ESCALATED, "updated_at": now, "details": merged}
    )
    return replace(incident, level=level, state=ESCALATED, details=merged)


def add_details(session: Session, incident: IncidentView, details: Mapping[str, Any], now: datetime) -> IncidentView:
    merged = {**incident.details, **details}
    session.execute(_UPDATE, {"incident_id": incident.id, "updated_at": now, "details": merged})
    return replace(incident, details=merged)


def resolve(session: Session, incident_id: int, reason: str, now: datetime, metrics: Metrics | None = None) -> bool:
    """Mark an incident resolved with the reason (e.g. "address corrected by customer"); False if it was
    already resolved. Counts the metric where a Metrics object is at hand (optional argument)."""
    kind = session.execute(
        update(IncidentRow)
        .where(IncidentRow.id == incident_id, IncidentRow.state != RESOLVED)
        .values(state=RESOLVED, resolved_at=now, updated_at=now, resolution=reason)
        .returning(IncidentRow.kind)
        .execution_options(synchronize_session=False)
    ).scalar()
    if kind is None:
        return False
    if metrics is not None:
        metrics.incidents_resolved.labels(kind).inc()
    return True
