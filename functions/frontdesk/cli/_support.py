"""What every ``frontdesk`` command shares: the database, who is acting, output and errors.

A command group is one module with a ``typer.Typer`` named ``app``, registered by one line in
``frontdesk/cli/__init__.py``. ``reservations.py`` is the example to copy::

    app = typer.Typer(help="...", no_args_is_help=True)

    @app.command("list")
    def list_reservations(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
        \"\"\"One line for the command list. More text for --help.\"\"\"
        svc = services(ctx)                    # frontdesk.wiring.Services over --database-url / DATABASE_URL
        emit(rows, columns=[Column("start", "Time"), ...], as_json=as_json, title="...")

- Output: ``emit`` prints a Rich table (lists) or a key/value table (one record) for people, and JSON with
  ``--json`` for scripts. Records may be dicts or dataclasses; dates, UUIDs and enums are handled.
- Errors: raise ``CommandError("what to fix")``. Domain errors (``FrontDeskError``) need no handling:
  ``main`` prints them in one line and exits 1; ``WouldStrandBookings`` also prints the affected
  reservations and how to force. Bad usage exits 2.
- Who: ``actor(ctx)`` is what lands in ``event_log`` (``--as NAME`` / ``FRONTDESK_ACTOR``, else ``cli:<user>``).
- Tests: ``tests.support.cli.run_cli("reservations", "list", "demo-bistro", database=db)`` runs ``main``
  in-process and returns the exit code, stdout and stderr.
"""

from __future__ import annotations

import dataclasses
import enum
import getpass
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from frontdesk.wiring import Services


class CommandError(Exception):
    """A failure the user can fix; printed as one line without a traceback (exit 1)."""


# -- shared arguments and options ----------------------------------------------------------------------

RestaurantArg = Annotated[str, typer.Argument(help="The restaurant's slug (e.g. demo-bistro) or id.",
                                              show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Apply the change even if it strands bookings "
                                                           "(they are still listed).")]
DatabaseUrlOption = Annotated[str | None, typer.Option("--database-url", metavar="URL", show_default=False,
                                                       help="PostgreSQL URL (default: $DATABASE_URL).")]


def parse_date(raw: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{what} must look like 2026-12-24, not {raw!r}") from None


def parse_time(raw: str, what: str = "time") -> time:
    try:
        parsed = time.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is not None or parsed.second or parsed.microsecond:
        raise CommandError(f"{what} must be a 24-hour HH:MM like 19:30, not {raw!r}")
    return parsed


def parse_uuid(raw: str, what: str = "id") -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise CommandError(f"{what} must be a UUID like 0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01, not {raw!r}") from None


# -- the invocation's state -------------------------------------------------------------------------------

@dataclass
class CliState:
    """Set by the root callback; commands reach it through ``services(ctx)`` and ``actor(ctx)``."""

    database_url: str | None = None
    acting_as: str | None = None
    _services: Services | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def database_url(ctx: typer.Context, override: str | None = None) -> str:
    url = override or state(ctx).database_url
    if not url:
        raise CommandError("no database: pass --database-url or set DATABASE_URL")
    return url


def services(ctx: typer.Context, database_url_override: str | None = None) -> Services:
    """The same use cases the API runs, over this command's database. Connects on first use."""
    current = state(ctx)
    if current._services is None:
        from frontdesk.config import Settings
        from frontdesk.wiring import Services

        url = database_url(ctx, database_url_override)
        current._services = Services(Settings(database_url=url, database_pool_max=2))
    return current._services


def actor(ctx: typer.Context) -> str:
    """Who made a change, for ``event_log``."""
    given = state(ctx).acting_as
    if given:
        return given if given.startswith("cli:") else f"cli:{given}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


# -- output --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    key: str
    header: str
    justify: str = "left"


def console(stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (tests redirect them). Not a terminal: wide, no colour."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(file=stream, highlight=False)
    return Console(file=stream, highlight=False, width=200, no_color=True, soft_wrap=True)


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


def display(value: Any) -> str:
    """How one value reads in a table."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(display(v) for v in value) or "-"
    return str(value)


def _record(item: Any) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    if isinstance(item, Mapping):
        return item
    raise TypeError(f"cannot show {type(item).__name__} as a record")


def emit(
    data: Any,
    *,
    columns: Sequence[Column] | None = None,
    as_json: bool = False,
    title: str | None = None,
    empty: str = "nothing to show",
    stderr: bool = False,
) -> None:
    """Print ``data`` (a list of records, or one record) as JSON or as a table."""
    if as_json:
        print(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False), file=sys.stderr if stderr else sys.stdout)
        return
    from rich.table import Table

    out = console(stderr)
    if isinstance(data, (list, tuple)):
        if not data:
            out.print(f"{title}: {empty}" if title else empty)
            return
        records = [_record(item) for item in data]
        cols = list(columns) if columns else [Column(k, k.replace("_", " ")) for k in records[0]]
        table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
        for col in cols:
            table.add_column(col.header, justify=col.justify)  # type: ignore[arg-type]
        for record in records:
            table.add_row(*(display(record.get(col.key)) for col in cols))
        out.print(table)
        return
    record = _record(data)
    keys: Iterable[Column] = columns or [Column(k, k.replace("_", " ")) for k in record]
    table = Table(title=title, title_justify="left", show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for col in keys:
        table.add_row(col.header, display(record.get(col.key)))
    out.print(table)


def say(message: str) -> None:
    """A short confirmation for people (not printed with --json: commands emit data there instead)."""
    console().print(message)


def local_time(instant: datetime, timezone: str) -> datetime:
    """An instant on the restaurant's wall clock (tables show local times; JSON keeps UTC instants)."""
    return instant.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
