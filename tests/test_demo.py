"""``ordercare demo`` plays its week through every policy, over real HTTP and SMTP, in one process."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import pytest

from connector.cli import main


def test_demo_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    messages, promises = summary.pop("messages"), summary.pop("promises")
    assert summary == {
        "orders": 7,
        "incidents": {"address": 2, "next_day": 1, "shipment_delay": 1, "stale": 1},
        "actions": {
            "add_note": 13,  # four follow-ups of a promise, each with its note
            "add_tags": 7,
            "create_call_task": 4,  # the first follow-up without a new date asks staff to call
            "create_voucher": 2,
            "hold_fulfillment": 2,
            "notify_customer": 11,  # Bram's review request is held: his second order is delayed
            "release_hold": 1,
            "update_address": 1,
        },
        "notes_written": 13,
        "vouchers": 2,
        "emails": 11,
        # Bram's two parcels through Sendcloud's webhook (sorted, delivered; sorted, then quiet); Lotte's #1003 by
        # polling DHL (sorted at the hub, delivered)
        "carrier_events": {"dhl": 2, "sendcloud": 3},
    }
    assert len(messages) == 11
    assert_promises_kept(messages, promises)


def assert_promises_kept(messages: list[dict[str, Any]], promises: list[dict[str, Any]]) -> None:
    """From the output alone: every date given is met, followed up on or before it, or still ahead."""
    end_of_week = date(2026, 11, 30)
    for message in messages:
        assert set(message) == {"shop", "order", "template", "sent_at", "promised_date"}
        assert datetime.fromisoformat(message["sent_at"]).utcoffset() is not None
    given = {(m["shop"], m["order"], m["promised_date"], m["sent_at"]) for m in messages if m["promised_date"]}
    made = {(p["shop"], p["order"], p["promised_date"], p["made_at"]) for p in promises}
    assert given == made  # every date a message gave is a promise, and every promise came from a message
    for promise in promises:
        promised = date.fromisoformat(promise["promised_date"])
        if promise["ended"] == "open":
            assert promised >= end_of_week, promise
            assert promise["ended_at"] is None
        else:
            assert promise["ended"] in ("met", "followed_up"), promise
            assert datetime.fromisoformat(promise["ended_at"]).date() <= promised, promise
    # Lotte's new next-day date is kept; Fleur's stale-update date is followed up on the morning it was due
    lotte = next(p for p in promises if p["order"] == "#1003")
    assert (lotte["shop"], lotte["kind"], lotte["promised_date"], lotte["ended"]) == (
        "fietsen", "delivery_by", "2026-11-25", "met",
    )  # fmt: skip
    fleur = next(p for p in promises if p["order"] == "#5005")
    assert (fleur["promised_date"], fleur["ended"], fleur["ended_at"]) == (
        "2026-11-26", "followed_up", "2026-11-26T08:00:00+01:00",
    )  # fmt: skip


def test_demo_story_names_what_happened(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "fietsen #1002: address incident resolved (address corrected by customer)" in out
    assert "fietsen #1003: next_day incident opened" in out
    assert "fietsen #1001: e-mail to the customer (review_request)" in out
    assert "theewinkel" not in "".join(line for line in out.splitlines() if "(review_request)" in line)
    assert re.search(r"theewinkel #\d+: shipment_delay incident escalated to level 3", out)
    assert "Subject: Sorry, bestelling #1003 komt later dan beloofd" in out
    assert "Emma has not fixed her address yet. Her link works while the demo runs: http://127.0.0.1:" in out
    assert "Dashboard: http://127.0.0.1:" in out
    # the voucher exists before the apology that names it goes out
    assert out.index("fietsen #1003: voucher OC-") < out.index(
        "fietsen #1003: e-mail to the customer (next_day_missed)"
    )
