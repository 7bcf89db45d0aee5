"""Dashboard accounts: scrypt hashes, validation that names the bad field, the login throttle, the CLI."""

from __future__ import annotations

import argparse
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
)
from connector.store.tables import AdminUser

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


def test_throttle_blocks_after_max_failures_within_the_window(now: datetime) -> None:
    throttle = LoginThrottle(max_failures=3, window=timedelta(minutes=15))
    for minute in range(2):
        throttle.failed("Anna", now + timedelta(minutes=minute))
    assert throttle.blocked_until("anna", now + timedelta(minutes=2)) is None  # 2 failures: one short
    throttle.failed("anna", now + timedelta(minutes=2))
    assert throttle.blocked_until("ANNA", now + timedelta(minutes=3)) == now + timedelta(minutes=15)
    assert throttle.blocked_until("bert", now + timedelta(minutes=3)) is None
    # the oldest failure leaves the window at minute 15: two remain, so sign-in is allowed again
    assert throttle.blocked_until("anna", now + timedelta(minutes=15)) is None
    throttle.failed("anna", now + timedelta(minutes=15, seconds=30))
    assert throttle.blocked_until("anna", now + timedelta(minutes=15, seconds=30)) == now + timedelta(minutes=16)
    throttle.succeeded("anna")
    assert throttle.blocked_until("anna", now + timedelta(minutes=15, seconds=30)) is None


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
    assert out.getvalue() == "added anna for shops fietsen\n"

    listed = io.StringIO()
    assert admin_cli.run(_parse("list", "--config", config), stdout=listed) == 0
    assert listed.getvalue() == "anna\tfietsen\n"

    bad = _parse("--config", config, "add", "bert", "--shop", "bakkerij", "--password-stdin")
    assert admin_cli.run(bad, stdin=io.StringIO(PASSWORD + "\n"), stdout=io.StringIO()) == 2
    assert "error: shop: unknown shop id 'bakkerij'" in capsys.readouterr().err
    again = io.StringIO()
    admin_cli.run(_parse("--config", config, "list"), stdout=again)
    assert again.getvalue() == "anna\tfietsen\n"


def test_cli_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert admin_cli.run(_parse("--config", str(tmp_path / "missing.yaml"), "list")) == 2
    assert "cannot read the file" in capsys.readouterr().err


def test_cli_needs_a_config(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ORDERCARE_CONFIG", raising=False)
    assert admin_cli.run(_parse("list")) == 2
    assert "--config: give a configuration file (or set ORDERCARE_CONFIG)" in capsys.readouterr().err
