"""Crash safety: ``ordercare worker`` is killed with SIGKILL at random moments while it drains 1,000
actions against the sandbox shops and the SMTP catcher, and started again each time. Afterwards every
action is done and every effect is in the shops exactly once (tags, staff notes, vouchers, holds).

E-mail is the one effect that cannot be made exactly-once: the SMTP server's "250 accepted" and our
e-mail log row cannot be committed together. A kill between the two makes the next attempt send the
message again, with the same Message-ID (derived from the idempotency key), so receivers can fold the two.
The test pins that bound: no e-mail is lost, a repeat always carries the same Message-ID, and every
repeated message belongs to an action whose attempt log shows an unfinished (killed) attempt — the
operator can list them — so repeats are at most the number of kills.
"""

from __future__ import annotations

import functools
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from connector.config import load_settings
from connector.services import Services
from connector.store.tables import ActionAttempt, ActionRow
from tests.reliability.world import action_states, applied, message_id, plan_actions, start_worker, world

ORDERS_PER_SHOP = 100  # x 5 actions x 2 shops = 1,000 actions
KILLS = 30


def done_count(services: Services) -> int:
    return action_states(services).get("done", 0)


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
        while kills < KILLS and done_count(services) < total:
            before = done_count(services)
            worker = start_worker(config, log)
            # let it get going (some progress), then kill it at a random moment within its work
            wait_for(functools.partial(progressed, services, before), timeout=30)
            time.sleep(rng.uniform(0.0, 0.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
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
        with services.sessions() as session:
            attempts = session.scalars(select(ActionAttempt)).all()
            unfinished = {a.action_id for a in attempts if a.finished_at is None}
            resumed_outcomes = Counter(
                a.outcome for a in attempts if a.action_id in unfinished and a.finished_at is not None
            )
            notify_keys = dict(
                session.execute(
                    select(ActionRow.id, ActionRow.idempotency_key).where(ActionRow.kind == "notify_customer")
                ).all()
            )
        repeated_ids = {mid for mid, n in Counter(message_id(r.raw) for r in w.smtp.received).items() if n > 1}
        from connector.notify.mailer import message_id_for

        resumable_ids = {
            message_id_for(key, "service@fietsen.example") for aid, key in notify_keys.items() if aid in unfinished
        }
        print(
            f"\ncrash safety: {total} actions, {kills} SIGKILLs (done counts at each kill: {landed}), "
            f"{seconds:.1f}s in all; attempts {len(attempts)}, actions with a killed attempt {len(unfinished)}, "
            f"their next outcomes {dict(resumed_outcomes)}; effects {dict((k, dict(v)) for k, v in effects.items())}; "
            f"e-mails received {len(w.smtp.received)}, repeated Message-IDs {len(repeated_ids)}"
        )
        assert kills >= 25
        assert action_states(services) == Counter({"done": total})
        assert effects["tags"] == Counter({1: 200})
        assert effects["note"] == Counter({1: 200})
        assert effects["voucher"] == Counter({1: 200})
        assert effects["hold"] == Counter({1: 200})
        # e-mail: none lost; a repeat only after a kill inside that action's attempt, under the same Message-ID
        assert set(effects["email"]) <= {1, 2}
        assert sum(effects["email"].values()) == 200
        assert len({message_id(r.raw) for r in w.smtp.received}) == 200
        assert repeated_ids <= resumable_ids
        assert len(w.smtp.received) - 200 <= kills
        assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
