"""``frontdesk reservations``: the book for a service date, one reservation, and the floor's changes
(cancel, seat, complete, no-show)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from frontdesk.cli._support import (
    Column,
    CommandError,
    JsonOption,
    RestaurantArg,
    actor,
    emit,
    local_time,
    parse_date,
    parse_time,
    parse_uuid,
    say,
    services,
)

app = typer.Typer(help="The book: list a day, show, book, change, cancel, seat, complete, no-show.",
                  no_args_is_help=True)
ReservationIdArg = Annotated[str, typer.Argument(metavar="ID", help="The reservation's id (from `list`).",
                                                 show_default=False)]

COLUMNS = [
    Column("id", "Reservation"),
    Column("local_start", "Time"),
    Column("party_size", "Party", "right"),
    Column("tables", "Table"),
    Column("guest_name", "Guest"),
    Column("guest_phone", "Phone"),
    Column("status", "Status"),
    Column("notes", "Notes"),
]


def as_row(reservation: Any, timezone: str) -> dict[str, Any]:
    """A reservation as people read it: local wall-clock times beside the UTC instants."""
    row = {
        "id": reservation.id, "service_date": reservation.service_date,
        "local_start": local_time(reservation.start, timezone), "local_end": local_time(reservation.end, timezone),
        "start": reservation.start, "end": reservation.end, "party_size": reservation.party_size,
        "guest_name": reservation.guest_name, "guest_phone": reservation.guest_phone,
        "status": reservation.status, "channel": reservation.channel, "notes": reservation.notes,
        "created_at": reservation.created_at, "updated_at": reservation.updated_at,
        "cancelled_at": reservation.cancelled_at, "tables": reservation.tables,
    }
    return row


@app.command("list")
def list_reservations(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    on: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                           help="Service date (default: today at the restaurant).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List every reservation of one service date, in time order."""
    booking = services(ctx).booking
    place = booking.restaurant(restaurant)
    service_date = parse_date(on, "--date") if on else local_time(booking.clock.now(), place.timezone).date()
    rows = [as_row(r, place.timezone) for r in booking.list_for_date(place.id, service_date)]
    emit(rows, columns=COLUMNS, as_json=as_json, title=f"{place.name} — {_day(service_date)}",
         empty="no reservations")


@app.command("show")
def show_reservation(
    ctx: typer.Context,
    reservation_id: Annotated[str, typer.Argument(metavar="ID", help="The reservation's id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one reservation."""
    booking = services(ctx).booking
    reservation = booking.get(parse_uuid(reservation_id, "the reservation id"))
    place = booking.restaurant(reservation.restaurant_id)
    emit(as_row(reservation, place.timezone), as_json=as_json, title=f"Reservation at {place.name}")


DateOption = Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", show_default=False,
                                         help="Service date at the restaurant.")]
TimeOption = Annotated[str, typer.Option("--time", metavar="HH:MM", show_default=False,
                                         help="Local start time, 24-hour.")]
PartyOption = Annotated[int, typer.Option("--party", min=1, max=100, show_default=False, help="Party size.")]


@app.command("book")
def book(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    on: DateOption,
    at: TimeOption,
    party: PartyOption,
    name: Annotated[str, typer.Option("--name", show_default=False, help="The guest's name.")],
    phone: Annotated[str, typer.Option("--phone", metavar="+E164", show_default=False,
                                       help="The guest's phone in E.164, e.g. +12125550123.")],
    notes: Annotated[str, typer.Option("--notes", help="Anything the floor should know.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Book a table as staff (a walk-in or a call the host took): hours, capacity and tables still apply,
    the notice period does not. Live holds of callers on the phone are respected."""
    from frontdesk.core.booking import SlotRequest
    from frontdesk.core.model import Channel, Guest

    booking = services(ctx).booking
    request = SlotRequest(party, local_date=parse_date(on, "--date"), local_time=parse_time(at, "--time"))
    reservation = booking.commit_slot(restaurant, request, Guest(name, phone, notes), channel=Channel.STAFF,
                                      actor=actor(ctx))
    _report(booking, reservation, "Booked", "was already booked", as_json)


@app.command("change")
def change(
    ctx: typer.Context,
    reservation_id: ReservationIdArg,
    on: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD", help="New service date.")] = None,
    at: Annotated[str | None, typer.Option("--time", metavar="HH:MM", help="New local start time.")] = None,
    party: Annotated[int | None, typer.Option("--party", min=1, max=100, help="New party size.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Move a reservation and/or change its party size, atomically: it keeps its place unless the new one
    fits (capacity and tables are re-checked; a table is re-assigned only when it must be)."""
    from frontdesk.core.model import Channel

    if on is None and at is None and party is None:
        raise CommandError("say what to change: --date, --time and/or --party")
    booking = services(ctx).booking
    reservation = booking.modify(
        parse_uuid(reservation_id, "the reservation id"),
        local_date=parse_date(on, "--date") if on else None, local_time=parse_time(at, "--time") if at else None,
        party_size=party, channel=Channel.STAFF, actor=actor(ctx))
    _report(booking, reservation, "Changed", "already looks like that", as_json)


@app.command("cancel")
def cancel_reservation(
    ctx: typer.Context,
    reservation_id: ReservationIdArg,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why, for the audit log.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Cancel a confirmed reservation and free its capacity (cancelling twice is harmless)."""
    if len(reason) > 200 or "\x00" in reason:
        raise CommandError("--reason must be at most 200 characters")
    booking = services(ctx).booking
    reservation = booking.cancel(parse_uuid(reservation_id, "the reservation id"), actor=actor(ctx),
                                 reason=reason)
    _report(booking, reservation, "Cancelled", "was already cancelled", as_json)


def _set_status(ctx: typer.Context, reservation_id: str, status: str, done: str, as_json: bool) -> None:
    booking = services(ctx).booking
    reservation = booking.set_status(parse_uuid(reservation_id, "the reservation id"), status, actor=actor(ctx))
    _report(booking, reservation, done, f"was already {done.lower()}", as_json)


@app.command("seat")
def seat(ctx: typer.Context, reservation_id: ReservationIdArg, as_json: JsonOption = False) -> None:
    """Mark a reservation seated: the guest arrived (counts a visit). Also corrects a no-show."""
    _set_status(ctx, reservation_id, "seated", "Seated", as_json)


@app.command("complete")
def complete(ctx: typer.Context, reservation_id: ReservationIdArg, as_json: JsonOption = False) -> None:
    """Mark a reservation completed: the table is free again (a visit, counted once with seat)."""
    _set_status(ctx, reservation_id, "completed", "Completed", as_json)


@app.command("no-show")
def no_show(ctx: typer.Context, reservation_id: ReservationIdArg, as_json: JsonOption = False) -> None:
    """Mark a confirmed reservation a no-show: frees its capacity and counts on the guest's record."""
    _set_status(ctx, reservation_id, "no_show", "Marked no-show", as_json)


def _report(booking: Any, reservation: Any, done: str, already: str, as_json: bool) -> None:
    place = booking.restaurant(reservation.restaurant_id)
    if as_json:
        emit({**as_row(reservation, place.timezone), "replayed": reservation.replayed}, as_json=True)
        return
    when = local_time(reservation.start, place.timezone).strftime("%a %Y-%m-%d %H:%M")
    what = f"{reservation.guest_name}, party of {reservation.party_size}, {when}"
    if reservation.tables:
        what += f", table {' + '.join(reservation.tables)}"
    say(f"{what} {already} (nothing changed)" if reservation.replayed else f"{done}: {what}")


def _day(value: date) -> str:
    return value.strftime("%A %Y-%m-%d")
