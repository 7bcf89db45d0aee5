"""The ``ordercare`` command: demo, serve, web, worker, check-config, check-connection, db, sandbox, operator views.

Each subcommand is a pair ``add_arguments(parser)`` / ``run(args) -> exit code``; feature modules that
bring their own (``preview``, ``admin``) are listed in ``EXTERNAL`` and loaded on use.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from connector import __version__
from connector.problems import ConfigError

if TYPE_CHECKING:
    from connector.config import Settings

EXIT_CONFIG = 2
EXIT_WARNINGS = 1


def _load(path: str | None) -> Settings:
    from connector.config import load_for_command

    return load_for_command(path)


def _config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="configuration file (default: $ORDERCARE_CONFIG)")


# --- check-config / db ---------------------------------------------------------------------------


def _check_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="the YAML configuration file (default: --config or $ORDERCARE_CONFIG)")
    _config_argument(parser)
    parser.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too, for production")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY") or 1),
        help="web processes that will share the database (default: $WEB_CONCURRENCY or 1)",
    )


def _check_config(args: argparse.Namespace) -> int:
    from connector.checks import config_warnings

    try:
        settings = _load(args.file or args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return EXIT_CONFIG
    warnings = config_warnings(settings, web_processes=args.web_processes)
    for warning in warnings:
        print(f"warning: {warning}")
    if warnings and args.strict:
        print(f"not ok: {len(warnings)} warning{'s' if len(warnings) != 1 else ''} (--strict)")
        return EXIT_WARNINGS
    print("ok")
    return 0


def _check_connection_args(parser: argparse.ArgumentParser) -> None:
    _config_argument(parser)
    parser.add_argument("--shop", help="only this shop (default: every active shop)")


def _check_connection(args: argparse.Namespace) -> int:
    """One line per shop; exit 0 when every shop is connected with nothing wrong, 1 otherwise."""
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from connector import platforms
    from connector.connection import check_shops
    from connector.platforms.base import PlatformClient
    from connector.services import Services
    from connector.shops import Shop
    from connector.store.db import make_engine

    settings = _load(args.config)
    engine = make_engine(settings.database_url)
    try:
        services = Services.build(settings, engine=engine)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        print(f"database_url: cannot read the shops from {where} ({type(exc).__name__}); run ordercare db upgrade")
        engine.dispose()
        return EXIT_CONFIG
    opened: list[PlatformClient] = []

    def client_for(shop: Shop) -> PlatformClient:
        client = platforms.make_client(shop, settings, clock=services.now)
        opened.append(client)
        return client

    quiet = logging.getLogger("connector")  # the clients' own warnings repeat what the lines say
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        checks = check_shops(services, client_for, shop_id=args.shop)
    finally:
        quiet.setLevel(level)
        for client in opened:
            client.close()
        engine.dispose()
    if args.shop and not checks:
        known = ", ".join(shop.id for shop in settings.shops) or "none in the configuration"
        print(f"--shop: no shop {args.shop!r} (known: {known})")
        return EXIT_CONFIG
    if not checks:
        print("no active shops to check")
    for check in checks:
        print(check.line())
    return 0 if all(check.ok for check in checks) else EXIT_WARNINGS


def _db_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["upgrade", "current"], help="apply migrations / show the revision")
    _config_argument(parser)
    parser.add_argument("--database-url", help="use this database instead of the configuration's")


def _db(args: argparse.Namespace) -> int:
    from connector.store.db import current_revision, make_engine, pending_revisions, upgrade

    url = args.database_url or _load(args.config).database_url
    engine = make_engine(url)
    where = engine.url.render_as_string(hide_password=True)
    before = current_revision(engine)
    if args.action == "upgrade":
        pending = pending_revisions(engine)
        upgrade(engine)
        for revision, title in pending:
            print(f"applied {revision}: {title}")
        after = current_revision(engine)
        if not pending:
            print(f"{where}: already at {after}, nothing to apply")
        else:
            print(f"{where}: {before or '(empty database)'} -> {after}")
        return 0
    print(f"{where}: {before or '(empty database)'}")
    return 0


# --- serve / web / worker ------------------------------------------------------------------------


def _server_args(parser: argparse.ArgumentParser) -> None:
    _config_argument(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--threads", type=int, default=8, help="request threads")


def _build(args: argparse.Namespace, migrate: bool) -> Any:
    from connector import logs
    from connector.services import Services
    from connector.store.db import make_engine, upgrade

    settings = _load(args.config)
    logs.configure(settings.log_level)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Services.build(settings, engine=engine)


def _wait_for_signal(stop: Callable[[], None]) -> None:
    done = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    done.wait()
    stop()


def _console(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _start_worker(services: Any) -> Callable[[], None]:
    """The scheduler, the reactor and the outbox; their first reconcile runs at once, after one line per shop."""
    from connector.scheduler import Worker

    worker = Worker(services, say=_console)
    worker.start()
    return worker.stop


def _serve_web(services: Any, host: str, port: int, threads: int) -> None:
    """Serve until SIGTERM or Ctrl-C; requests in flight then get up to 10 s to finish."""
    from waitress import create_server

    from webhooks import create_app

    server = create_server(create_app(services), host=host, port=port, threads=threads, ident="ordercare")
    loop = threading.Thread(target=server.run, name="waitress", daemon=True)
    loop.start()
    _wait_for_signal(lambda: server.task_dispatcher.shutdown(timeout=10))


def _serve(args: argparse.Namespace) -> int:
    services = _build(args, migrate=True)
    stop_worker = _start_worker(services)
    print(f"ordercare serving on http://{args.host}:{args.port} (web + scheduler + outbox)", file=sys.stderr)
    try:
        _serve_web(services, args.host, args.port, args.threads)
    finally:
        stop_worker()
    return 0


def _web(args: argparse.Namespace) -> int:
    services = _build(args, migrate=False)
    _serve_web(services, args.host, args.port, args.threads)
    return 0


def _worker_args(parser: argparse.ArgumentParser) -> None:
    _config_argument(parser)


def _worker(args: argparse.Namespace) -> int:
    services = _build(args, migrate=False)
    stop = _start_worker(services)
    print("ordercare worker running (scheduler + outbox); Ctrl-C to stop", file=sys.stderr)
    _wait_for_signal(stop)
    return 0


# --- operator views ------------------------------------------------------------------------------


def _view_args(parser: argparse.ArgumentParser, failed: bool = False) -> None:
    _config_argument(parser)
    parser.add_argument("--shop", help="only this shop")
    parser.add_argument("--json", action="store_true", help="one JSON array of objects")
    parser.add_argument("--limit", type=int, default=100, help="at most this many rows, newest first")
    if failed:
        parser.add_argument("--failed", action="store_true", help="only actions that failed permanently")


def _shown(value: Any, zone: tzinfo, as_json: bool) -> Any:
    """A stored time in the shop's zone: ISO 8601 with its offset for JSON, ``2026-11-24 14:00 CET`` for people."""
    if not isinstance(value, datetime):
        return value
    local = value.astimezone(zone)
    return local.isoformat() if as_json else local.strftime("%Y-%m-%d %H:%M %Z")


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: Sequence[str], zones: Mapping[str, tzinfo]) -> None:
    rows = [{k: _shown(v, zones.get(str(row.get("shop")), UTC), as_json) for k, v in row.items()} for row in rows]
    if as_json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
        return
    if not rows:
        print("(none)")
        return
    widths = {c: min(48, max(len(c), *(len(str(r.get(c, ""))) for r in rows))) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, ""))[: widths[c]].ljust(widths[c]) for c in columns))


def _view(
    args: argparse.Namespace, query: Any, shop_id: Any, row: Callable[..., dict[str, Any]], columns: Sequence[str]
) -> int:
    """Print an operator view: ``query`` for ``--shop`` (its ``shop_id`` column) and ``--limit``, ``row`` per result."""
    from sqlalchemy import select

    from connector.store.db import make_engine, session_factory
    from connector.store.tables import ShopRow

    settings = _load(args.config)
    if args.shop:
        query = query.where(shop_id == args.shop)
    with session_factory(make_engine(settings.database_url))() as session:
        rows = [row(*result) for result in session.execute(query.limit(args.limit))]
        zones = {shop: ZoneInfo(zone) for shop, zone in session.execute(select(ShopRow.id, ShopRow.timezone)) if zone}
    _print_rows(rows, args.json, columns, zones)
    return 0


def _orders(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from connector.store.tables import OrderRow

    def row(r: OrderRow) -> dict[str, Any]:
        return {
            "shop": r.shop_id,
            "order": r.number,
            "external_id": r.external_id,
            "status": r.status,
            "platform_status": r.platform_status,
            "created_at": (r.created_at),
            "next_check_at": (r.next_check_at),
        }

    query = select(OrderRow).order_by(OrderRow.created_at.desc())
    columns = ["shop", "order", "status", "platform_status", "created_at", "next_check_at"]
    return _view(args, query, OrderRow.shop_id, row, columns)


def _incidents(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from connector.store.tables import IncidentRow, OrderRow

    def row(i: IncidentRow, number: str) -> dict[str, Any]:
        return {
            "id": i.id,
            "shop": i.shop_id,
            "order": number,
            "kind": i.kind,
            "state": i.state,
            "level": i.level,
            "opened_at": (i.opened_at),
            "resolved_at": (i.resolved_at),
            "resolution": i.resolution,
        }

    query = (
        select(IncidentRow, OrderRow.number)
        .join(OrderRow, OrderRow.id == IncidentRow.order_id)
        .order_by(IncidentRow.updated_at.desc())
    )
    columns = ["id", "shop", "order", "kind", "state", "level", "opened_at", "resolution"]
    return _view(args, query, IncidentRow.shop_id, row, columns)


def _actions_args(parser: argparse.ArgumentParser) -> None:
    _view_args(parser, failed=True)
    parser.add_argument("--observed", action="store_true", help="only what a shop in observe mode would have had done")
    parser.add_argument(
        "operation",
        nargs="?",
        choices=["retry", "show"],
        help="retry ID: queue a failed action again; show ID: what the action does (or would do), its message",
    )
    parser.add_argument("action_id", nargs="?", type=int, metavar="ID", help="the action to retry or show")


def _retry(args: argparse.Namespace) -> int:
    from connector.clock import system_clock
    from connector.outbox.queue import retry_failed
    from connector.store.db import make_engine, session_factory, transaction
    from connector.store.tables import ActionRow

    if args.action_id is None:
        print("actions retry: give the id of a failed action (ordercare actions --failed lists them)", file=sys.stderr)
        return EXIT_CONFIG
    sessions = session_factory(make_engine(_load(args.config).database_url))
    with transaction(sessions) as session:
        row = session.get(ActionRow, args.action_id)
        if row is None or (args.shop and row.shop_id != args.shop):
            print(f"action {args.action_id}: no such action", file=sys.stderr)
            return EXIT_WARNINGS
        state = row.state
        retried = retry_failed(session, args.action_id, system_clock())
    if not retried:
        print(f"action {args.action_id}: {state}, not failed; nothing changed", file=sys.stderr)
        return EXIT_WARNINGS
    print(f"action {args.action_id}: queued again (with the actions that waited for it)")
    return 0


def _show_action(args: argparse.Namespace) -> int:
    from connector.admin.observed import show_action
    from connector.store.db import make_engine, session_factory

    if args.action_id is None:
        print("actions show: give the id of an action (ordercare actions lists them)", file=sys.stderr)
        return EXIT_CONFIG
    settings = _load(args.config)
    with session_factory(make_engine(settings.database_url))() as session:
        shown = show_action(session, settings, args.action_id, args.shop)
    if shown is None:
        print(f"action {args.action_id}: no such action", file=sys.stderr)
        return EXIT_WARNINGS
    print(shown)
    return 0


def _actions(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from connector.store.tables import ActionRow

    if args.operation == "retry":
        return _retry(args)
    if args.operation == "show":
        return _show_action(args)

    def row(a: ActionRow) -> dict[str, Any]:
        return {
            "id": a.id,
            "shop": a.shop_id,
            "kind": a.kind,
            "policy": a.policy,
            "key": a.idempotency_key,
            "state": a.state,
            "attempts": a.attempts,
            "last_error": a.last_error,
            "created_at": (a.created_at),
            "done_at": (a.done_at),
        }

    query = select(ActionRow).order_by(ActionRow.id.desc())
    if args.failed:
        query = query.where(ActionRow.state == "failed")
    if args.observed:
        query = query.where(ActionRow.state == "observed")
    columns = ["id", "shop", "kind", "state", "attempts", "key", "last_error"]
    return _view(args, query, ActionRow.shop_id, row, columns)


# --- demo / sandbox ------------------------------------------------------------------------------


def _demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print only a JSON summary on the last line")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="after the week, keep web, scheduler and outbox running until Ctrl-C or SIGTERM",
    )
    parser.add_argument("--hold", type=float, default=0.0, metavar="N", help="as --keep, but for N seconds at most")


def _demo(args: argparse.Namespace) -> int:
    from connector.demo import run_demo

    return run_demo(as_json=args.json, hold_seconds=args.hold, keep=args.keep)


def _sandbox_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8701, help="Shopify sandbox port; WooCommerce uses port+1")


def _sandbox(args: argparse.Namespace) -> int:
    from connector.demo import run_sandboxes

    return run_sandboxes(args.port)


Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

COMMANDS: dict[str, Command] = {
    "demo": ("a scripted week of orders against local sandbox shops", _demo_args, _demo),
    "serve": ("web + scheduler + outbox in one process", _server_args, _serve),
    "web": ("the web process only (webhooks, install flows, admin, fix page)", _server_args, _web),
    "worker": ("the scheduler and outbox only", _worker_args, _worker),
    "check-config": ("validate a configuration file; prints ok or every problem", _check_config_args, _check_config),
    "check-connection": (
        "ask every shop: credentials, scopes or key permissions, webhooks, last delivery",
        _check_connection_args,
        _check_connection,
    ),
    "db": ("database migrations", _db_args, _db),
    "sandbox": ("run the local Shopify and WooCommerce sandbox shops", _sandbox_args, _sandbox),
    "orders": ("list stored orders", _view_args, _orders),
    "incidents": ("list incidents", _view_args, _incidents),
    "actions": ("list outbox actions; 'actions retry ID' queues a failed one again", _actions_args, _actions),
}

# subcommands that live with their feature: name -> (help, module)
EXTERNAL: dict[str, tuple[str, str]] = {
    "preview": ("render a customer message with sample data", "connector.notify.preview"),
    "admin": ("dashboard accounts", "connector.admin.cli"),
    "backfill": ("preview what ordercare would do with a shop's recent orders (observe mode)", "connector.backfill"),
}


def package_version() -> str:
    """The installed package's version (its metadata), or the source tree's when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ordercare")
    except PackageNotFoundError:
        return __version__


class _Version(argparse.Action):
    """``--version``: the version is looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"ordercare {package_version()}")
        parser.exit()


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none or already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".lstrip()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; a feature module's own arguments are loaded only for ``command`` (fast ``--help``)."""
    formatter = _HelpFormatter
    parser = argparse.ArgumentParser(prog="ordercare", description="Keeps a web shop's delivery promise.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        parsed = sub.add_parser(name, help=help_text, description=help_text, formatter_class=formatter)
        add_arguments(parsed)
        parsed.set_defaults(run=run)
    for name, (help_text, module_name) in EXTERNAL.items():
        parsed = sub.add_parser(name, help=help_text, description=help_text, formatter_class=formatter)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(parsed)
            parsed.set_defaults(run=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_command_in(words)).parse_args(words)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    return code


if __name__ == "__main__":
    sys.exit(main())
