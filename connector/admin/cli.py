"""``ordercare admin``: create and list dashboard accounts.

``ordercare admin add USERNAME --shop ID [--shop ID] [--password-stdin]`` asks for the password twice
(or reads one line from standard input) and stores its scrypt hash; ``ordercare admin list`` shows each
account with the shops it may see.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from connector.admin.users import AdminUserError, add_user, list_users
from connector.config import ConfigError, load_for_command
from connector.services import Services
from connector.store.db import transaction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="configuration file (default: $ORDERCARE_CONFIG)")
    commands = parser.add_subparsers(dest="admin_command", metavar="{add,list}", required=True)
    add = commands.add_parser("add", help="create a dashboard account (or replace one with --replace)")
    add.add_argument("username")
    add.add_argument("--shop", action="append", required=True, dest="shops", metavar="ID", help="repeat for more")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first input line")
    add.add_argument("--replace", action="store_true", help="set a new password and shop list on an existing account")
    listing = commands.add_parser("list", help="list dashboard accounts and their shops")
    for sub in (add, listing):  # --config is accepted after the subcommand too
        sub.add_argument("--config", "-c", default=argparse.SUPPRESS, help="configuration file")


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AdminUserError("password: the two entries differ")
    return first


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
                print(f"{account.username}\t{', '.join(account.shop_ids)}", file=out)
            if not accounts:
                print("no accounts yet; add one with: ordercare admin add USERNAME --shop ID", file=out)
            return 0
        password = _read_password(args, stdin or sys.stdin)
        with transaction(services.sessions) as session:
            account = add_user(session, args.username, password, args.shops, services.now(), replace=args.replace)
        verb = "updated" if args.replace else "added"
        print(f"{verb} {account.username} for shops {', '.join(account.shop_ids)}", file=out)
        return 0
    except AdminUserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        services.engine.dispose()
