"""The ``frontdesk`` command: run the product, and run a restaurant without writing SQL.

Entry points stay thin: parse, call one use case, print, map errors to exit codes.
Exit codes: 0 ok, 1 the operation failed (one line on stderr saying what to fix), 2 bad usage, 130 Ctrl-C.
Each group lives in its own module (see ``_support`` for how to write one).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from frontdesk.cli import (
    capacity,
    db,
    guests,
    hours,
    reservations,
    restaurants,
    servers,
    sms,
    special_days,
    tables,
    turn_times,
)
from frontdesk.cli._support import CliState, Column, CommandError, console, emit

app = typer.Typer(
    name="frontdesk",
    help="Front Desk: the AI host for restaurant phones. Run it, and run your restaurant from here.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[str | None, typer.Option(
        "--database-url", envvar="DATABASE_URL", metavar="URL", show_default=False,
        help="PostgreSQL URL (default: $DATABASE_URL).")] = None,
    acting_as: Annotated[str | None, typer.Option(
        "--as", envvar="FRONTDESK_ACTOR", metavar="NAME", show_default=False,
        help="Who is making changes, for the audit log (default: your login).")] = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log more.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    if not verbose:  # the pool's reconnect chatter; the one-line error says what failed
        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    ctx.obj = CliState(database_url=database_url, acting_as=acting_as)
    ctx.call_on_close(ctx.obj.close)  # runs however the command ends


# -- running the product --
app.add_typer(db.app, name="db")
app.command()(servers.serve)
app.command()(servers.bridge)
app.command()(servers.dev)
# -- running a restaurant, in the order an owner sets one up (README: "Run your restaurant") --
app.add_typer(restaurants.app, name="restaurants")
app.add_typer(hours.app, name="hours")
app.add_typer(special_days.app, name="special-days")
app.add_typer(capacity.app, name="capacity")
app.add_typer(turn_times.app, name="turn-times")
app.add_typer(tables.app, name="tables")
app.add_typer(reservations.app, name="reservations")
app.add_typer(guests.app, name="guests")
app.add_typer(sms.app, name="sms")


def _print_error(message: str) -> None:
    print(f"frontdesk: {message}", file=sys.stderr)


def _explain_stranded(exc: Any) -> None:
    _print_error(exc.detail)
    affected = list(getattr(exc, "affected", ()) or ())
    timezone = getattr(exc, "timezone", None)
    forceable = getattr(exc, "forceable", True)
    if affected and timezone:  # the configuration use cases say the restaurant's timezone: show local times
        from frontdesk.cli._config import AFFECTED_COLUMNS, affected_rows

        console(stderr=True).print("These bookings would be left outside the hours or over capacity:"
                                   if forceable else "These bookings lie ahead:")
        emit(affected_rows(affected, timezone), columns=AFFECTED_COLUMNS, stderr=True)
    elif affected:
        console(stderr=True).print("These bookings would be left outside the hours or over capacity:")
        emit(affected, columns=[Column("id", "Reservation"), Column("start", "Starts (UTC)"),
                                Column("party_size", "Party", "right"), Column("guest_name", "Guest"),
                                Column("guest_phone", "Phone"), Column("status", "Status")], stderr=True)
    if forceable:
        print("Repeat the command with --force to apply it anyway, and let those guests know.", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (what ``frontdesk`` and the tests use)."""
    from frontdesk.core.errors import DatabaseUnavailable, FrontDeskError, WouldStrandBookings
    from frontdesk.db.migrate import MigrationError

    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Typer shows usage errors and --help itself and exits (2 and 0); our errors come through as raised.
        command.main(args=args, prog_name="frontdesk", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        return 130
    except WouldStrandBookings as exc:
        _explain_stranded(exc)
        return 1
    except (CommandError, MigrationError) as exc:
        _print_error(str(exc))
        return 1
    except DatabaseUnavailable:
        _print_error("cannot reach the database: check --database-url / DATABASE_URL (-v says more)")
        return 1
    except FrontDeskError as exc:
        _print_error(exc.detail)
        return 1
    except Exception as exc:  # settings, driver or network failures: say what, not where
        return _report_unexpected(exc)
    return 0


def _report_unexpected(exc: Exception) -> int:
    import psycopg
    import pydantic

    if isinstance(exc, pydantic.ValidationError) or (isinstance(exc, ValueError) and "STAGE" in str(exc)):
        _print_error(f"invalid settings: {exc}")
        return 1
    if isinstance(exc, psycopg.OperationalError):
        _print_error(f"cannot reach the database: {str(exc).strip().splitlines()[0]}")
        return 1
    if isinstance(exc, psycopg.Error):
        _print_error(f"database error: {exc.diag.message_primary or exc}")
        return 1
    logging.getLogger("frontdesk.cli").info("unexpected failure", exc_info=exc)
    _print_error(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)")
    return 1


__all__ = ["app", "main"]
