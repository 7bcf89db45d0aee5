"""The systemd units run real ``ordercare`` commands, pass ``systemd-analyze verify`` and keep their hardening."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from connector import cli
from tests.deploy.tools import DEPLOY, need

UNITS = {unit.name: unit for unit in sorted((DEPLOY / "systemd").glob("*.service"))}
INSTALLED_BIN = "/opt/ordercare/.venv/bin"  # where the units expect the virtualenv (README "Production deployment")
HERE_BIN = str(Path(sys.executable).parent)  # this test run's virtualenv, which has a real ``ordercare``

# What `systemd-analyze security` may find unset, and why; every other check it makes must pass.
ACCEPTED_EXPOSURE = {
    "PrivateNetwork": "ordercare talks to the shops, carriers, SMTP and PostgreSQL",
    "IPAddressDeny": "the shops' and carriers' addresses are not known in advance",
    "RestrictAddressFamilies_AF_INET_INET6": "the same: HTTP, SMTP and PostgreSQL over IP",
    "RestrictAddressFamilies_AF_UNIX": "PostgreSQL's local socket",
    "RootDirectoryOrRootImage": "it runs from the host's virtualenv",
    "ProcSubset": "the process metrics on /metrics read /proc/stat",
    "MemoryDenyWriteExecute": "ctypes and cffi callbacks need writable executable memory",
    "DeviceAllow": "ProtectClock= leaves the real-time clock readable",
}


def settings(unit: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` line of the unit, values in order (continuation lines joined)."""
    found: dict[str, list[str]] = {}
    for line in re.sub(r"\\\n\s*", " ", unit.read_text()).splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def ordercare_words(command: str) -> list[str]:
    """The arguments after the installed ``ordercare`` of an Exec line (a failure if it runs something else)."""
    words = shlex.split(command)
    assert words[0] == f"{INSTALLED_BIN}/ordercare", command
    return words[1:]


def here(unit: Path, tmp_path: Path) -> Path:
    """A copy of the unit whose commands point at this interpreter's virtualenv, so they exist to be checked."""
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace(INSTALLED_BIN, HERE_BIN))
    return copy


def test_the_units_are_the_web_process_and_the_worker() -> None:
    assert list(UNITS) == ["ordercare-web.service", "ordercare-worker.service"]


@pytest.mark.parametrize(
    ("unit", "commands"),
    [
        ("ordercare-web.service", [("db", cli._db), ("web", cli._web)]),
        ("ordercare-worker.service", [("worker", cli._worker)]),
    ],
)
def test_the_units_run_ordercare_commands_that_exist(unit: str, commands: list[tuple[str, object]]) -> None:
    """ExecStartPre then ExecStart, each an ``ordercare`` subcommand with options it accepts."""
    lines = settings(UNITS[unit])
    assert len(lines["ExecStart"]) == 1
    for command, (name, run) in zip([*lines.get("ExecStartPre", []), *lines["ExecStart"]], commands, strict=True):
        words = ordercare_words(command)
        args = cli.build_parser(words[0]).parse_args(words)  # an unknown command or option exits here
        assert (args.command, args.run) == (name, run)
        assert args.config is None  # the configuration comes from $ORDERCARE_CONFIG (Environment=)


def test_the_web_unit_upgrades_the_database_and_listens_where_the_proxy_sends() -> None:
    web = settings(UNITS["ordercare-web.service"])
    assert [ordercare_words(command) for command in web["ExecStartPre"] + web["ExecStart"]] == [
        ["db", "upgrade"],
        ["web", "--host", "127.0.0.1", "--port", "8000"],
    ]
    assert "server 127.0.0.1:8000;" in (DEPLOY / "nginx" / "ordercare.conf").read_text()


@pytest.mark.parametrize("unit", list(UNITS))
def test_the_units_run_as_their_own_user_with_secrets_from_a_file(unit: str) -> None:
    lines = settings(UNITS[unit])
    picked = {key: lines[key] for key in ("User", "Group", "Environment", "EnvironmentFile", "Restart")}
    assert picked == {
        "User": ["ordercare"],
        "Group": ["ordercare"],
        "Environment": ["ORDERCARE_CONFIG=/etc/ordercare/ordercare.yaml PYTHONUNBUFFERED=1"],
        "EnvironmentFile": ["/etc/ordercare/secrets.env"],
        "Restart": ["always"],
    }
    assert (lines["ProtectSystem"], lines["ReadWritePaths"], lines["StateDirectory"]) == (
        ["strict"],
        ["/var/lib/ordercare"],
        ["ordercare"],
    )
    assert lines["NoNewPrivileges"] == lines["PrivateTmp"] == ["yes"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    tool = need("systemd-analyze")
    copies = [str(here(unit, tmp_path)) for unit in UNITS.values()]
    checked = subprocess.run([tool, "verify", *copies], capture_output=True, text=True, check=False)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check can fail: a misspelt type and a command that does not exist are reported."""
    tool = need("systemd-analyze")
    broken = here(UNITS["ordercare-worker.service"], tmp_path)
    broken.write_text(
        broken.read_text().replace("Type=simple", "Type=simpel").replace("ordercare worker", "ordercar worker")
    )
    checked = subprocess.run([tool, "verify", str(broken)], capture_output=True, text=True, check=False)
    assert checked.returncode != 0
    assert "simpel" in checked.stderr
    assert f"{HERE_BIN}/ordercar is not executable" in checked.stderr


def _unmet(tool: str, unit: Path) -> set[str]:
    """The hardening checks of ``systemd-analyze security`` that the unit does not meet."""
    checked = subprocess.run(
        [tool, "security", "--offline=yes", "--json=short", str(unit)], capture_output=True, text=True, check=True
    )
    return {check["json_field"] for check in json.loads(checked.stdout) if check["set"] is False}


@pytest.mark.parametrize("unit", list(UNITS))
def test_the_units_meet_every_hardening_check_but_the_accepted_ones(unit: str, tmp_path: Path) -> None:
    tool = need("systemd-analyze")
    assert _unmet(tool, here(UNITS[unit], tmp_path)) <= set(ACCEPTED_EXPOSURE)


def test_the_hardening_check_catches_a_unit_without_it(tmp_path: Path) -> None:
    tool = need("systemd-analyze")
    copy = here(UNITS["ordercare-worker.service"], tmp_path)
    copy.write_text(copy.read_text().replace("ProtectSystem=strict\n", "").replace("NoNewPrivileges=yes\n", ""))
    assert {"ProtectSystem", "NoNewPrivileges"} <= _unmet(tool, copy) - set(ACCEPTED_EXPOSURE)
