"""``frontdesk special-days``: holiday closures and one-off changed hours."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from frontdesk.cli._config import admin, report, window
from frontdesk.cli._support import (
    Column,
    CommandError,
    ForceOption,
    JsonOption,
    RestaurantArg,
    actor,
    emit,
    parse_date,
)

app = typer.Typer(help="Closures (holidays, private events) and changed hours for particular dates.",
                  no_args_is_help=True)
COLUMNS = [Column("id", "Id", "right"), Column("dates", "Dates"), Column("hours", "Hours"),
           Column("reason", "Reason"), Column("created_by", "By")]

Closed = Annotated[bool, typer.Option("--closed", help="Closed all day.")]
Hours = Annotated[str | None, typer.Option("--hours", metavar="OPENS-CLOSES",
                                           help="Open only these hours, e.g. 12:00-15:00 (18:00-01:00 runs past "
                                                "midnight).", show_default=False)]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (the AI may tell callers).", show_default=False)]
Until = Annotated[str | None, typer.Option("--until", metavar="YYYY-MM-DD",
                                           help="Last date of the range (default: the same date).",
                                           show_default=False)]
SpecialDayId = Annotated[int, typer.Argument(metavar="ID", help="The id shown by special-days list.",
                                             show_default=False)]


def row(day: Any) -> dict[str, Any]:
    dates = day.starts_on.isoformat() if day.starts_on == day.ends_on else \
        f"{day.starts_on.isoformat()} to {day.ends_on.isoformat()}"
    hours = "closed" if day.closed else f"{day.opens:%H:%M}-{day.closes:%H:%M}" + (
        " (past midnight)" if day.closes <= day.opens else "")
    return {"id": day.id, "dates": dates, "starts_on": day.starts_on, "ends_on": day.ends_on, "closed": day.closed,
            "opens": day.opens, "closes": day.closes, "hours": hours, "reason": day.reason,
            "created_by": day.created_by}


@app.command("list")
def list_days(ctx: typer.Context, restaurant: RestaurantArg,
              include_past: Annotated[bool, typer.Option("--all", help="Include dates already past.")] = False,
              as_json: JsonOption = False) -> None:
    """List upcoming closures and changed hours."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    emit([row(d) for d in service.special_days(settings.id, include_past=include_past)], columns=COLUMNS,
         as_json=as_json, title=f"{settings.name} — special days", empty="no special days")


@app.command("add")
def add(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    on: Annotated[str, typer.Argument(metavar="DATE", help="The (first) date, YYYY-MM-DD.", show_default=False)],
    until: Until = None,
    closed: Closed = False,
    hours: Hours = None,
    reason: Reason = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Close a date (or a range) with --closed, or change its hours with --hours.

    Refused, listing them, when bookings on those dates would fall outside (unless --force)."""
    if closed == (hours is not None):
        raise CommandError("give exactly one of --closed or --hours 12:00-15:00")
    opening = window(hours, "--hours") if hours is not None else None
    service = admin(ctx)
    settings = service.settings(restaurant)
    change = service.add_special_day(
        settings.id, starts_on=parse_date(on, "DATE"), ends_on=parse_date(until, "--until") if until else None,
        closed=closed, opens=opening.opens if opening else None, closes=opening.closes if opening else None,
        reason=reason or "", actor=actor(ctx), force=force)
    report(change, row(change.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Added special day {change.value.id}.")


@app.command("change")
def change(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    special_day_id: SpecialDayId,
    on: Annotated[str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="New first date.",
                                           show_default=False)] = None,
    until: Until = None,
    closed: Closed = False,
    hours: Hours = None,
    reason: Reason = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Change a special day: only what you give changes (--closed clears the hours; --hours reopens)."""
    if closed and hours is not None:
        raise CommandError("give either --closed or --hours, not both")
    changes: dict[str, Any] = {}
    if on is not None:
        changes["starts_on"] = parse_date(on, "--from")
    if until is not None:
        changes["ends_on"] = parse_date(until, "--until")
    if closed:
        changes["closed"] = True
    if hours is not None:
        opening = window(hours, "--hours")
        changes.update(opens=opening.opens, closes=opening.closes)
    if reason is not None:
        changes["reason"] = reason
    if not changes:
        raise CommandError("nothing to change: give --from, --until, --closed, --hours or --reason")
    service = admin(ctx)
    settings = service.settings(restaurant)
    result = service.change_special_day(settings.id, special_day_id, changes, actor=actor(ctx), force=force)
    report(result, row(result.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Changed special day {special_day_id}.")


@app.command("remove")
def remove(ctx: typer.Context, restaurant: RestaurantArg, special_day_id: SpecialDayId, force: ForceOption = False,
           as_json: JsonOption = False) -> None:
    """Remove a special day: its dates go back to the weekly hours."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    result = service.remove_special_day(settings.id, special_day_id, actor=actor(ctx), force=force)
    report(result, row(result.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Removed special day {special_day_id}; those dates follow the weekly hours again.")
