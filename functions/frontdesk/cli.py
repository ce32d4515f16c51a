"""The `frontdesk` command. Entry points stay thin: parse, call one function, print, map errors to exit codes.

Exit codes: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence


def _database_url(args: argparse.Namespace) -> str:
    url = args.database_url or os.environ.get("DATABASE_URL")
    if not url:
        raise CommandError("no database: pass --database-url or set DATABASE_URL")
    return str(url)


class CommandError(Exception):
    """A failure the user can fix; printed without a traceback."""


def _db_migrate(args: argparse.Namespace) -> int:
    from frontdesk.db.migrate import migrate

    applied = migrate(_database_url(args))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


def _db_seed(args: argparse.Namespace) -> int:
    from frontdesk.db.migrate import seed

    for name in seed(_database_url(args)):
        print(f"seeded {name}")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    from frontdesk.db.migrate import status

    for name, applied in status(_database_url(args)):
        print(f"{'applied' if applied else 'pending'}  {name}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from frontdesk.api.app import serve

    serve(host=args.host, port=args.port)
    return 0


def _bridge(args: argparse.Namespace) -> int:
    from frontdesk_bridge.server import main as bridge_main

    bridge_main()
    return 0


def _dev(args: argparse.Namespace) -> int:
    from frontdesk.devenv import run_dev

    return run_dev(api_port=args.port, with_bridge=not args.no_bridge)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdesk", description="Front Desk: the AI host for restaurant phones.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema and seed data")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("migrate", _db_migrate, "apply pending migrations from sql/migrations (safe to run concurrently)"),
        ("seed", _db_seed, "apply the idempotent seeds in sql/seed (Demo Bistro)"),
        ("status", _db_status, "list migrations and whether each is applied"),
    ):
        sub = db_commands.add_parser(name, help=text, description=text)
        sub.add_argument("--database-url", help="PostgreSQL URL (default: $DATABASE_URL)")
        sub.set_defaults(func=func)

    serve = commands.add_parser("serve", help="serve the booking and Twilio API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)

    bridge = commands.add_parser("bridge", help="serve the realtime voice bridge (BRIDGE_PORT, default 8080)")
    bridge.set_defaults(func=_bridge)

    dev = commands.add_parser("dev", help="local stack: PostgreSQL, Redis, migrations, Demo Bistro, API, bridge")
    dev.add_argument("--port", type=int, default=8000, help="API port")
    dev.add_argument("--no-bridge", action="store_true", help="do not start the voice bridge")
    dev.set_defaults(func=_dev)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from frontdesk.db.migrate import MigrationError

    try:
        return int(args.func(args))
    except (CommandError, MigrationError) as exc:
        print(f"frontdesk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # pydantic's ValidationError is one: invalid settings from the environment
        print(f"frontdesk: invalid settings: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a driver or network failure: say what, not where
        import psycopg

        if isinstance(exc, psycopg.OperationalError):
            print(f"frontdesk: cannot reach the database: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
            return 1
        if isinstance(exc, psycopg.Error):
            print(f"frontdesk: database error: {exc.diag.message_primary or exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
