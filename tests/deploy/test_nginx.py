"""The reverse-proxy example passes ``nginx -t``, and a running nginx with it redirects, limits and forwards.

The example is included in a wrapper configuration in a temporary directory, with a self-signed certificate
in place of the Let's Encrypt one; the running check moves its ports and its upstream to free ones.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.config import Settings
from connector.sandbox.server import BackgroundServer, free_port
from tests.deploy.tools import DEPLOY, need
from tests.notify.support import self_signed

SITE = DEPLOY / "nginx" / "ordercare.conf"
LIMIT = Settings.model_fields["max_webhook_bytes"].default  # what nginx's client_max_body_size mirrors
LETSENCRYPT = "/etc/letsencrypt/live/ordercare.example.nl"


def _wrapped(site: str, tmp_path: Path) -> tuple[Path, Path]:
    """``site`` inside a minimal nginx.conf that keeps every file nginx writes in ``tmp_path``: (the
    nginx.conf, the self-signed certificate that stands in for Let's Encrypt's)."""
    certificate = self_signed(tmp_path)
    site = site.replace(f"{LETSENCRYPT}/fullchain.pem", str(certificate.cert_file))
    site = site.replace(f"{LETSENCRYPT}/privkey.pem", str(certificate.key_file))
    (tmp_path / "ordercare.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"  {kind}_temp_path {tmp_path}/{kind};" for kind in kinds)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers write the temp paths under tmp_path
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"{user}pid {tmp_path}/nginx.pid;\nerror_log stderr;\nworker_processes 1;\nevents {{}}\n"
        f"http {{\n  access_log off;\n{temp}\n  include {tmp_path}/ordercare.conf;\n}}\n"
    )
    return main, certificate.cert_file


def _nginx(main: Path, tmp_path: Path, *options: str) -> list[str]:
    return [need("nginx"), "-p", str(tmp_path), "-e", "stderr", "-c", str(main), *options]


def _nginx_test(site: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    main, _ = _wrapped(site, tmp_path)
    return subprocess.run(_nginx(main, tmp_path, "-t", "-q"), capture_output=True, text=True, check=False)


def test_nginx_accepts_the_reverse_proxy_example(tmp_path: Path) -> None:
    site = SITE.read_text()
    assert "client_max_body_size 2m;" in site
    assert LIMIT == 2 * 1024 * 1024
    checked = _nginx_test(site, tmp_path)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_nginx_check_catches_a_broken_example(tmp_path: Path) -> None:
    site = SITE.read_text().replace("proxy_pass http://ordercare_web;", "proxy_pas x;")
    checked = _nginx_test(site, tmp_path)
    assert checked.returncode != 0
    assert 'unknown directive "proxy_pas"' in checked.stderr


class Upstream:
    """Stands in for ordercare's web process: answers with what reached it."""

    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.requests += 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        seen = {
            "path": environ["PATH_INFO"],
            "bytes": len(body),
            "host": environ.get("HTTP_HOST"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO"),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port} within {timeout} s")


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[int, int, Upstream, Path]]:
    """nginx running the example on free ports in front of an ``Upstream``: (http port, https port, upstream, CA)."""
    need("nginx")
    upstream = Upstream()
    http_port, https_port = free_port(), free_port()
    site = (
        SITE.read_text()
        .replace("listen [::]:80;\n", "")
        .replace("listen [::]:443 ssl http2;\n", "")
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    )
    with BackgroundServer(upstream) as backend:
        site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend.port};")
        main, certificate = _wrapped(site, tmp_path)
        process = subprocess.Popen(
            _nginx(main, tmp_path, "-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            _wait_for_port(https_port, process)
            yield http_port, https_port, upstream, certificate
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_proxy_redirects_to_https(proxy: tuple[int, int, Upstream, Path]) -> None:
    http_port, _, upstream, _ = proxy
    answer = requests.get(
        f"http://127.0.0.1:{http_port}/fix/abc?lang=en",
        headers={"Host": "ordercare.example.nl"},
        allow_redirects=False,
        timeout=5,
    )
    assert (answer.status_code, answer.headers["Location"]) == (301, "https://ordercare.example.nl/fix/abc?lang=en")
    assert upstream.requests == 0


def test_the_proxy_passes_a_webhook_of_the_limit_and_refuses_one_byte_more(
    proxy: tuple[int, int, Upstream, Path],
) -> None:
    _, https_port, upstream, authority = proxy
    url = f"https://127.0.0.1:{https_port}/webhooks/shopify"
    passed = requests.post(url, data=b"x" * LIMIT, verify=str(authority), timeout=10)
    assert passed.status_code == 200
    assert passed.json() == {
        "path": "/webhooks/shopify",
        "bytes": LIMIT,
        "host": "127.0.0.1",  # $host: the name without the port
        "forwarded_for": "127.0.0.1",
        "forwarded_proto": "https",
    }
    assert passed.headers["Strict-Transport-Security"] == "max-age=31536000"
    refused = requests.post(url, data=b"x" * (LIMIT + 1), verify=str(authority), timeout=10)
    assert refused.status_code == 413
    assert upstream.requests == 1
