"""Dashboard accounts: who may sign in to ``/admin`` and which shops each account may see.

Passwords are stored as scrypt hashes (werkzeug's ``scrypt:N:r:p$salt$hash`` format); an account names
one or more shop ids, and every dashboard query filters on exactly those. ``LoginThrottle`` slows down
password guessing per username.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from connector.store.tables import AdminUser, ShopRow

DEFAULT_METHOD = "scrypt:32768:8:1"
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}$")
# verified against when the username is unknown, so both paths cost one KDF run
_DUMMY_HASH = generate_password_hash("not a password of anyone", method=DEFAULT_METHOD)


class AdminUserError(ValueError):
    """An account request that cannot be carried out; the message names the bad field."""


@dataclass(frozen=True)
class Account:
    """A signed-in (or listed) dashboard account."""

    id: int
    username: str
    shop_ids: tuple[str, ...]


def hash_password(password: str, method: str = DEFAULT_METHOD) -> str:
    if not method.startswith(("scrypt", "pbkdf2")):
        raise AdminUserError(f"method: use scrypt or pbkdf2, not {method!r}")
    return generate_password_hash(password, method=method)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def _account(row: AdminUser) -> Account:
    return Account(id=row.id, username=row.username, shop_ids=tuple(row.shop_ids or ()))


def _check(session: Session, username: str, password: str, shop_ids: Sequence[str]) -> tuple[str, ...]:
    if not _USERNAME.fullmatch(username):
        raise AdminUserError(
            f"username: {username!r} must start with a letter or digit and use only letters, digits and . _ @ + -"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminUserError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    wanted = tuple(dict.fromkeys(shop_ids))
    if not wanted:
        raise AdminUserError("shop: name at least one shop id the account may see")
    known = set(session.scalars(select(ShopRow.id).where(ShopRow.id.in_(wanted))))
    unknown = [shop_id for shop_id in wanted if shop_id not in known]
    if unknown:
        raise AdminUserError("shop: unknown shop id " + ", ".join(repr(s) for s in unknown))
    return wanted


def add_user(
    session: Session,
    username: str,
    password: str,
    shop_ids: Sequence[str],
    now: datetime,
    *,
    replace: bool = False,
    method: str = DEFAULT_METHOD,
) -> Account:
    """Create an account (or, with ``replace``, set a new password and shop list on an existing one)."""
    wanted = _check(session, username, password, shop_ids)
    row = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if row is not None and not replace:
        raise AdminUserError(f"username: {username!r} already exists")
    if row is None:
        row = AdminUser(username=username, created_at=now)
        session.add(row)
    row.password_hash = hash_password(password, method)
    row.shop_ids = list(wanted)
    session.flush()
    return _account(row)


def ensure_user(
    session: Session, username: str, shop_ids: Sequence[str], now: datetime, password: str | None = None
) -> tuple[Account, str]:
    """Create or reset an account and return it with its password (a fresh random one if none given).

    Meant for the demo and local trials: it prints a sign-in that works while it runs.
    """
    password = password or secrets.token_urlsafe(12)
    return add_user(session, username, password, shop_ids, now, replace=True), password


def authenticate(session: Session, username: str, password: str) -> Account | None:
    row = session.scalars(select(AdminUser).where(AdminUser.username == username)).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return None
    return _account(row) if verify_password(row.password_hash, password) else None


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.get(AdminUser, account_id)
    return _account(row) if row is not None else None


def list_users(session: Session) -> list[Account]:
    return [_account(row) for row in session.scalars(select(AdminUser).order_by(AdminUser.username))]


class LoginThrottle:
    """Refuses sign-in for a username after ``max_failures`` failures within ``window`` (per process).

    A success clears the count. The lock-out ends when the oldest of those failures leaves the window.
    """

    def __init__(
        self, max_failures: int = 5, window: timedelta = timedelta(minutes=15), max_tracked: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_tracked = max_tracked
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, username: str, now: datetime) -> list[datetime]:
        kept = [t for t in self._failures.get(username.lower(), []) if now - t < self.window]
        if kept:
            self._failures[username.lower()] = kept
        else:
            self._failures.pop(username.lower(), None)
        return kept

    def blocked_until(self, username: str, now: datetime) -> datetime | None:
        with self._lock:
            recent = self._recent(username, now)
            if len(recent) >= self.max_failures:
                return min(recent[-self.max_failures :]) + self.window
            return None

    def failed(self, username: str, now: datetime) -> None:
        with self._lock:
            if len(self._failures) > self.max_tracked:
                for name in list(self._failures):
                    self._recent(name, now)
            recent = self._recent(username, now)
            recent.append(now)
            self._failures[username.lower()] = recent[-self.max_failures :]

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username.lower(), None)
