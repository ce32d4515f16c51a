"""``frontdesk turn-times``: how long a table is kept for each party size."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from frontdesk.cli._config import admin
from frontdesk.cli._support import Column, CommandError, JsonOption, RestaurantArg, actor, emit, say

app = typer.Typer(help="Turn times: minutes a table is kept, by party size.", no_args_is_help=True)
COLUMNS = [Column("party", "Party size"), Column("minutes", "Minutes", "right")]
RANGE = re.compile(r"^\s*(\d{1,3})(?:\s*-\s*(\d{1,3}))?\s*=\s*(\d{1,4})\s*$")


def _rows(turn_times: list[Any], default: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"party": str(t.min_party) if t.min_party == t.max_party else f"{t.min_party}-{t.max_party}",
         "min_party": t.min_party, "max_party": t.max_party, "minutes": t.minutes} for t in turn_times]
    rows.append({"party": "any other", "min_party": None, "max_party": None, "minutes": default})
    return rows


def _parse(spec: str) -> Any:
    from frontdesk.core.restaurant_admin import TurnTime

    match = RANGE.match(spec)
    if not match:
        raise CommandError(f"{spec!r} is not a turn time: write PARTY=MINUTES or FROM-TO=MINUTES, like 1-2=90")
    low, high, minutes = match.groups()
    return TurnTime(int(low), int(high or low), int(minutes))


@app.command("show")
def show(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
    """Show the turn times."""
    service = admin(ctx)
    settings = service.settings(restaurant)
    emit(_rows(service.turn_times(settings.id), settings.default_turn_minutes), columns=COLUMNS, as_json=as_json,
         title=f"{settings.name} — turn times")


@app.command("set")
def set_turn_times(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    ranges: Annotated[list[str] | None, typer.Argument(
        metavar="FROM-TO=MINUTES...", help="e.g. 1-2=90 3-4=120 5-8=150; replaces every turn time.",
        show_default=False)] = None,
    default: Annotated[int | None, typer.Option(
        "--default", help="Minutes for party sizes no range covers.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the turn times. Bookings already made keep the length they were booked with."""
    if not ranges and default is None:
        raise CommandError("give turn times like 1-2=90 3-4=120, and/or --default MINUTES")
    parsed = [_parse(r) for r in ranges or []]
    service = admin(ctx)
    settings = service.settings(restaurant)
    if default is not None:
        from frontdesk.core.restaurant_admin import validate_settings, validate_turn_times

        validate_turn_times(parsed)  # both checked before either is written
        validate_settings({"default_turn_minutes": default})
    turn_times = service.turn_times(settings.id)
    if ranges:
        turn_times = service.set_turn_times(settings.id, parsed, actor=actor(ctx))
    if default is not None:
        settings = service.update_restaurant(settings.id, {"default_turn_minutes": default}, actor=actor(ctx))
    if not as_json:
        say(f"Turn times of {settings.name} updated; bookings already made keep their length.")
    emit(_rows(turn_times, settings.default_turn_minutes), columns=COLUMNS, as_json=as_json)
