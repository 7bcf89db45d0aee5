"""Dashboard accounts: scrypt hashes, validation that names the bad field, the login throttle, the CLI."""

from __future__ import annotations

import argparse
import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.admin import cli as admin_cli
from connector.admin.users import (
    AdminUserError,
    LoginThrottle,
    add_user,
    authenticate,
    ensure_user,
    list_users,
    username_key,
)
from connector.store.tables import AdminLoginAttempt, AdminUser

from .builders import FAST_KDF, PASSWORD


def test_password_is_stored_as_scrypt_and_verified(session: Session, now: datetime) -> None:
    account = add_user(session, "anna", PASSWORD, ["fietsen", "theewinkel"], now, method=FAST_KDF)
    stored = session.scalars(select(AdminUser.password_hash)).one()
    assert stored.startswith("scrypt:1024:8:1$")
    assert PASSWORD not in stored
    assert account.shop_ids == ("fietsen", "theewinkel")
    assert authenticate(session, "anna", PASSWORD) == account
    assert authenticate(session, "anna", PASSWORD + "x") is None
    assert authenticate(session, "nobody", PASSWORD) is None


@pytest.mark.parametrize(
    ("username", "password", "shops", "message"),
    [
        ("anna", PASSWORD, ["bakkerij"], "shop: unknown shop id 'bakkerij'"),
        ("anna", PASSWORD, [], "shop: name at least one shop id"),
        ("anna", "short", ["fietsen"], "password: use at least 10 characters"),
        ("an na", PASSWORD, ["fietsen"], "username: 'an na' must start"),
    ],
)
def test_bad_account_requests_name_the_field_and_change_nothing(
    session: Session, now: datetime, username: str, password: str, shops: list[str], message: str
) -> None:
    with pytest.raises(AdminUserError, match=message):
        add_user(session, username, password, shops, now, method=FAST_KDF)
    assert session.scalar(select(func.count()).select_from(AdminUser)) == 0


def test_existing_username_needs_replace(session: Session, now: datetime) -> None:
    add_user(session, "anna", PASSWORD, ["fietsen"], now, method=FAST_KDF)
    with pytest.raises(AdminUserError, match="username: 'anna' already exists"):
        add_user(session, "anna", "another password", ["theewinkel"], now, method=FAST_KDF)
    assert authenticate(session, "anna", PASSWORD) is not None
    add_user(session, "anna", "another password", ["theewinkel"], now, replace=True, method=FAST_KDF)
    assert authenticate(session, "anna", PASSWORD) is None
    assert [a.shop_ids for a in list_users(session)] == [("theewinkel",)]


def test_ensure_user_makes_a_working_sign_in(session: Session, now: datetime) -> None:
    account, password = ensure_user(session, "demo", ["fietsen"], now)
    assert len(password) >= 16
    assert authenticate(session, "demo", password) == account
    again, second = ensure_user(session, "demo", ["fietsen", "theewinkel"], now, password="chosen password")
    assert (again.id, again.shop_ids, second) == (account.id, ("fietsen", "theewinkel"), "chosen password")
    assert authenticate(session, "demo", password) is None


def test_throttle_blocks_after_max_failures_within_the_window(session: Session, now: datetime) -> None:
    throttle = LoginThrottle(max_failures=3, window=timedelta(minutes=15))
    for minute in range(2):
        throttle.failed(session, "Anna", now + timedelta(minutes=minute))
    assert throttle.blocked_until(session, "anna", now + timedelta(minutes=2)) is None  # 2 failures: one short
    throttle.failed(session, "anna", now + timedelta(minutes=2))
    assert throttle.blocked_until(session, "ANNA", now + timedelta(minutes=3)) == now + timedelta(minutes=15)
    assert throttle.blocked_until(session, "bert", now + timedelta(minutes=3)) is None
    # the oldest failure leaves the window at minute 15: two remain, so sign-in is allowed again
    assert throttle.blocked_until(session, "anna", now + timedelta(minutes=15)) is None
    throttle.failed(session, "anna", now + timedelta(minutes=15, seconds=30))
    blocked = throttle.blocked_until(session, "anna", now + timedelta(minutes=15, seconds=30))
    assert blocked == now + timedelta(minutes=16)
    throttle.succeeded(session, "anna", now + timedelta(minutes=15, seconds=40))
    assert throttle.blocked_until(session, "anna", now + timedelta(minutes=15, seconds=40)) is None


def test_throttle_keeps_no_username_and_forgets_old_failures(session: Session, now: datetime) -> None:
    throttle = LoginThrottle(max_failures=3, window=timedelta(minutes=15))
    throttle.failed(session, "my secret password", now)
    throttle.failed(session, "anna", now + timedelta(minutes=1))
    throttle.succeeded(session, "bert", now + timedelta(minutes=2))
    stored = session.execute(select(AdminLoginAttempt.username_key, AdminLoginAttempt.success)).all()
    assert sorted(stored) == sorted(
        [(username_key("my secret password"), False), (username_key("anna"), False), (username_key("bert"), True)]
    )
    assert username_key("My Secret Password ") == hashlib.sha256(b"my secret password").hexdigest()
    # a failure 15 minutes later drops the failures that left the window; the latest success stays
    throttle.failed(session, "carla", now + timedelta(minutes=15))
    left = session.execute(select(AdminLoginAttempt.username_key, AdminLoginAttempt.success)).all()
    assert sorted(left) == sorted(
        [(username_key("anna"), False), (username_key("bert"), True), (username_key("carla"), False)]
    )


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "ordercare.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database_url": db_url,
                "secret_key": "test-secret-key-0123456789abcdef",
                "shops": [
                    {
                        "id": "fietsen",
                        "platform": "shopify",
                        "shop_domain": "fietsen-test.myshopify.com",
                        "access_token": "shpat_x",
                        "webhook_secret": "secret-0123456789",
                    }
                ],
            }
        )
    )
    return path


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ordercare admin")
    admin_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_adds_and_lists_accounts(tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_config(tmp_path, db_url))
    out = io.StringIO()
    args = _parse("--config", config, "add", "anna", "--shop", "fietsen", "--password-stdin")
    assert admin_cli.run(args, stdin=io.StringIO(PASSWORD + "\n"), stdout=out) == 0
    assert out.getvalue() == "added anna (owner) for shops fietsen\n"  # the shop's first account: its owner

    listed = io.StringIO()
    assert admin_cli.run(_parse("list", "--config", config), stdout=listed) == 0
    assert listed.getvalue() == "anna\towner\tactive\tfietsen\n"

    bad = _parse("--config", config, "add", "bert", "--shop", "bakkerij", "--password-stdin")
    assert admin_cli.run(bad, stdin=io.StringIO(PASSWORD + "\n"), stdout=io.StringIO()) == 2
    assert "error: shop: unknown shop id 'bakkerij'" in capsys.readouterr().err
    again = io.StringIO()
    admin_cli.run(_parse("--config", config, "list"), stdout=again)
    assert again.getvalue() == "anna\towner\tactive\tfietsen\n"


def test_cli_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert admin_cli.run(_parse("--config", str(tmp_path / "missing.yaml"), "list")) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_cli_needs_a_config(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ORDERCARE_CONFIG", raising=False)
    assert admin_cli.run(_parse("list")) == 2
    assert "--config: give a configuration file (or set ORDERCARE_CONFIG)" in capsys.readouterr().err


def _cli(config: str, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = admin_cli.run(_parse("--config", config, *argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_cli_disables_enables_and_removes_accounts(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, db_url))
    assert _cli(config, "add", "anna", "--shop", "fietsen", "--password-stdin", stdin=PASSWORD) == (
        0,
        "added anna (owner) for shops fietsen\n",
    )
    assert _cli(config, "add", "bert", "--shop", "fietsen", "--password-stdin", stdin=PASSWORD) == (
        0,
        "added bert (staff) for shops fietsen\n",  # the shop has an owner: staff unless --role says otherwise
    )
    assert _cli(config, "disable", "bert") == (0, "disabled bert; their sessions have ended\n")
    assert _cli(config, "disable", "bert") == (0, "bert was already disabled\n")
    assert _cli(config, "list") == (0, "anna\towner\tactive\tfietsen\nbert\tstaff\tdisabled\tfietsen\n")
    assert _cli(config, "enable", "bert") == (0, "enabled bert; they can sign in again\n")
    assert _cli(config, "enable", "bert") == (0, "bert was not disabled\n")
    assert _cli(config, "remove", "bert") == (0, "removed bert; their sessions have ended\n")
    assert _cli(config, "list") == (0, "anna\towner\tactive\tfietsen\n")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", ["disable", "enable", "remove"])
def test_cli_refuses_an_unknown_account(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    config = str(_config(tmp_path, db_url))
    _cli(config, "add", "anna", "--shop", "fietsen", "--password-stdin", stdin=PASSWORD)
    capsys.readouterr()
    assert _cli(config, command, "nobody") == (2, "")
    assert capsys.readouterr().err == "error: username: no account 'nobody'\n"
    assert _cli(config, "list") == (0, "anna\towner\tactive\tfietsen\n")


@pytest.mark.parametrize("command", ["disable", "remove"])
def test_cli_keeps_the_last_owner(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    config = str(_config(tmp_path, db_url))
    _cli(config, "add", "anna", "--shop", "fietsen", "--password-stdin", stdin=PASSWORD)
    _cli(config, "add", "bert", "--shop", "fietsen", "--role", "staff", "--password-stdin", stdin=PASSWORD)
    capsys.readouterr()
    assert _cli(config, command, "anna") == (2, "")
    assert capsys.readouterr().err == (
        "error: username: 'anna' is the last owner of fietsen who can sign in; add another owner first\n"
    )
    assert _cli(config, "list") == (0, "anna\towner\tactive\tfietsen\nbert\tstaff\tactive\tfietsen\n")
    # with a second owner, the first may go
    _cli(config, "add", "carla", "--shop", "fietsen", "--role", "owner", "--password-stdin", stdin=PASSWORD)
    assert _cli(config, command, "anna")[0] == 0
    assert _cli(config, "list")[1].count("\towner\tactive\t") == 1
