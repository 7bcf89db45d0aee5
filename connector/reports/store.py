"""Report rows: stored once per form, loaded for the tick, counted for a flood, erased with the customer's data.

A report is *taken* by the incident of its kind once that incident was opened at or after the report came in;
until then it is pending (the policy opens the incident at the next evaluation). A report is *open* while it
is pending or its incident is active: an order has one open report at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.incidents import IncidentView
from connector.reports.form import Draft
from connector.reports.model import ReportView
from connector.store.tables import OrderRow, ProblemReport

KEPT_FOR_THE_TICK = timedelta(days=120)  # reports older than this no longer change what the policy decides


def _view(row: ProblemReport) -> ReportView:
    return ReportView(
        id=row.id,
        cause=row.cause,
        channel=row.channel,
        submitted_at=row.submitted_at,
        language=row.language,
        lines=tuple(row.lines or ()),
        has_photo=row.photo is not None,
        has_text=bool(row.text),
    )


def save(
    session: Session,
    *,
    shop_id: str,
    order_id: int,
    draft: Draft,
    channel: str,
    language: str,
    submission: str,
    now: datetime,
) -> int | None:
    """Store the report and make the order due now; None when this form was sent before (nothing stored)."""
    row = ProblemReport(
        shop_id=shop_id,
        order_id=order_id,
        cause=draft.cause,
        channel=channel,
        language=language,
        lines=[dict(line) for line in draft.lines],
        text=draft.text,
        photo=draft.photo.data if draft.photo is not None else None,
        photo_type=draft.photo.type if draft.photo is not None else None,
        submission=submission,
        submitted_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    session.execute(
        update(OrderRow)
        .where(OrderRow.id == order_id, (OrderRow.next_check_at.is_(None)) | (OrderRow.next_check_at > now))
        .values(next_check_at=now)
        .execution_options(synchronize_session=False)
    )
    return row.id


def submission_used(session: Session, submission: str) -> bool:
    """A report was stored from this form already."""
    return session.scalar(select(ProblemReport.id).where(ProblemReport.submission == submission)) is not None


def for_orders(session: Session, order_ids: Iterable[int], now: datetime) -> dict[int, tuple[ReportView, ...]]:
    """The recent reports of many orders in one query: order id -> reports, oldest first."""
    ids = list(order_ids)
    found: dict[int, list[ReportView]] = {}
    if ids:
        query = (
            select(ProblemReport)
            .where(ProblemReport.order_id.in_(ids), ProblemReport.submitted_at > now - KEPT_FOR_THE_TICK)
            .order_by(ProblemReport.submitted_at, ProblemReport.id)
        )
        for row in session.scalars(query):
            found.setdefault(row.order_id, []).append(_view(row))
    return {order_id: tuple(views) for order_id, views in found.items()}


def taken(report: ReportView, incidents: Mapping[str, IncidentView]) -> bool:
    """An incident of the report's kind was opened for it (at or after it came in)."""
    incident = incidents.get(report.kind)
    return incident is not None and incident.opened_at >= report.submitted_at


def pending(reports: Iterable[ReportView], incidents: Mapping[str, IncidentView]) -> list[ReportView]:
    """The reports no incident has taken yet, newest last."""
    return [r for r in reports if not taken(r, incidents)]


def open_report(reports: Iterable[ReportView], incidents: Mapping[str, IncidentView]) -> ReportView | None:
    """The order's report still being handled (pending, or its incident active), if there is one."""
    for report in reversed(list(reports)):
        incident = incidents.get(report.kind)
        if not taken(report, incidents) or (incident is not None and incident.active):
            return report
    return None


def recent_counts(
    session: Session, shop_id: str, order_id: int, order_since: datetime, shop_since: datetime
) -> tuple[int, int]:
    """(reports of this order since ``order_since``, reports of the shop since ``shop_since``): the flood check."""
    per_order = session.scalar(
        select(func.count()).where(ProblemReport.order_id == order_id, ProblemReport.submitted_at > order_since)
    )
    per_shop = session.scalar(
        select(func.count()).where(ProblemReport.shop_id == shop_id, ProblemReport.submitted_at > shop_since)
    )
    return int(per_order or 0), int(per_shop or 0)


@dataclass(frozen=True)
class StaffReport:
    """A report as staff see it on the dashboard: with the customer's words, and whether a photo is kept."""

    id: int
    order_id: int
    cause: str
    channel: str
    submitted_at: datetime
    lines: tuple[Mapping[str, object], ...]
    text: str | None
    photo_type: str | None


def for_staff(session: Session, shop_ids: Collection[str], order_id: int) -> list[StaffReport]:
    """The order's reports for its shop's staff, newest first."""
    rows = session.execute(
        select(
            ProblemReport.id,
            ProblemReport.order_id,
            ProblemReport.cause,
            ProblemReport.channel,
            ProblemReport.submitted_at,
            ProblemReport.lines,
            ProblemReport.text,
            ProblemReport.photo_type,
        )
        .where(ProblemReport.order_id == order_id, ProblemReport.shop_id.in_(list(shop_ids)))
        .order_by(ProblemReport.submitted_at.desc(), ProblemReport.id.desc())
    ).all()
    return [StaffReport(r[0], r[1], r[2], r[3], r[4], tuple(r[5] or ()), r[6], r[7]) for r in rows]


def photo_for_staff(session: Session, shop_ids: Collection[str], report_id: int) -> tuple[bytes, str] | None:
    """A report's photo, for signed-in staff of its shop only; None for no photo or another shop's report."""
    row = session.execute(
        select(ProblemReport.photo, ProblemReport.photo_type).where(
            ProblemReport.id == report_id, ProblemReport.shop_id.in_(list(shop_ids))
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return bytes(row[0]), str(row[1])


def erase(session: Session, order_ids: Iterable[int]) -> int:
    """Delete the reports (text, photo and all) of these orders: the customer's data erasure. The count."""
    ids = list(order_ids)
    if not ids:
        return 0
    result = session.execute(
        delete(ProblemReport).where(ProblemReport.order_id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
