"""The operator's command line: db upgrade, the list views with --json, and serve answering /healthz."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from connector.cli import main
from connector.config import settings_from_mapping
from connector.sandbox.server import free_port
from connector.services import Services
from connector.store.db import make_engine, transaction
from connector.store.tables import ActionRow
from tests.builders import order, order_event
from tests.conftest import SHOPIFY_SECRET

ROOT = Path(__file__).resolve().parent.parent


def config_file(tmp_path: Path, database_url: str) -> Path:
    raw = {
        "database_url": database_url,
        "secret_key": "cli-test-secret-0123456789",
        "scheduler": {"tick_seconds": 1, "reconcile_minutes": 60},
        "shops": [
            {
                "id": "fietsen",
                "platform": "shopify",
                "shop_domain": "fietsen-test.myshopify.com",
                "api_base_url": "http://127.0.0.1:9",  # nothing listens: reconcile fails politely
                "access_token": "shpat_x",
                "webhook_secret": SHOPIFY_SECRET,
            }
        ],
    }
    path = tmp_path / "ordercare.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_db_upgrade_and_list_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    path = config_file(tmp_path, url)
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    applied = capsys.readouterr().out.splitlines()
    head = applied[-2].split(":")[0].removeprefix("applied ")
    assert applied[0] == "applied 0001: initial schema"
    assert applied[-1] == f"sqlite:///{tmp_path / 'cli.db'}: (empty database) -> {head}"
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"sqlite:///{tmp_path / 'cli.db'}: already at {head}, nothing to apply\n"

    settings = settings_from_mapping(yaml.safe_load(path.read_text()), env={})
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    services = Services.build(settings, engine=make_engine(url), clock=lambda: now)
    from connector.ingest import ingest

    shop = services.shops.get("fietsen")
    assert shop is not None
    with transaction(services.sessions) as session:
        ingest(session, shop, order_event(order("1001")), now)
        session.add(
            ActionRow(
                shop_id="fietsen", policy="address", kind="add_tags", idempotency_key="fietsen:1001:address:1-tag",
                payload={"tags": ["ordercare:address"]}, state="failed", attempts=3, next_attempt_at=now,
                created_at=now, last_error="Tags is invalid",
            )
        )  # fmt: skip

    assert main(["orders", "--config", str(path), "--json"]) == 0
    orders = json.loads(capsys.readouterr().out)
    assert [(o["shop"], o["order"], o["status"]) for o in orders] == [("fietsen", "#1001", "paid")]

    assert main(["actions", "--config", str(path), "--failed", "--json"]) == 0
    actions = json.loads(capsys.readouterr().out)
    assert [(a["kind"], a["state"], a["last_error"]) for a in actions] == [("add_tags", "failed", "Tags is invalid")]

    assert main(["incidents", "--config", str(path), "--json", "--shop", "fietsen"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    assert main(["orders", "--config", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["shop", "order", "status", "platform_status", "created_at", "next_check_at"]
    assert table[1].split()[:3] == ["fietsen", "#1001", "paid"]
    # times in the shop's zone (Europe/Amsterdam by default), with the zone: 09:00 UTC is 10:00 CET
    assert table[1].split()[-3:] == ["2026-11-24", "10:00", "CET"]
    assert orders[0]["next_check_at"] == "2026-11-24T10:00:00+01:00"

    failed = actions[0]["id"]
    assert main(["actions", "retry", str(failed), "--config", str(path)]) == 0
    assert capsys.readouterr().out == f"action {failed}: queued again (with the actions that waited for it)\n"
    assert main(["actions", "--config", str(path), "--json"]) == 0
    assert [(a["id"], a["state"], a["last_error"]) for a in json.loads(capsys.readouterr().out)] == [
        (failed, "pending", None)
    ]
    assert main(["actions", "retry", str(failed), "--config", str(path)]) == 1  # pending now: nothing to retry
    assert capsys.readouterr().err == f"action {failed}: pending, not failed; nothing changed\n"
    assert main(["actions", "retry", "999", "--config", str(path)]) == 1
    assert capsys.readouterr().err == "action 999: no such action\n"


def test_version_and_every_default_in_the_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"ordercare {importlib.metadata.version('ordercare')}\n"
    monkeypatch.setattr(importlib.metadata, "version", lambda name: {"ordercare": "9.8.7"}[name])
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == "ordercare 9.8.7\n"  # the installed package's metadata, not a constant
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 127.0.0.1)", "(default: 8000)", "(default: 8)", "(default: $ORDERCARE_CONFIG)"):
        assert shown in text
    with pytest.raises(SystemExit):
        main(["orders", "--help"])
    assert "at most this many rows, newest first (default: 100)" in " ".join(capsys.readouterr().out.split())


def test_help_loads_no_feature_module() -> None:
    """``ordercare --help`` imports neither the configuration models nor a feature's own command module."""
    probe = (
        "import sys\n"
        "from connector.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('connector.config', 'connector.notify.preview', 'connector.admin.cli',"
        " 'sqlalchemy', 'jinja2', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "[]"


def test_missing_config_is_a_clear_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERCARE_CONFIG", raising=False)
    assert main(["orders"]) == 2
    assert capsys.readouterr().err.strip() == "--config: give a configuration file (or set ORDERCARE_CONFIG)"


def test_serve_answers_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    path = config_file(tmp_path, f"sqlite:///{tmp_path / 'serve.db'}")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "serve", "--config", str(path), "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert answer is not None
        assert answer.json() == {"status": "ok"}
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "ordercare_outbox_backlog" in metrics
        # at start every shop is asked at once, and its line is on the console
        said = "fietsen: not reachable: 127.0.0.1:9 refused the connection; check shops[0].api_base_url and that the "
        said += "shop is up"
        while time.monotonic() < deadline and said not in (tmp_path / "serve.log").read_text().splitlines():
            time.sleep(0.2)
        assert said in (tmp_path / "serve.log").read_text().splitlines()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    assert process.returncode == 0, (tmp_path / "serve.log").read_text()[-2000:]


def _two_free_ports() -> int:
    """A port whose next one is free too (the sandbox command serves WooCommerce on port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free ports in a row")


def test_sandbox_command_serves_both_shops_until_stopped() -> None:
    port = _two_free_ports()
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"Shopify sandbox on http://127.0.0.1:{port}, WooCommerce sandbox on")
        config = json.loads("".join(process.stdout.readline() for _ in range(20)))
        assert [shop["platform"] for shop in config["shops"]] == ["shopify", "woocommerce"]
        woo = config["shops"][1]
        answer = requests.get(
            f"{woo['url']}/wp-json/wc/v3/orders", auth=(woo["consumer_key"], woo["consumer_secret"]), timeout=5
        )
        assert (answer.status_code, answer.json()) == (200, [])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0
