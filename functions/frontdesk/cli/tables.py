"""``frontdesk tables``: the floor plan — tables and the combinations they can be pushed into.

Optional: a restaurant without tables books by pacing alone. Once it has one active table, every booking
also gets the smallest free table or combination that fits.
"""

from __future__ import annotations

from typing import Annotated

import typer

from frontdesk.cli._support import (
    Column,
    CommandError,
    ForceOption,
    JsonOption,
    RestaurantArg,
    actor,
    database_url,
    emit,
    say,
)
from frontdesk.core.tables import DiningTable, TableAdmin, TableChange, TableCombination

app = typer.Typer(
    help="Tables and combinations: list, add, update, remove, combine, uncombine. "
         "With tables, each booking also gets the smallest free table that fits.",
    no_args_is_help=True,
)

TableName = Annotated[str, typer.Argument(metavar="NAME", help="The table's name, e.g. T12 (no commas).",
                                          show_default=False)]
CombinationName = Annotated[str, typer.Argument(metavar="NAME", help="The combination's name, e.g. T1+T2.",
                                                show_default=False)]
MinOption = Annotated[int | None, typer.Option("--min", metavar="SEATS", show_default=False,
                                               help="Smallest party it takes.")]
MaxOption = Annotated[int | None, typer.Option("--max", metavar="SEATS", show_default=False,
                                               help="Largest party it takes.")]
AreaOption = Annotated[str | None, typer.Option("--area", metavar="AREA", show_default=False,
                                                help="Where it is (patio, bar, main room...).")]
AgentOption = Annotated[bool | None, typer.Option(
    "--agent-bookable/--staff-only", show_default=False,
    help="Whether the phone agent may book it (default for new ones: yes).")]

TABLE_COLUMNS = [Column("name", "Table"), Column("area", "Area"), Column("min_seats", "Min", "right"),
                 Column("max_seats", "Max", "right"), Column("agent_bookable", "Phone agent"),
                 Column("active", "Active")]
COMBINATION_COLUMNS = [Column("name", "Combination"), Column("tables", "Tables"),
                       Column("min_seats", "Min", "right"), Column("max_seats", "Max", "right"),
                       Column("agent_bookable", "Phone agent"), Column("usable", "Usable")]


def _admin(ctx: typer.Context) -> TableAdmin:
    from frontdesk.adapters.tables_pg import PostgresTableStore

    store = PostgresTableStore(database_url(ctx), max_size=1)
    ctx.find_root().call_on_close(store.close)
    return TableAdmin(store)


BOOKING_COLUMNS = [Column("id", "Reservation"), Column("start", "Starts (UTC)"),
                   Column("party_size", "Party", "right"), Column("guest_name", "Guest"),
                   Column("guest_phone", "Phone")]


def _changed(change: TableChange, as_json: bool, done: str) -> None:
    if as_json:
        emit({"item": change.item, "moved": [r.id for r in change.affected],
              "unassigned": [r.id for r in change.unassigned]}, as_json=True)
        return
    say(done)
    moved = {r.id for r in change.affected} - {r.id for r in change.unassigned}
    if moved:
        say(f"{len(moved)} booking(s) moved to another table.")
    if change.unassigned:
        say(f"{len(change.unassigned)} future booking(s) have no table; seat them by hand:")
        emit(list(change.unassigned), columns=BOOKING_COLUMNS)


@app.command("list")
def list_tables(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
    """List the tables and combinations of a restaurant."""
    plan = _admin(ctx).floor_plan(restaurant)
    if as_json:
        emit({"tables": list(plan.tables), "combinations": list(plan.combinations)}, as_json=True)
        return
    emit(list(plan.tables), columns=TABLE_COLUMNS, title="Tables",
         empty="none (bookings are paced by covers only)")
    emit(list(plan.combinations), columns=COMBINATION_COLUMNS, title="Combinations", empty="none")


@app.command("add")
def add_table(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    name: TableName,
    max_seats: Annotated[int, typer.Option("--max", metavar="SEATS", help="Largest party it takes.",
                                           show_default=False)],
    min_seats: Annotated[int, typer.Option("--min", metavar="SEATS", help="Smallest party it takes.")] = 1,
    area: Annotated[str, typer.Option("--area", metavar="AREA", help="Where it is (patio, bar...).")] = "",
    agent_bookable: Annotated[bool, typer.Option("--agent-bookable/--staff-only",
                                                 help="Whether the phone agent may book it.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Add a table.

    For example [bold]frontdesk tables add demo-bistro T1 --min 2 --max 4 --area patio[/bold]."""
    change = _admin(ctx).add_table(restaurant, DiningTable(name, min_seats, max_seats, area, agent_bookable),
                                   actor=actor(ctx))
    item = change.item
    _changed(change, as_json, f"Added table {item.name} ({item.min_seats}–{item.max_seats} seats).")


@app.command("update")
def update_table(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    name: TableName,
    new_name: Annotated[str | None, typer.Option("--name", metavar="NEW", show_default=False,
                                                 help="Rename it.")] = None,
    area: AreaOption = None,
    min_seats: MinOption = None,
    max_seats: MaxOption = None,
    agent_bookable: AgentOption = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", show_default=False,
                                                help="Put it back in service, or take it out.")] = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Change a table; what you leave out stays as it is.

    Shrinking it below a future booking seated at it, or taking it out of service, needs --force."""
    change = _admin(ctx).update_table(
        restaurant, name, new_name=new_name, area=area, min_seats=min_seats, max_seats=max_seats,
        agent_bookable=agent_bookable, active=active, actor=actor(ctx), force=force)
    _changed(change, as_json, f"Updated table {change.item.name}.")


@app.command("remove")
def remove_table(ctx: typer.Context, restaurant: RestaurantArg, name: TableName, force: ForceOption = False,
                 as_json: JsonOption = False) -> None:
    """Take a table out of service; future bookings seated at it need --force.

    The table is kept for the record; [bold]update RESTAURANT NAME --active[/bold] brings it back."""
    change = _admin(ctx).remove_table(restaurant, name, actor=actor(ctx), force=force)
    _changed(change, as_json, f"Removed table {change.item.name}.")


@app.command("combine")
def combine(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    name: CombinationName,
    tables: Annotated[str, typer.Option("--tables", metavar="T1,T2", show_default=False,
                                        help="Two or more active tables, comma-separated.")],
    min_seats: MinOption = None,
    max_seats: MaxOption = None,
    agent_bookable: Annotated[bool, typer.Option("--agent-bookable/--staff-only",
                                                 help="Whether the phone agent may book it.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Let two or more tables be pushed together for bigger parties.

    For example [bold]frontdesk tables combine demo-bistro T1+T2 --tables T1,T2 --min 5 --max 8[/bold].
    Seats default to 1 up to the tables' seats added up."""
    members = [t.strip() for t in tables.split(",")]
    if any(not t for t in members):
        raise CommandError(f"--tables takes names separated by commas, like T1,T2 (got {tables!r})")
    change = _admin(ctx).combine(restaurant, name, members, actor=actor(ctx), min_seats=min_seats,
                                 max_seats=max_seats, agent_bookable=agent_bookable)
    item = change.item
    assert isinstance(item, TableCombination)
    _changed(change, as_json, f"Combined {', '.join(item.tables)} as {item.name} "
                              f"({item.min_seats}–{item.max_seats} seats).")


@app.command("uncombine")
def uncombine(ctx: typer.Context, restaurant: RestaurantArg, name: CombinationName, force: ForceOption = False,
              as_json: JsonOption = False) -> None:
    """Remove a combination (its tables stay); future bookings seated through it need --force."""
    change = _admin(ctx).uncombine(restaurant, name, actor=actor(ctx), force=force)
    _changed(change, as_json, f"Removed combination {change.item.name}.")

