"""`frontdesk reservations cancel | seat | complete | no-show` as staff type them, on real PostgreSQL."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from tests.support.cli import run_cli
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

ANA = Guest("Ana Lima", "+12125550101")


def _book(booking: BookingService, hh: int = 19, guest: Guest = ANA) -> Any:
    return booking.commit_slot("demo-bistro", SlotRequest(4, local_date=next_weekday(3), local_time=time(hh)),
                               guest)


def test_seat_then_complete_updates_the_book_and_the_guest_and_names_who_did_it(
    booking: BookingService, database: TestDatabase
) -> None:
    made = _book(booking)
    seated = run_cli("reservations", "seat", str(made.id), database=database, actor="maria")
    assert seated.code == 0, seated.stderr
    assert seated.stdout.strip().startswith("Seated: Ana Lima, party of 4,") and "19:00" in seated.stdout
    again = run_cli("reservations", "seat", str(made.id), database=database)
    assert "was already seated (nothing changed)" in again.stdout
    done = run_cli("reservations", "complete", str(made.id), "--json", database=database)
    assert done.code == 0 and done.json()["status"] == "completed" and done.json()["replayed"] is False
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(1, 0)]
    assert database.rows("SELECT kind, actor FROM event_log WHERE kind <> 'reservation.confirmed' ORDER BY id") == [
        ("reservation.seated", "cli:maria"), ("reservation.completed", "cli:tester")]


def test_no_show_then_seat_corrects_the_count(booking: BookingService, database: TestDatabase) -> None:
    made = _book(booking)
    result = run_cli("reservations", "no-show", str(made.id), database=database)
    assert (result.code, result.stdout.split(":")[0]) == (0, "Marked no-show")
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(0, 1)]
    assert run_cli("reservations", "seat", str(made.id), database=database).code == 0
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(1, 0)]


def test_cancel_with_a_reason_frees_the_table_and_is_harmless_twice(
    booking: BookingService, database: TestDatabase
) -> None:
    made = _book(booking)
    result = run_cli("reservations", "cancel", str(made.id), "--reason", "called to cancel", database=database)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Cancelled: Ana Lima")
    assert "was already cancelled" in run_cli("reservations", "cancel", str(made.id), database=database).stdout
    assert database.rows("SELECT status FROM reservations") == [("cancelled",)]
    assert database.rows("SELECT actor, payload->>'reason' FROM event_log WHERE kind = 'reservation.cancelled'") == [
        ("cli:tester", "called to cancel")]


def test_the_floor_commands_work_as_the_least_privileged_app_user(
    booking: BookingService, database: TestDatabase
) -> None:
    made = _book(booking)
    assert run_cli("reservations", "seat", str(made.id), database=database, admin=False).code == 0
    assert database.scalar("SELECT status FROM reservations") == "seated"


def test_a_change_the_floor_does_not_allow_is_one_line_and_changes_nothing(
    booking: BookingService, database: TestDatabase
) -> None:
    made = _book(booking)
    booking.cancel(made.id)
    result = run_cli("reservations", "seat", str(made.id), database=database)
    assert (result.code, result.stderr.strip(), result.stdout) == (
        1, "frontdesk: a reservation that is cancelled cannot be marked seated", "")
    completed = _book(booking, 20, Guest("Ben", "+12125550102"))
    booking.set_status(completed.id, "completed")
    refused = run_cli("reservations", "cancel", str(completed.id), database=database)
    assert (refused.code, refused.stderr.strip()) == (1, "frontdesk: a reservation that is completed cannot be "
                                                         "cancelled")
    assert database.rows("SELECT status FROM reservations ORDER BY created_at") == [("cancelled",), ("completed",)]


@pytest.mark.parametrize("command", ["cancel", "seat", "complete", "no-show"])
@pytest.mark.parametrize(("raw", "message"), [
    ("12345", "frontdesk: the reservation id must be a UUID like 0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01, not '12345'"),
    ("'; DROP TABLE reservations; --", "frontdesk: the reservation id must be a UUID like "
                                       "0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01, not \"'; DROP TABLE reservations; --\""),
    ("0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01", "frontdesk: No such reservation."),
])
def test_garbage_ids_get_one_line_that_says_what_to_fix(
    database: TestDatabase, command: str, raw: str, message: str
) -> None:
    result = run_cli("reservations", command, raw, database=database)
    assert (result.code, result.stderr.strip(), result.stdout) == (1, message, "")


@pytest.mark.parametrize("args", [
    ("reservations", "seat"), ("reservations", "no_show", "x"), ("reservations", "seat", "a", "b"),
    ("reservations", "cancel", "x", "--why", "because"), ("reservations", "complete", "--json"),
])
def test_bad_usage_of_the_floor_commands_exits_2(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = run_cli(*args, database=database)
    assert result.code == 2 and "Traceback" not in result.stderr


def test_a_reason_too_long_is_refused_before_anything_changes(booking: BookingService, database: TestDatabase) -> None:
    made = _book(booking)
    result = run_cli("reservations", "cancel", str(made.id), "--reason", "x" * 201, database=database)
    assert (result.code, result.stderr.strip()) == (1, "frontdesk: --reason must be at most 200 characters")
    assert database.scalar("SELECT status FROM reservations") == "confirmed"


def test_every_floor_command_explains_itself() -> None:
    for command in ("cancel", "seat", "complete", "no-show"):
        result = run_cli("reservations", command, "--help")
        assert result.code == 0 and "ID" in result.stdout and "--json" in result.stdout
