"""One clock: no module under ``connector/`` or ``webhooks/`` reads the wall time except ``connector/clock.py``.

Everything else is given ``now`` or a clock, so a test pinned to a fixed date cannot meet the real date
inside a client, a policy or a view. The scan is of the source (AST), so it also catches a reference to
``datetime.now`` passed as a default argument, not only a call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROVIDER = ROOT / "connector" / "clock.py"
SCANNED = [ROOT / "connector", ROOT / "webhooks"]

# (object name, attribute) pairs that read the wall clock; monotonic and perf_counter measure durations
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "asctime"),
}
WALL_CLOCK_NAMES = {attribute for _, attribute in WALL_CLOCK} - {"now", "today"}  # safe when imported bare


def _object_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # datetime.datetime.now, dt.date.today
        return node.attr
    return None


def wall_clock_reads(source: str, filename: str = "<source>") -> list[str]:
    """Each place in ``source`` that reads the wall clock, as ``line: expression``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Attribute):
            owner = _object_name(node.value)
            if (owner, node.attr) in WALL_CLOCK or node.attr == "utcnow":
                found.append(f"{node.lineno}: {owner}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}:
            for alias in node.names:
                if node.module == "time" and alias.name in WALL_CLOCK_NAMES | {"time"}:
                    found.append(f"{node.lineno}: from time import {alias.name}")
    return found


def _modules() -> list[Path]:
    return sorted(p for base in SCANNED for p in base.rglob("*.py") if p != PROVIDER)


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import UTC, datetime\nx = datetime.now(UTC)\n",
        "import datetime\nx = datetime.datetime.now(datetime.UTC)\n",
        "from datetime import datetime\nclock = lambda: datetime.utcnow()\n",
        "from datetime import date\nx = date.today()\n",
        "import time\ndef f(clock=time.time):\n    return clock()\n",
        "from time import time\n",
        "import time\nx = time.time_ns()\n",
    ],
)
def test_the_scan_finds_every_way_of_reading_the_wall_clock(source: str) -> None:
    assert wall_clock_reads(source)


@pytest.mark.parametrize(
    "source",
    [
        "import time\nstarted = time.monotonic()\ntime.sleep(0.1)\nt = time.perf_counter()\n",
        "from datetime import UTC, datetime\nx = datetime(2026, 11, 24, tzinfo=UTC)\n",
        "from connector.clock import system_clock\nnow = system_clock()\n",
        "def f(now):\n    return now.today_label\n",
    ],
)
def test_the_scan_lets_durations_and_given_times_pass(source: str) -> None:
    assert wall_clock_reads(source) == []


def test_only_the_clock_provider_reads_the_wall_clock() -> None:
    """Given every module of the service, when scanned, then only connector/clock.py reads the wall time."""
    offenders = {
        str(path.relative_to(ROOT)): reads
        for path in _modules()
        if (reads := wall_clock_reads(path.read_text(encoding="utf-8"), str(path)))
    }
    assert offenders == {}
    assert wall_clock_reads(PROVIDER.read_text(encoding="utf-8"))  # the provider is where the time is read
