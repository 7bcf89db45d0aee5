"""``ordercare demo --keep`` hands over a running service: after the week the printed sign-in opens the dashboard,
Emma's printed fix link takes her address, the worker carries it to the WooCommerce sandbox, and SIGTERM ends
it cleanly (exit 0)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

import pytest
import requests

from connector.sandbox.woocommerce import SANDBOX_KEY, SANDBOX_SECRET
from tests.conftest import UNDER_FAKETIME

ROOT = Path(__file__).resolve().parents[1]


class Output:
    """A process's standard output, line by line, read in the background so every wait has a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._lines: Queue[str | None] = Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, wanted: Callable[[str], bool], timeout: float) -> str:
        """The first line from here on that is ``wanted``; a failure with the output so far after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except Empty:
                break
            if line is None:
                raise AssertionError("the demo ended early:\n" + "\n".join(self.seen[-40:]))
            self.seen.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"not printed within {timeout} s; the last lines:\n" + "\n".join(self.seen[-40:]))

    def rest(self, timeout: float) -> list[str]:
        """Every line until the process closes its output."""
        lines = []
        deadline = time.monotonic() + timeout
        while (line := self._lines.get(timeout=max(0.1, deadline - time.monotonic()))) is not None:
            lines.append(line)
        return lines


def _inputs(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"', page))


def _emma(woo_url: str) -> dict[str, Any]:
    orders = requests.get(f"{woo_url}/wp-json/wc/v3/orders", auth=(SANDBOX_KEY, SANDBOX_SECRET), timeout=5).json()
    found = [o for o in orders if o["billing"]["email"] == "emma@example.nl"]
    assert len(found) == 1
    order: dict[str, Any] = found[0]
    return order


def _state(order: dict[str, Any]) -> tuple[str, str, str, str | None]:
    """(status, shipping line 1, the split-field house number, who released our hold)."""
    meta = {m["key"]: m["value"] for m in order["meta_data"]}
    return (
        order["status"],
        order["shipping"]["address_1"],
        meta["_shipping_house_number"],
        meta.get("_ordercare_hold_released"),
    )


@pytest.mark.skipif(UNDER_FAKETIME, reason="under libfaketime timed waits do not run out; the demo has its own clock")
def test_demo_keep_runs_the_whole_service_until_sigterm(tmp_path: Path) -> None:
    errors = tmp_path / "demo.stderr"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "demo", "--keep"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        out = Output(process.stdout)
        out.until(lambda line: line.startswith("ordercare keeps running until you stop it: web, scheduler"), 240)
        dashboard = out.until(lambda line: line.startswith("  dashboard: "), 5)
        fix = out.until(lambda line: line.startswith("  Emma's fix link: "), 5)
        tracking = out.until(lambda line: line.startswith("  Bram's tracking page: "), 5)
        sandboxes = out.until(lambda line: line.startswith("  sandboxes: "), 5)
        out.until(lambda line: line == "Press Ctrl-C to stop.", 5)
        signed_in = re.fullmatch(r"  dashboard: (http://127\.0\.0\.1:\d+/admin)  \(sign in: demo / (\S+)\)", dashboard)
        woo = re.fullmatch(
            r"  sandboxes: Shopify http://127\.0\.0\.1:\d+, WooCommerce (http://127\.0\.0\.1:\d+)", sandboxes
        )
        assert signed_in is not None, dashboard
        assert woo is not None, sandboxes
        admin_url, password = signed_in.groups()
        link = fix.removeprefix("  Emma's fix link: ")
        assert link.startswith(admin_url.removesuffix("/admin") + "/fix/")

        # the printed tracking link opens Bram's page: his parcel went quiet, he was told when he hears from us
        page = requests.get(tracking.removeprefix("  Bram's tracking page: "), timeout=10)
        assert (page.status_code, page.headers["Content-Language"]) == (200, "nl")
        assert "Je pakket is al een paar dagen niet gescand door PostNL" in page.text
        assert "Een betrouwbare nieuwe datum kunnen we je nog niet geven. Uiterlijk " in page.text
        assert " hoor je van ons." in page.text  # the promise the last delay notice made

        # the printed sign-in opens the dashboard
        browser = requests.Session()
        login = browser.get(admin_url, timeout=10)
        assert (login.status_code, login.url.split("?")[0]) == (200, f"{admin_url}/login")
        form = {"csrf_token": _inputs(login.text)["csrf_token"], "username": "demo", "password": password}
        today = browser.post(f"{admin_url}/login", data=form, timeout=10)
        assert (today.status_code, today.url.rstrip("/")) == (200, admin_url)
        assert "<h1>Vandaag</h1>" in today.text  # the demo's shops write Dutch
        assert len(re.findall(r'<li class="item call-task" id="call-task-\d+">', today.text)) == 4  # the week's

        # Emma's order waits for her address: on hold, no house number
        order = _emma(woo.group(1))
        assert _state(order) == ("on-hold", "Laan van Meerdervoort", "", None)

        # she opens her link and saves the house number
        customer = requests.Session()
        page = customer.get(link, timeout=10)
        assert page.status_code == 200
        fields = _inputs(page.text)
        assert (fields["street"], fields["house_number"], fields["postcode"]) == (
            "Laan van Meerdervoort",
            "",
            "2564 AZ",
        )
        saved = customer.post(link, data={**fields, "house_number": "5", "action": "save"}, timeout=10)
        assert saved.status_code == 200
        assert '<h1 id="confirmation">Bedankt, je adres is opgeslagen</h1>' in saved.text

        # the worker carries it to the shop: the new address, then our hold released; the story says so
        released = f"theewinkel #{order['number']}: our hold released"
        out.until(lambda line: line.endswith(released), 60)
        assert f"    ✓ theewinkel #{order['number']}: address incident resolved (address corrected by customer)" in (
            out.seen
        )
        assert _state(_emma(woo.group(1))) == ("processing", "Laan van Meerdervoort 5", "5", "ordercare")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert (process.returncode, out.rest(timeout=5)[-1:], errors.read_text()) == (0, ["ordercare demo stopped."], "")
