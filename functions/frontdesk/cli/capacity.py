"""``frontdesk capacity``: how many guests and parties the room takes, per 15 minutes."""

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

app = typer.Typer(help="Capacity rules: guests and parties at once, and arrivals per 15 minutes. The most "
                       "specific rule wins (a date beats a weekday beats every day; a time window beats all day).",
                  no_args_is_help=True)
COLUMNS = [Column("id", "Id", "right"), Column("applies", "Applies"),
           Column("max_covers_present", "Guests at once", "right"),
           Column("max_parties_present", "Parties at once", "right"),
           Column("max_covers_starting", "Arrivals / 15 min", "right")]

Covers = Annotated[int | None, typer.Option("--covers", help="Guests seated at once.", show_default=False)]
Parties = Annotated[int | None, typer.Option("--parties", help="Parties seated at once (default on add: no limit "
                                                               "beyond --covers).", show_default=False)]
Starting = Annotated[int | None, typer.Option("--starting", help="Guests arriving per 15 minutes (default on add: "
                                                                 "no limit beyond --covers).", show_default=False)]
OnDate = Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="Only this date.",
                                            show_default=False)]
Weekday = Annotated[str | None, typer.Option("--weekday", metavar="DAY", help="Only this weekday (mon..sun).",
                                             show_default=False)]
Between = Annotated[str | None, typer.Option("--between", metavar="FROM-UNTIL",
                                             help="Only between these local times, e.g. 18:00-20:00.",
                                             show_default=False)]
RuleId = Annotated[int, typer.Argument(metavar="ID", help="The id shown by capacity list.", show_default=False)]


def row(rule: Any) -> dict[str, Any]:
    from frontdesk.core.restaurant_admin import describe_rule_scope

    return {"id": rule.id, "applies": describe_rule_scope(rule), "on_date": rule.on_date, "weekday": rule.weekday,
            "local_from": rule.local_from, "local_until": rule.local_until,
            "max_covers_present": rule.max_covers_present, "max_parties_present": rule.max_parties_present,
            "max_covers_starting": rule.max_covers_starting}


def _weekday(value: str) -> int:
    from frontdesk.core.restaurant_admin import weekday_number

    return weekday_number(value)


@app.command("list")
def list_rules(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
    """List the capacity rules."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    emit([row(r) for r in service.capacity_rules(settings.id)], columns=COLUMNS, as_json=as_json,
         title=f"{settings.name} — capacity", empty="no capacity rules: nothing can be booked. Add one with "
         f"frontdesk capacity add {settings.slug} --covers 40")


@app.command("add")
def add(ctx: typer.Context, restaurant: RestaurantArg, covers: Covers = None, parties: Parties = None,
        starting: Starting = None, on_date: OnDate = None, weekday: Weekday = None, between: Between = None,
        force: ForceOption = False, as_json: JsonOption = False) -> None:
    """Add a rule: every day (no --date/--weekday), a weekday, or a date; all day or --between.

    Refused, listing them, when a 15-minute period ahead already holds more than the new caps allow."""
    from frontdesk.core.restaurant_admin import CapacityRule

    if covers is None:
        raise CommandError("give --covers (guests seated at once)")
    if on_date is not None and weekday is not None:
        raise CommandError("give --date or --weekday, not both")
    span = window(between, "--between") if between else None
    rule = CapacityRule(None, parse_date(on_date, "--date") if on_date else None,
                        _weekday(weekday) if weekday else None, span.opens if span else None,
                        span.closes if span else None, covers, covers if parties is None else parties,
                        covers if starting is None else starting)
    service = admin(ctx)
    settings = service.settings(restaurant)
    change = service.add_capacity_rule(settings.id, rule, actor=actor(ctx), force=force)
    report(change, row(change.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Added capacity rule {change.value.id}.")


@app.command("change")
def change(
    ctx: typer.Context, restaurant: RestaurantArg, rule_id: RuleId, covers: Covers = None, parties: Parties = None,
    starting: Starting = None, on_date: OnDate = None, weekday: Weekday = None,
    every_day: Annotated[bool, typer.Option("--every-day", help="Apply on every date (clears --date/--weekday).")]
    = False,
    between: Between = None,
    all_day: Annotated[bool, typer.Option("--all-day", help="Apply all day (clears --between).")] = False,
    force: ForceOption = False, as_json: JsonOption = False,
) -> None:
    """Change a rule: only what you give changes."""
    if sum(x is not None and x is not False for x in (on_date, weekday, every_day or None)) > 1:
        raise CommandError("give one of --date, --weekday or --every-day")
    if between is not None and all_day:
        raise CommandError("give either --between or --all-day, not both")
    changes: dict[str, Any] = {}
    for key, value in (("max_covers_present", covers), ("max_parties_present", parties),
                       ("max_covers_starting", starting)):
        if value is not None:
            changes[key] = value
    if on_date is not None:
        changes.update(on_date=parse_date(on_date, "--date"), weekday=None)
    if weekday is not None:
        changes.update(weekday=_weekday(weekday), on_date=None)
    if every_day:
        changes.update(on_date=None, weekday=None)
    if between is not None:
        span = window(between, "--between")
        changes.update(local_from=span.opens, local_until=span.closes)
    if all_day:
        changes.update(local_from=None, local_until=None)
    if not changes:
        raise CommandError("nothing to change: give --covers, --parties, --starting, or the rule's scope")
    service = admin(ctx)
    settings = service.settings(restaurant)
    result = service.change_capacity_rule(settings.id, rule_id, changes, actor=actor(ctx), force=force)
    report(result, row(result.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Changed capacity rule {rule_id}.")


@app.command("remove")
def remove(ctx: typer.Context, restaurant: RestaurantArg, rule_id: RuleId, force: ForceOption = False,
           as_json: JsonOption = False) -> None:
    """Remove a rule: its periods fall to the next most specific rule (or to none: no capacity)."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    result = service.remove_capacity_rule(settings.id, rule_id, actor=actor(ctx), force=force)
    report(result, row(result.value), settings.timezone, as_json=as_json, columns=COLUMNS,
           message=f"Removed capacity rule {rule_id}.")
