"""The one clock: the only module that reads the wall time.

Everything else is given ``now`` or a ``Clock`` (the service's, or a simulated one in the demo and the
tests), so no comparison of times depends on the day the code happens to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def wall_seconds() -> float:
    """The current time as seconds since the epoch (what OAuth 1.0a timestamps are compared against)."""
    return time.time()


__all__ = ["Clock", "system_clock", "wall_seconds"]
