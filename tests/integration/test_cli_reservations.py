"""`frontdesk reservations cancel | seat | complete | no-show` as staff type them, on real PostgreSQL."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from tests.support.cli import run_cli
from tests.support.databases import TestDatabase, start_in_the_past
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
    start_in_the_past(database, made.id)
    done = run_cli("reservations", "complete", str(made.id), "--json", database=database)
    assert done.code == 0 and done.json()["status"] == "completed" and done.json()["replayed"] is False
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(1, 0)]
    assert database.rows("SELECT kind, actor FROM event_log WHERE kind <> 'reservation.confirmed' ORDER BY id") == [
        ("reservation.seated", "cli:maria"), ("reservation.completed", "cli:tester")]


def test_no_show_then_seat_corrects_the_count(booking: BookingService, database: TestDatabase) -> None:
    made = _book(booking)
    start_in_the_past(database, made.id)
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
    start_in_the_past(database, completed.id)
    booking.set_status(completed.id, "completed")
    refused = run_cli("reservations", "cancel", str(completed.id), database=database)
    assert (refused.code, refused.stderr.strip()) == (1, "frontdesk: a reservation that is completed cannot be "
                                                         "cancelled")
    assert database.rows("SELECT status FROM reservations ORDER BY created_at") == [("cancelled",), ("completed",)]


@pytest.mark.parametrize(("command", "words"), [("no-show", "no-show"), ("complete", "completed")])
def test_a_no_show_or_complete_before_the_start_is_one_line_and_changes_nothing(
    booking: BookingService, database: TestDatabase, command: str, words: str
) -> None:
    made = _book(booking)
    result = run_cli("reservations", command, str(made.id), database=database)
    assert (result.code, result.stderr.strip(), result.stdout) == (
        1, f"frontdesk: a reservation cannot be marked {words} before it starts on {next_weekday(3)} at 19:00", "")
    assert database.rows("SELECT status FROM reservations") == [("confirmed",)]
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(0, 0)]


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


# -- book and change: staff taking a booking themselves ---------------------------------------------------

def test_staff_book_from_the_command_line_and_see_the_table_it_got(database: TestDatabase) -> None:
    day = next_weekday(3).isoformat()
    run_cli("tables", "add", "demo-bistro", "T1", "--max", "4", database=database)
    result = run_cli("reservations", "book", "demo-bistro", "--date", day, "--time", "19:30", "--party", "3",
                     "--name", "Ana Lima", "--phone", "+12125550101", "--notes", "birthday", database=database,
                     actor="maria")
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == (f"Booked: Ana Lima, party of 3, {next_weekday(3):%a} {day} 19:30, table T1")
    assert database.rows("SELECT channel, notes, party_size FROM reservations") == [("staff", "birthday", 3)]
    assert database.rows("SELECT actor FROM event_log WHERE kind = 'reservation.confirmed'") == [("cli:maria",)]
    listed = run_cli("reservations", "list", "demo-bistro", "--date", day, "--json", database=database).json()
    assert [(r["guest_name"], r["tables"]) for r in listed] == [("Ana Lima", ["T1"])]


def test_a_staff_booking_that_cannot_fit_says_why_and_writes_nothing(database: TestDatabase) -> None:
    day = next_weekday(3).isoformat()
    run_cli("tables", "add", "demo-bistro", "T1", "--max", "4", database=database)
    first = ("reservations", "book", "demo-bistro", "--date", day, "--time", "19:00", "--party", "4")
    assert run_cli(*first, "--name", "Ana", "--phone", "+12125550101", database=database).code == 0
    result = run_cli(*first, "--name", "Ben", "--phone", "+12125550102", database=database)
    assert (result.code, result.stderr.strip()) == (1, "frontdesk: no table for 4 at 19:00")
    assert database.scalar("SELECT count(*) FROM reservations") == 1


@pytest.mark.parametrize(("extra", "message"), [
    (("--time", "7pm"), "--time must be a 24-hour HH:MM like 19:30, not '7pm'"),
    (("--phone", "555-0101"), "phone numbers must be E.164"),
    (("--name", "   "), "name"),
    (("--date", "2026-13-01"), "--date must look like 2026-12-24"),
])
def test_garbage_in_a_staff_booking_is_one_line_and_writes_nothing(
    database: TestDatabase, extra: tuple[str, ...], message: str
) -> None:
    fields = {"--date": next_weekday(3).isoformat(), "--time": "19:00", "--party": "2", "--name": "Ana",
              "--phone": "+12125550101"}
    fields[extra[0]] = extra[1]
    args = [item for pair in fields.items() for item in pair]
    result = run_cli("reservations", "book", "demo-bistro", *args, database=database)
    assert result.code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert database.scalar("SELECT count(*) FROM reservations") == 0


def test_a_party_size_that_is_not_a_number_is_bad_usage(database: TestDatabase) -> None:
    result = run_cli("reservations", "book", "demo-bistro", "--date", "2030-01-02", "--time", "19:00",
                     "--party", "four", "--name", "Ana", "--phone", "+12125550101", database=database)
    assert result.code == 2 and database.scalar("SELECT count(*) FROM reservations") == 0


def test_change_moves_a_booking_and_resizes_it_and_needs_something_to_change(
    booking: BookingService, database: TestDatabase
) -> None:
    made = _book(booking)
    moved = run_cli("reservations", "change", str(made.id), "--time", "20:30", "--party", "2", "--json",
                    database=database)
    assert moved.code == 0, moved.stderr
    assert (moved.json()["local_start"][11:16], moved.json()["party_size"]) == ("20:30", 2)
    nothing = run_cli("reservations", "change", str(made.id), database=database)
    assert (nothing.code, nothing.stderr.strip()) == (1, "frontdesk: say what to change: --date, --time and/or "
                                                         "--party")
    closed = run_cli("reservations", "change", str(made.id), "--time", "03:00", database=database)
    assert closed.code == 1 and "does not take bookings" in closed.stderr
    assert database.rows("SELECT party_size FROM reservations") == [(2,)]
