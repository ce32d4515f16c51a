"""``frontdesk reservations``: the book for a service date, and one reservation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from frontdesk.cli._support import (
    Column,
    JsonOption,
    RestaurantArg,
    emit,
    local_time,
    parse_date,
    parse_uuid,
    services,
)

app = typer.Typer(help="The book: list a service date, show a reservation.", no_args_is_help=True)

COLUMNS = [
    Column("id", "Reservation"),
    Column("local_start", "Time"),
    Column("party_size", "Party", "right"),
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
        "cancelled_at": reservation.cancelled_at,
    }
    for extra in ("tables",):  # fields later parts add to Reservation
        if hasattr(reservation, extra):
            row[extra] = getattr(reservation, extra)
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


def _day(value: date) -> str:
    return value.strftime("%A %Y-%m-%d")
