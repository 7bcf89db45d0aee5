"""``ordercare demo`` plays its week through every policy, over real HTTP and SMTP, in one process."""

from __future__ import annotations

import json
import re

import pytest

from connector.cli import main


def test_demo_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {
        "orders": 7,
        "incidents": {"address": 2, "next_day": 1, "shipment_delay": 1, "stale": 1},
        "actions": {
            "add_note": 9,
            "add_tags": 7,
            "create_call_task": 2,
            "create_voucher": 2,
            "hold_fulfillment": 2,
            "notify_customer": 7,  # Bram's review request is held: his second order is delayed
            "release_hold": 1,
            "update_address": 1,
        },
        "notes_written": 9,
        "vouchers": 2,
        "emails": 7,
    }


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
