"""The shipped deployment files pass their own tools' checks: systemd-analyze for the units, nginx -t for the proxy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALLED_BIN = "/opt/ordercare/.venv/bin"  # where the units expect the virtualenv (README "Production deployment")


def need(tool: str) -> str:
    """The tool's path; a skip with the reason on a user's machine, a failure in CI (CI=true)."""
    path = shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/sbin/{tool}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        reason = f"{tool} is not installed (Debian: apt-get install {'systemd' if tool == 'systemd-analyze' else tool})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true: the deployment checks must run")
        pytest.skip(reason)
    return path


def here(unit: Path, tmp_path: Path) -> Path:
    """The unit with its virtualenv path pointed at this interpreter's, so its commands exist to be checked."""
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED_BIN, str(Path(sys.executable).parent)))
    return copy


def test_the_units_run_the_web_process_and_the_worker() -> None:
    assert [unit.name for unit in UNITS] == ["ordercare-web.service", "ordercare-worker.service"]
    web, worker = (unit.read_text() for unit in UNITS)
    assert re.search(r"^ExecStart=/opt/ordercare/\.venv/bin/gunicorn .*webhooks\.wsgi:app$", web, re.M | re.S)
    assert re.search(r"^ExecStart=/opt/ordercare/\.venv/bin/ordercare worker$", worker, re.M)
    for text in (web, worker):
        assert "Environment=ORDERCARE_CONFIG=/etc/ordercare/ordercare.yaml" in text
        assert "Restart=always" in text


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    tool = need("systemd-analyze")
    copies = [str(here(unit, tmp_path)) for unit in UNITS]
    checked = subprocess.run([tool, "verify", *copies], capture_output=True, text=True, check=False)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check can fail: a misspelt type and a command that does not exist are reported."""
    tool = need("systemd-analyze")
    broken = here(UNITS[1], tmp_path)
    broken.write_text(
        broken.read_text().replace("Type=simple", "Type=simpel").replace("ordercare worker", "ordercar worker")
    )
    checked = subprocess.run([tool, "verify", str(broken)], capture_output=True, text=True, check=False)
    assert checked.returncode != 0
    assert "simpel" in checked.stderr
    assert "ordercar is not executable" in checked.stderr


def _nginx_test(site: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    tool = need("nginx")
    openssl = need("openssl")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=ordercare.example.nl",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=True,
    )  # fmt: skip
    site = site.replace("/etc/letsencrypt/live/ordercare.example.nl/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/ordercare.example.nl/privkey.pem", str(key))
    (tmp_path / "ordercare.conf").write_text(site)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/ordercare.conf;\n}}\n"
    )
    return subprocess.run([tool, "-t", "-q", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True)


def test_nginx_accepts_the_reverse_proxy_example(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx" / "ordercare.conf").read_text()
    assert "client_max_body_size 2m;" in site
    assert Settings.model_fields["max_webhook_bytes"].default == 2 * 1024 * 1024  # the limit nginx mirrors
    assert "return 301 https://$host$request_uri;" in site
    checked = _nginx_test(site, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_nginx_check_catches_a_broken_example(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx" / "ordercare.conf").read_text().replace("proxy_pass http://ordercare_web;", "proxy_pas x;")
    checked = _nginx_test(site, tmp_path)
    assert checked.returncode != 0
    assert 'unknown directive "proxy_pas"' in checked.stderr
