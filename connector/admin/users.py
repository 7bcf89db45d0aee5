"""Dashboard accounts: who may sign in to ``/admin``, which shops each account may see, and who manages them.

Passwords are stored as scrypt hashes (werkzeug's ``scrypt:N:r:p$salt$hash`` format); an account names
one or more shop ids, and every dashboard query filters on exactly those. An *owner* adds, disables, enables
and removes the accounts of their shops; *staff* do the daily work. Every shop keeps at least one owner who
can sign in. ``LoginThrottle`` slows down password guessing per username, counted in the database so that
all web processes share it. A shop's staff who open ordercare from the Shopify admin get a staff account of
their own for that shop (``shopify_account``), signed in by Shopify's session token, never by a password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from connector.store.tables import AdminLoginAttempt, AdminUser, ShopRow

DEFAULT_METHOD = "scrypt:32768:8:1"
MIN_PASSWORD_LENGTH = 10
OWNER, STAFF = "owner", "staff"
ROLES = (OWNER, STAFF)
PASSWORD, SHOPIFY = "password", "shopify"  # how an account signs in (``AdminUser.source``)
# a Shopify account's password hash: not in werkzeug's format, so no password ever matches it
_NO_PASSWORD = "!shopify-admin"  # noqa: S105 (a marker, not a password)
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,254}$")
# verified against when the username is unknown, so both paths cost one KDF run
_DUMMY_HASH = generate_password_hash("not a password of anyone", method=DEFAULT_METHOD)


class AdminUserError(ValueError):
    """An account request that cannot be carried out; the message names the bad field.

    ``reason`` says which rule refused it (for the dashboard's own wording), ``fields`` what it is about.
    """

    def __init__(self, message: str, reason: str = "invalid", **fields: str | int) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields


class AccountDisabled(AdminUserError):
    """The name and password are right, but the account is disabled."""


@dataclass(frozen=True)
class Account:
    """A signed-in (or listed) dashboard account."""

    id: int
    username: str
    shop_ids: tuple[str, ...]
    role: str = STAFF
    disabled_at: datetime | None = None
    session_generation: int = 0
    source: str = PASSWORD

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def from_shopify(self) -> bool:
        """Opened from the Shopify admin: signs in by Shopify's session token, has no password."""
        return self.source == SHOPIFY

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


def hash_password(password: str, method: str = DEFAULT_METHOD) -> str:
    if not method.startswith(("scrypt", "pbkdf2")):
        raise AdminUserError(f"method: use scrypt or pbkdf2, not {method!r}")
    return generate_password_hash(password, method=method)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def _account(row: AdminUser) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        shop_ids=tuple(row.shop_ids or ()),
        role=row.role,
        disabled_at=row.disabled_at,
        session_generation=row.session_generation or 0,
        source=row.source or PASSWORD,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminUserError(
            f"password: use at least {MIN_PASSWORD_LENGTH} characters", "short_password", count=MIN_PASSWORD_LENGTH
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AdminUserError(f"role: {role!r} is not one of owner, staff", "bad_role", role=role)


def _check(session: Session, username: str, password: str, shop_ids: Sequence[str]) -> tuple[str, ...]:
    if not _USERNAME.fullmatch(username):
        raise AdminUserError(
            f"username: {username!r} must start with a letter or digit and use only letters, digits and . _ @ + -",
            "bad_username",
            name=username,
        )
    _check_password(password)
    wanted = tuple(dict.fromkeys(shop_ids))
    if not wanted:
        raise AdminUserError("shop: name at least one shop id the account may see", "no_shop")
    known = set(session.scalars(select(ShopRow.id).where(ShopRow.id.in_(wanted))))
    unknown = [shop_id for shop_id in wanted if shop_id not in known]
    if unknown:
        shops = ", ".join(repr(s) for s in unknown)
        raise AdminUserError("shop: unknown shop id " + shops, "unknown_shop", shops=shops)
    return wanted


def _row(session: Session, username: str) -> AdminUser | None:
    return session.scalars(select(AdminUser).where(AdminUser.username == username)).first()


def _owned_shops(session: Session, skip_id: int | None = None) -> set[str]:
    """Shops with an owner who can sign in (not counting the account ``skip_id``)."""
    owned: set[str] = set()
    # locked, so that two owners disabling each other at the same moment cannot both succeed
    query = select(AdminUser).where(AdminUser.role == OWNER, AdminUser.disabled_at.is_(None)).with_for_update()
    for row in session.scalars(query):
        if row.id != skip_id:
            owned.update(row.shop_ids or ())
    return owned


def add_user(
    session: Session,
    username: str,
    password: str,
    shop_ids: Sequence[str],
    now: datetime,
    *,
    role: str | None = None,
    replace: bool = False,
    method: str = DEFAULT_METHOD,
) -> Account:
    """Create an account (or, with ``replace``, set a new password and shop list on an existing one).

    Without a ``role`` a new account becomes the owner of its shops when one of them has no owner yet, and staff
    otherwise; a replaced account keeps its role unless one is given. Replacing ends the account's sessions
    (it is the operator's way back in, so it may also leave a shop without an owner).
    """
    wanted = _check(session, username, password, shop_ids)
    if role is not None:
        _check_role(role)
    row = _row(session, username)
    if row is not None and not replace:
        raise AdminUserError(f"username: {username!r} already exists", "exists", name=username)
    if row is None:
        if role is None:
            role = OWNER if set(wanted) - _owned_shops(session) else STAFF
        row = AdminUser(username=username, created_at=now, role=role, session_generation=0)
        session.add(row)
    else:
        row.role = role or row.role
        row.session_generation = (row.session_generation or 0) + 1
    row.password_hash = hash_password(password, method)
    row.shop_ids = list(wanted)
    session.flush()
    return _account(row)


def ensure_user(
    session: Session, username: str, shop_ids: Sequence[str], now: datetime, password: str | None = None
) -> tuple[Account, str]:
    """Create or reset an owner account that can sign in, and return it with its password (a fresh random one
    if none given).

    Meant for the demo and local trials: it prints a sign-in that works while it runs.
    """
    password = password or secrets.token_urlsafe(12)
    account = add_user(session, username, password, shop_ids, now, role=OWNER, replace=True)
    row = session.get(AdminUser, account.id)
    assert row is not None
    row.disabled_at = None
    session.flush()
    return _account(row), password


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """The account when the name and password match, else None; raises ``AccountDisabled`` when they match a
    disabled account (only someone who knows the password learns that it is disabled)."""
    row = _row(session, username)
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if row.source == SHOPIFY or not verify_password(row.password_hash, password):
        return None
    if row.disabled_at is not None:
        raise AccountDisabled(f"username: {username!r} is disabled", "disabled", name=username)
    return _account(row)


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.get(AdminUser, account_id)
    return _account(row) if row is not None else None


def find_user(session: Session, username: str) -> Account | None:
    row = _row(session, username)
    return _account(row) if row is not None else None


def shopify_username(shop_id: str, user_id: str) -> str:
    """The account name of a Shopify staff member in one shop: ``shopify:<shop id>:<Shopify user id>``. The colon
    is outside the names people choose, so it never meets an account made with a password."""
    return f"shopify:{shop_id}:{user_id}"


def find_shopify_account(session: Session, shop_id: str, user_id: str) -> Account | None:
    """The dashboard account of a Shopify staff member (the session token's ``sub``) in this shop, if any."""
    row = _row(session, shopify_username(shop_id, user_id))
    return _account(row) if row is not None and row.source == SHOPIFY else None


def shopify_account(session: Session, shop_id: str, user_id: str, now: datetime) -> tuple[Account, bool]:
    """The account a Shopify staff member signs in with from the Shopify admin, and whether it was made now.

    Made on the first visit: staff, bound to this one shop, without a password (only Shopify's session token
    signs it in). An owner disables, enables or removes it as any other account; a disabled one raises
    ``AccountDisabled`` and is never re-enabled here."""
    if not user_id or not user_id.isdigit() or len(user_id) > 40:
        raise AdminUserError(f"sub: {user_id[:40]!r} is not a Shopify user id", "bad_username", name=user_id[:40])
    if session.get(ShopRow, shop_id) is None:
        raise AdminUserError("shop: unknown shop id " + repr(shop_id), "unknown_shop", shops=repr(shop_id))
    username = shopify_username(shop_id, user_id)
    row = _row(session, username)
    if row is not None:
        if row.source != SHOPIFY:  # cannot happen through add_user (a colon is refused), but never sign one in
            raise AdminUserError(f"username: {username!r} is not a Shopify account", "exists", name=username)
        if row.disabled_at is not None:
            raise AccountDisabled(f"username: {username!r} is disabled", "disabled", name=username)
        return _account(row), False
    row = AdminUser(
        username=username,
        password_hash=_NO_PASSWORD,
        shop_ids=[shop_id],
        created_at=now,
        role=STAFF,
        session_generation=0,
        source=SHOPIFY,
    )
    session.add(row)
    session.flush()
    return _account(row), True


def list_users(session: Session) -> list[Account]:
    return [_account(row) for row in session.scalars(select(AdminUser).order_by(AdminUser.username))]


def manages(actor: Account, target: Account) -> bool:
    """An owner manages the accounts whose shops are all among the owner's own (themselves included)."""
    return actor.is_owner and set(target.shop_ids) <= set(actor.shop_ids)


def managed_users(session: Session, actor: Account) -> list[Account]:
    """The accounts ``actor`` manages, by name; nothing for staff."""
    return [account for account in list_users(session) if manages(actor, account)]


def _target(session: Session, username: str, actor: Account | None) -> AdminUser:
    row = _row(session, username)
    if row is None or (actor is not None and not manages(actor, _account(row))):
        raise AdminUserError(f"username: no account {username!r}", "unknown", name=username)
    if actor is not None and row.id == actor.id:
        raise AdminUserError(f"username: {username!r} is your own account", "self", name=username)
    return row


def _keep_owners(session: Session, row: AdminUser, shops_after: Sequence[str]) -> None:
    """Refuse a change to an owner that would leave one of its shops without an owner who can sign in."""
    if row.role != OWNER or row.disabled_at is not None:
        return
    orphaned = sorted(set(row.shop_ids or ()) - set(shops_after) - _owned_shops(session, skip_id=row.id))
    if orphaned:
        shops = ", ".join(orphaned)
        raise AdminUserError(
            f"username: {row.username!r} is the last owner of {shops} who can sign in; add another owner first",
            "last_owner",
            name=row.username,
            shops=shops,
        )


def disable_user(session: Session, username: str, now: datetime, actor: Account | None = None) -> tuple[Account, bool]:
    """Disable an account and end its sessions; returns it and whether it changed (False: already disabled).

    ``actor`` is the owner asking from the dashboard (None: the command line, which may act on every account).
    """
    row = _target(session, username, actor)
    if row.disabled_at is not None:
        return _account(row), False
    _keep_owners(session, row, ())
    row.disabled_at = now
    row.session_generation = (row.session_generation or 0) + 1
    session.flush()
    return _account(row), True


def enable_user(session: Session, username: str, now: datetime, actor: Account | None = None) -> tuple[Account, bool]:
    """Let a disabled account sign in again; returns it and whether it changed (False: it was not disabled)."""
    row = _target(session, username, actor)
    if row.disabled_at is None:
        return _account(row), False
    row.disabled_at = None
    session.flush()
    return _account(row), True


def remove_user(session: Session, username: str, now: datetime, actor: Account | None = None) -> Account:
    """Delete an account; its sessions end at their next request. Returns the account as it was."""
    row = _target(session, username, actor)
    _keep_owners(session, row, ())
    removed = _account(row)
    session.delete(row)
    session.flush()
    return removed


def change_password(
    session: Session,
    account_id: int,
    current_password: str,
    new_password: str,
    now: datetime,
    *,
    method: str = DEFAULT_METHOD,
) -> Account:
    """Set a new password after checking the current one; the account's other sessions end.

    The returned account carries the new session generation for the session that asked.
    """
    row = session.get(AdminUser, account_id)
    if row is None or row.disabled_at is not None:
        raise AdminUserError("username: the account is gone or disabled", "unknown", name=str(account_id))
    if row.source == SHOPIFY:
        raise AdminUserError("password: this account signs in through the Shopify admin", "shopify_account")
    if not verify_password(row.password_hash, current_password):
        raise AdminUserError("password: the current password is not right", "wrong_password")
    _check_password(new_password)
    if new_password == current_password:
        raise AdminUserError("password: the new password is the current one", "same_password")
    row.password_hash = hash_password(new_password, method)
    row.session_generation = (row.session_generation or 0) + 1
    session.flush()
    return _account(row)


def username_key(username: str) -> str:
    """How the throttle names a username: a hash of it, lower-cased."""
    return hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoginThrottle:
    """Refuses sign-in for a username after ``max_failures`` failures within ``window``, for every web process
    that shares the database.

    A success clears the count. The lock-out ends when the oldest of those failures leaves the window.
    """

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def blocked_until(self, session: Session, username: str, now: datetime) -> datetime | None:
        query = (
            select(AdminLoginAttempt.attempted_at)
            .where(
                AdminLoginAttempt.username_key == username_key(username),
                AdminLoginAttempt.success.is_(False),
                AdminLoginAttempt.attempted_at > now - self.window,
            )
            .order_by(AdminLoginAttempt.attempted_at.desc(), AdminLoginAttempt.id.desc())
            .limit(self.max_failures)
        )
        recent = list(session.scalars(query))
        if len(recent) >= self.max_failures:
            return min(recent) + self.window
        return None

    def failed(self, session: Session, username: str, now: datetime) -> None:
        session.execute(
            delete(AdminLoginAttempt).where(
                AdminLoginAttempt.success.is_(False), AdminLoginAttempt.attempted_at <= now - self.window
            )
        )
        session.add(AdminLoginAttempt(username_key=username_key(username), attempted_at=now, success=False))
        session.flush()

    def succeeded(self, session: Session, username: str, now: datetime) -> None:
        """Clear the failures and keep this sign-in as the name's latest."""
        session.execute(delete(AdminLoginAttempt).where(AdminLoginAttempt.username_key == username_key(username)))
        session.add(AdminLoginAttempt(username_key=username_key(username), attempted_at=now, success=True))
        session.flush()


def last_sign_ins(session: Session, usernames: Sequence[str]) -> dict[str, datetime]:
    """The latest successful sign-in per username (those that signed in at least once)."""
    keys = {username_key(name): name for name in usernames}
    if not keys:
        return {}
    query = (
        select(AdminLoginAttempt.username_key, func.max(AdminLoginAttempt.attempted_at))
        .where(AdminLoginAttempt.success.is_(True), AdminLoginAttempt.username_key.in_(keys))
        .group_by(AdminLoginAttempt.username_key)
    )
    return {keys[key]: at for key, at in session.execute(query)}
