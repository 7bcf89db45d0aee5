"""``/healthz`` (database reachable) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from connector.outbox.queue import backlog

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    services = current_app.extensions["ordercare"]
    try:
        with services.sessions() as session:
            session.execute(text("select 1"))
    except SQLAlchemyError as exc:
        return {"status": "unavailable", "database": type(exc).__name__}, 503
    return {"status": "ok"}, 200


@bp.get("/metrics")
def metrics() -> Response:
    services = current_app.extensions["ordercare"]
    with services.sessions() as session:
        pending, failed = backlog(session)
    services.metrics.outbox_backlog.set(pending)
    services.metrics.outbox_failed.set(failed)
    return Response(generate_latest(services.metrics.registry), mimetype=CONTENT_TYPE_LATEST)
