"""``frontdesk guests``: what the restaurant knows about the people who book — look up, list, note."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from frontdesk.cli._support import Column, JsonOption, RestaurantArg, actor, emit, services

app = typer.Typer(help="Guest memory: visits and no-shows by phone number, and the staff's notes.",
                  no_args_is_help=True)

PhoneArg = Annotated[str, typer.Argument(metavar="PHONE", show_default=False,
                                         help="The guest's number in E.164 form, e.g. +12125550123.")]
COLUMNS = [
    Column("phone", "Phone"),
    Column("name", "Name"),
    Column("visit_count", "Visits", "right"),
    Column("no_show_count", "No-shows", "right"),
    Column("last_visit_on", "Last visit"),
    Column("allergies", "Allergies"),
    Column("notes", "Notes"),
]
RECORD = [*COLUMNS, Column("created_at", "Known since"), Column("updated_at", "Updated")]


@app.command("show")
def show_guest(ctx: typer.Context, restaurant: RestaurantArg, phone: PhoneArg, as_json: JsonOption = False) -> None:
    """Show one guest: name, visits, no-shows, allergies and notes."""
    guest = services(ctx).guests.lookup(restaurant, phone)
    emit(guest, columns=None if as_json else RECORD, as_json=as_json, title=_title(guest))


@app.command("list")
def list_guests(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    search: Annotated[str | None, typer.Option("--search", metavar="TEXT",
                                               help="Part of a name (any case) or of a phone number.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="At most this many (1-500).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List guests, most recent visitors first; --search narrows by name or number."""
    svc = services(ctx)
    found = svc.guests.list(restaurant, search, limit)
    place = svc.booking.restaurant(restaurant)
    title = f"{place.name} — guests" + (f" matching {search!r}" if search else "")
    emit(found, columns=COLUMNS, as_json=as_json, title=title, empty="no guests")


@app.command("note")
def note_guest(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    phone: PhoneArg,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME", help="The name to greet them by.")] = None,
    notes: Annotated[str | None, typer.Option("--notes", metavar="TEXT",
                                              help="Replaces the notes ('' clears them).")] = None,
    allergies: Annotated[str | None, typer.Option("--allergies", metavar="TEXT",
                                                  help="Replaces the allergies ('' clears them).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a guest's name, notes or allergies (logged with who you are; an unknown number is added)."""
    from frontdesk.core.guests import GuestChanges

    guest = services(ctx).guests.update(restaurant, phone, GuestChanges(name=name, notes=notes, allergies=allergies),
                                        actor=actor(ctx))
    emit(guest, columns=None if as_json else RECORD, as_json=as_json, title=_title(guest))


def _title(guest: Any) -> str:
    return f"Guest {guest.name or '(no name yet)'}"
