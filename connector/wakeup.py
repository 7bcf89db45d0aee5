"""Waking the worker when there is work: a stored change or a planned action acts at once, not at the next poll.

Code that makes work calls ``announce(session)`` inside its transaction. When that transaction commits, the
worker in the same process is woken (``ordercare serve``: the web threads and the worker share one ``Wakeup``,
kept in the sessions' ``info``), and on PostgreSQL ``NOTIFY ordercare_work`` reaches workers in other
processes, which ``Listener`` receives on a connection of its own (PostgreSQL delivers a notification only
if its transaction commits). Nothing else is needed for correctness: a worker that misses a wake-up (SQLite
with separate web and worker processes, a listener that reconnects) finds the work at its next short poll.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "ordercare_work"
WAKEUP_KEY = "ordercare.wakeup"  # ``Session.info``: the process's ``Wakeup``
_ANNOUNCED = "ordercare.announced"  # ``Session.info``: this transaction has announced already


class Wakeup:
    """A flag the worker waits on; set by any thread of the process that made work."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.count = 0  # wake-ups asked for, for the tests and the metrics

    def notify(self) -> None:
        self.count += 1
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Block until woken or ``timeout`` seconds passed; True if woken. Clears the flag."""
        woke = self._event.wait(timeout)
        self._event.clear()
        return woke


def announce(session: Session) -> None:
    """There is new work in this transaction: wake the workers once it commits (nothing if it rolls back)."""
    transaction = session.get_transaction()
    if transaction is None or session.info.get(_ANNOUNCED) is transaction:
        return
    session.info[_ANNOUNCED] = transaction
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    wakeup = session.info.get(WAKEUP_KEY)
    if isinstance(wakeup, Wakeup):
        event.listen(session, "after_commit", lambda _session: wakeup.notify(), once=True)


class Listener(threading.Thread):
    """PostgreSQL: ``LISTEN ordercare_work`` on its own connection and wake this process's worker."""

    def __init__(self, database_url: str, wakeup: Wakeup, poll_seconds: float = 1.0) -> None:
        super().__init__(name="ordercare-listen", daemon=True)
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._wakeup = wakeup
        self._poll = poll_seconds
        self._stopped = threading.Event()
        self.listening = threading.Event()  # set once LISTEN is in place

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        import psycopg

        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    while not self._stopped.is_set():
                        for _ in connection.notifies(timeout=self._poll, stop_after=1):
                            self._wakeup.notify()
            except psycopg.Error as exc:  # the database went away: the poll covers the gap; listen again soon
                self.listening.clear()
                log.warning("listening for work stopped; trying again", extra={"error": str(exc)})
                self._stopped.wait(self._poll)
