"""``frontdesk hours``: the weekly opening hours."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from frontdesk.cli._config import admin, report, weekdays, window
from frontdesk.cli._support import Column, CommandError, ForceOption, JsonOption, RestaurantArg, actor, emit

app = typer.Typer(help="Weekly opening hours (holidays and one-off changes: frontdesk special-days).",
                  no_args_is_help=True)
COLUMNS = [Column("day", "Day"), Column("hours", "Open")]
NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _week(windows: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for number, name in enumerate(NAMES, start=1):
        mine = [w for w in windows if w.weekday == number]
        text = ", ".join(f"{w.opens:%H:%M}-{w.closes:%H:%M}" + (" (past midnight)" if w.closes <= w.opens else "")
                         for w in mine)
        rows.append({"day": name, "weekday": number, "hours": text or "closed",
                     "windows": [{"opens": f"{w.opens:%H:%M}", "closes": f"{w.closes:%H:%M}"} for w in mine]})
    return rows


@app.command("show")
def show(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
    """Show the opening hours of each weekday."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    emit(_week(service.weekly_hours(settings.id)), columns=COLUMNS, as_json=as_json,
         title=f"{settings.name} — weekly hours ({settings.timezone})")


@app.command("set")
def set_hours(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    days: Annotated[str, typer.Argument(metavar="DAYS", help="mon..sun, a range (tue-sat), a list (sat,sun), "
                                                             "daily, weekdays or weekends.", show_default=False)],
    windows: Annotated[list[str] | None, typer.Argument(
        metavar="[OPENS-CLOSES]...", help="One or more windows like 12:00-14:30 17:00-22:00; a window that "
                                          "closes at or before it opens runs past midnight (18:00-01:00).",
        show_default=False)] = None,
    closed: Annotated[bool, typer.Option("--closed", help="Close these days (no windows).")] = False,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Replace the hours of some weekdays; the other days keep theirs.

    Refused, listing them, when bookings ahead would fall outside the new hours (unless --force)."""
    given = list(windows or [])
    if closed and given:
        raise CommandError("give either windows like 17:00-22:00, or --closed, not both")
    if not closed and not given:
        raise CommandError("give the hours, like 17:00-22:00 (several windows are fine), or --closed")
    parsed = [window(w) for w in given]
    service = admin(ctx)
    settings = service.settings(restaurant)
    change = service.set_weekly_hours(settings.id, {d: parsed for d in weekdays(days)}, actor=actor(ctx),
                                      force=force)
    report(change, _week(change.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Hours of {settings.name} updated.", title=f"{settings.name} — weekly hours")
