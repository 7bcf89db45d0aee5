"""What the carrier stand-ins (``connector/carriers/<source>/sandbox.py``) share: a WSGI shell, the published
rate limits enforced with a sliding window and a daily count, and the answers every API gives for them.

A stand-in counts every request it answered, and every request that broke its limit; a well-behaved caller
makes ``violations`` zero. Time comes from the clock it is given (a simulated one in tests).
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.carriers.config import RateLimit
from connector.clock import Clock, system_clock
from connector.sandbox.server import BackgroundServer


class Window:
    """A sliding-window limit (``calls`` per ``per_seconds``) and a daily quota (days in ``timezone``).

    ``count_refused``: a refused call counts against the window too (MyParcel: "429s count")."""

    def __init__(self, limit: RateLimit, *, timezone: str = "Europe/Amsterdam", count_refused: bool = False) -> None:
        self.limit = limit
        self.zone = ZoneInfo(timezone)
        self.count_refused = count_refused
        self.calls: deque[datetime] = deque()
        self.day: tuple[int, int, int] | None = None
        self.today = 0
        self.violations = 0

    def admit(self, now: datetime) -> float | None:
        """None: the call may go ahead (and is counted); else the seconds until it could."""
        horizon = now - timedelta(seconds=self.limit.per_seconds)
        while self.calls and self.calls[0] <= horizon:
            self.calls.popleft()
        local = now.astimezone(self.zone)
        day = (local.year, local.month, local.day)
        if day != self.day:
            self.day, self.today = day, 0
        if self.limit.daily is not None and self.today >= self.limit.daily:
            self.violations += 1
            midnight = datetime(local.year, local.month, local.day, tzinfo=self.zone) + timedelta(days=1)
            return max(1.0, (midnight - now).total_seconds())
        if len(self.calls) >= self.limit.calls:
            self.violations += 1
            wait = (self.calls[0] - horizon).total_seconds()
            if self.count_refused:
                self.calls.append(now)
                wait = float(self.limit.per_seconds)  # "waiting the full window always resets"
            return max(1.0, wait)
        self.calls.append(now)
        self.today += 1
        return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers)


def too_many(wait: float, body: Any) -> Response:
    """429 with ``Retry-After`` in whole seconds, rounded up."""
    return json_response(body, 429, {"Retry-After": str(math.ceil(wait))})


GARBAGE = b"<html><body><h1>502 Bad Gateway</h1><p>upstream timed out</p></body></html>"


def garbage_response() -> Response:
    """What a proxy in front of an API sometimes answers with 200: HTML, not JSON."""
    return Response(GARBAGE, status=200, mimetype="text/html")


class StandIn:
    """A WSGI app with a URL map; subclasses name ``routes`` (GET path, endpoint) and their ``on_<endpoint>``."""

    routes: tuple[tuple[str, str], ...] = ()

    def __init__(self, clock: Clock = system_clock) -> None:
        self.clock = clock
        self.url_map = Map([Rule(path, endpoint=name, methods=["GET"]) for path, name in self.routes])
        self.lock = threading.RLock()
        self.requests = 0
        self.garbage = False  # answer the next reads with an HTML page (200)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
            with self.lock:
                self.requests += 1
                response = getattr(self, f"on_{endpoint}")(request, **values)
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)

    def serve(self) -> BackgroundServer:
        return BackgroundServer(self)
