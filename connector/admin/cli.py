"""``ordercare admin``: create, list, disable, enable and remove dashboard accounts.

``ordercare admin add USERNAME --shop ID [--shop ID] [--role owner|staff] [--password-stdin]`` asks for the
password twice (or reads one line from standard input) and stores its scrypt hash; without ``--role`` the first
account of a shop becomes its owner. ``ordercare admin list`` shows each account with its role, state and
shops. ``disable`` ends the account's sessions at their next request, ``enable`` lets it sign in again, and
``remove`` deletes it; none of them leaves a shop without an owner who can sign in.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from connector.admin.users import (
    ROLES,
    AdminUserError,
    add_user,
    disable_user,
    enable_user,
    list_users,
    remove_user,
)
from connector.config import ConfigError, load_for_command
from connector.services import Services
from connector.store.db import transaction

COMMANDS = ("add", "list", "disable", "enable", "remove")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="configuration file (default: $ORDERCARE_CONFIG)")
    commands = parser.add_subparsers(dest="admin_command", metavar="{" + ",".join(COMMANDS) + "}", required=True)
    add = commands.add_parser("add", help="create a dashboard account (or replace one with --replace)")
    add.add_argument("username")
    add.add_argument("--shop", action="append", required=True, dest="shops", metavar="ID", help="repeat for more")
    add.add_argument(
        "--role",
        choices=ROLES,
        help="owner: also manages the shops' accounts; staff: the daily work (default: owner for a shop's first "
        "account, else staff; --replace keeps the role)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first input line")
    add.add_argument("--replace", action="store_true", help="set a new password and shop list on an existing account")
    listing = commands.add_parser("list", help="list dashboard accounts: role, state and shops")
    disable = commands.add_parser("disable", help="stop an account from signing in and end its sessions")
    enable = commands.add_parser("enable", help="let a disabled account sign in again")
    remove = commands.add_parser("remove", help="delete an account and end its sessions")
    for sub in (disable, enable, remove):
        sub.add_argument("username")
    for sub in (add, listing, disable, enable, remove):  # --config is accepted after the subcommand too
        sub.add_argument("--config", "-c", default=argparse.SUPPRESS, help="configuration file")


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AdminUserError("password: the two entries differ")
    return first


def _change(args: argparse.Namespace, services: Services) -> str:
    """Carry out disable, enable or remove; the line to print."""
    name, current = args.username, services.now()
    with transaction(services.sessions) as session:
        if args.admin_command == "remove":
            remove_user(session, name, current)
            return f"removed {name}; their sessions have ended"
        if args.admin_command == "disable":
            _, changed = disable_user(session, name, current)
            return f"disabled {name}; their sessions have ended" if changed else f"{name} was already disabled"
        _, changed = enable_user(session, name, current)
        return f"enabled {name}; they can sign in again" if changed else f"{name} was not disabled"


def run(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    try:
        settings = load_for_command(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    services = Services.build(settings)
    try:
        if args.admin_command == "list":
            with services.sessions() as session:
                accounts = list_users(session)
            for account in accounts:
                state = "disabled" if account.disabled else "active"
                print(f"{account.username}\t{account.role}\t{state}\t{', '.join(account.shop_ids)}", file=out)
            if not accounts:
                print("no accounts yet; add one with: ordercare admin add USERNAME --shop ID", file=out)
            return 0
        if args.admin_command in ("disable", "enable", "remove"):
            print(_change(args, services), file=out)
            return 0
        password = _read_password(args, stdin or sys.stdin)
        with transaction(services.sessions) as session:
            account = add_user(
                session, args.username, password, args.shops, services.now(), role=args.role, replace=args.replace
            )
        verb = "updated" if args.replace else "added"
        print(f"{verb} {account.username} ({account.role}) for shops {', '.join(account.shop_ids)}", file=out)
        return 0
    except AdminUserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        services.engine.dispose()
