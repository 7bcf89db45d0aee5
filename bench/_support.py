"""Shared pieces of the benchmarks: temporary databases, config files, results, percentiles."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("ORDERCARE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-webhook-secret-0123456789"


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database URL of the given kind ("sqlite" or "postgres"), dropped afterwards."""
    from sqlalchemy import text

    from connector.store.db import make_engine, upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    name = f"ordercare_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_dict(database_url: str, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": "bench-secret-key-0123456789abcdef",
        "log_level": "WARNING",
        "shops": [
            {
                "id": "bench",
                "platform": "shopify",
                "shop_domain": "bench-shop.myshopify.com",
                "access_token": "shpat_bench",
                "webhook_secret": SECRET,
            }
        ],
    }
    raw.update(extra)
    return raw


def write_config(workdir: Path, raw: dict[str, Any]) -> Path:
    import yaml

    path = workdir / "ordercare.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def tempdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="ordercare-bench-")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def emit(summary: str, result: dict[str, Any], as_json: bool) -> None:
    """Human summary first; with --json the last line is one JSON object.

    A run that lost, doubled or failed work exits non-zero, so CI's smoke runs catch broken behaviour
    (speed is never judged there).
    """
    print(summary)
    if as_json:
        print(json.dumps(result, sort_keys=True))
    broken = {key: result[key] for key in ("lost", "duplicated", "errors") if result.get(key)}
    if broken:
        print(f"broken run: {broken}", file=sys.stderr)
        raise SystemExit(1)


def wait_ready(port: int, timeout: float = 60) -> None:
    """Until ordercare on 127.0.0.1:``port`` answers ``/healthz`` (the benchmark ends if it never does)."""
    import http.client
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"ordercare on port {port} did not become ready")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
