"""Crash safety: ``ordercare worker`` is killed with SIGKILL at random moments while it drains 1,000
actions against the sandbox shops and the SMTP catcher, and started again each time. Afterwards every
action is done and every effect is in the shops exactly once (tags, staff notes, vouchers, holds).

E-mail cannot be made exactly-once: the SMTP server's "250 accepted" and our e-mail log row cannot be
committed together. The attempt is marked ``sending`` before SMTP DATA; a kill between that mark and the
log row leaves the message's fate unknown, and the next attempt fails the action for staff instead of
sending a second copy. The test pins it: no e-mail is delivered twice, every customer e-mail is delivered
exactly once or marked uncertain, and an uncertain mark only where a killed worker stopped in that window.
"""

from __future__ import annotations

import functools
import random
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connector.config import load_settings
from connector.services import Services
from connector.store.tables import ActionAttempt
from tests.reliability.world import (
    action_states,
    applied,
    assert_no_mail_twice,
    failures,
    mail_outcome,
    plan_actions,
    start_worker,
    world,
)

ORDERS_PER_SHOP = 100  # x 5 actions x 2 shops = 1,000 actions
KILLS = 30


def done_count(services: Services) -> int:
    """Actions that ended: done, or failed (only an e-mail whose delivery a kill left uncertain fails here)."""
    states = action_states(services)
    return states.get("done", 0) + states.get("failed", 0)


def progressed(services: Services, before: int) -> bool:
    return done_count(services) > before


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.mark.slow
def test_killed_workers_apply_every_action_exactly_once(db_url: str, engine: Engine, tmp_path: Path) -> None:
    rng = random.Random(25)
    with world(ORDERS_PER_SHOP) as w:
        config = w.write_config(tmp_path / "ordercare.yaml", db_url)
        services = Services.build(load_settings(config), engine=engine)
        total = plan_actions(services, w)
        assert total == 1_000
        log = tmp_path / "worker.log"
        kills, landed, started = 0, [], time.monotonic()
        killed: set[str] = set()
        while kills < KILLS and done_count(services) < total:
            before = done_count(services)
            worker = start_worker(config, log)
            # let it get going (some progress), then kill it at a random moment within its work
            wait_for(functools.partial(progressed, services, before), timeout=30)
            time.sleep(rng.uniform(0.0, 0.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            killed.add(f"{socket.gethostname()}:{worker.pid}")
            kills += 1
            landed.append(done_count(services))
        worker = start_worker(config, log)
        try:
            # the last kills leave leases behind: they run out after lease_seconds and the work is taken up
            assert wait_for(lambda: done_count(services) == total, timeout=120, step=0.2), action_states(services)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        seconds = time.monotonic() - started

        effects = applied(w)
        mail = mail_outcome(services, w)
        with services.sessions() as session:
            attempts = session.scalars(select(ActionAttempt)).all()
            unfinished = {a.action_id for a in attempts if a.finished_at is None}
            resumed_outcomes = Counter(
                a.outcome for a in attempts if a.action_id in unfinished and a.finished_at is not None
            )
        print(
            f"\ncrash safety: {total} actions, {kills} SIGKILLs (done counts at each kill: {landed}), "
            f"{seconds:.1f}s in all; attempts {len(attempts)}, actions with a killed attempt {len(unfinished)}, "
            f"their next outcomes {dict(resumed_outcomes)}; effects {dict((k, dict(v)) for k, v in effects.items())}; "
            f"e-mails received {len(w.smtp.received)}, kills inside the sending window {len(mail.stopped_in_window)}, "
            f"marked uncertain {len(mail.uncertain)}"
        )
        assert kills >= 25
        ended = Counter({"done": total - len(mail.uncertain), "failed": len(mail.uncertain)})
        assert action_states(services) == ended, failures(services).most_common(5)
        assert effects["tags"] == Counter({1: 200})
        assert effects["note"] == Counter({1: 200})
        assert effects["voucher"] == Counter({1: 200})
        assert effects["hold"] == Counter({1: 200})
        assert len(mail.states) == 200
        assert_no_mail_twice(mail, killed)
        assert set(effects["email"]) <= {0, 1}
        # a kill stops at most one e-mail per lane inside that window (``scheduler.outbox_concurrency`` lanes)
        assert len(mail.uncertain) <= kills * services.settings.scheduler.outbox_concurrency
        assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
