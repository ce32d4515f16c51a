"""What the configuration groups (restaurants, hours, special-days, capacity, turn-times) share: the use cases,
parsing of the small notations people type (``mon-fri``, ``17:00-22:00``, ``1-2=90``) and how a change that
stranded bookings is reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from frontdesk.cli._support import Column, CommandError, console, emit, local_time, say, services

if TYPE_CHECKING:
    from frontdesk.core.restaurant_admin import Change, RestaurantAdmin, Window

DAY_GROUPS = {"daily": (1, 2, 3, 4, 5, 6, 7), "every-day": (1, 2, 3, 4, 5, 6, 7), "weekdays": (1, 2, 3, 4, 5),
              "weekends": (6, 7)}
AFFECTED_COLUMNS = [Column("local_start", "Starts (local)"), Column("party_size", "Party", "right"),
                    Column("guest_name", "Guest"), Column("guest_phone", "Phone"), Column("status", "Status"),
                    Column("id", "Reservation")]


def admin(ctx: typer.Context) -> RestaurantAdmin:
    return services(ctx).restaurant_admin


def weekdays(spec: str) -> list[int]:
    """``mon``, ``mon,wed``, ``mon-fri``, ``fri-sun``, ``sat-mon`` (wraps), ``daily``, ``weekdays``, ``weekends``."""
    from frontdesk.core.errors import InvalidRequest
    from frontdesk.core.restaurant_admin import weekday_number

    text = spec.strip().lower()
    if text in DAY_GROUPS:
        return list(DAY_GROUPS[text])
    days: list[int] = []
    try:
        for part in filter(None, text.split(",")):
            if "-" in part:
                first, last = (weekday_number(p) for p in part.split("-", 1))
                span = (last - first) % 7
                days += [(first - 1 + i) % 7 + 1 for i in range(span + 1)]
            else:
                days.append(weekday_number(part))
    except InvalidRequest:
        days = []
    if not days:
        raise CommandError(f"{spec!r} is not a day: use mon..sun, a range like mon-fri, a list like sat,sun, "
                           "or daily / weekdays / weekends")
    return sorted(set(days))


def window(text: str, what: str = "window") -> Window:
    from frontdesk.core.errors import InvalidRequest
    from frontdesk.core.restaurant_admin import parse_window

    try:
        return parse_window(text)
    except InvalidRequest:
        raise CommandError(f"{what} must look like 17:00-22:00 (18:00-01:00 runs past midnight), "
                           f"not {text!r}") from None


def affected_rows(affected: Sequence[Any], timezone: str) -> list[dict[str, Any]]:
    return [{"id": r.id, "service_date": r.service_date, "local_start": local_time(r.start, timezone),
             "start": r.start, "end": r.end, "party_size": r.party_size, "guest_name": r.guest_name,
             "guest_phone": r.guest_phone, "status": r.status} for r in affected]


def report(change: Change[Any], value: Any, timezone: str, *, as_json: bool, message: str,
           columns: Sequence[Column] | None = None, title: str | None = None) -> None:
    """The result of a change; with --force, the bookings it stranded and what to do about them."""
    rows = affected_rows(change.affected, timezone)
    if as_json:
        emit({"result": value, "affected": rows}, as_json=True)
        return
    say(message)
    if value is not None:
        emit(value, columns=columns, title=title)
    if rows:
        console().print(f"Applied with --force: {len(rows)} booking(s) are now outside the hours or over capacity. "
                        "Call these guests, or move or cancel the bookings:")
        emit(rows, columns=AFFECTED_COLUMNS)


def optional_int(value: int | None, what: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise CommandError(f"{what} must be from {low} to {high}, not {value}")
    return value
