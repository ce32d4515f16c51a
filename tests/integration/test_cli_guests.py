"""`frontdesk guests show | list | note` as staff type them, on real PostgreSQL."""

from __future__ import annotations

from datetime import time

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from tests.support.cli import run_cli
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

ANA = Guest("Ana Lima", "+12125550101")
BEN = Guest("Ben Okafor", "+442071234567")


def _book(booking: BookingService, guest: Guest, hh: int = 19) -> object:
    return booking.commit_slot("demo-bistro", SlotRequest(2, local_date=next_weekday(3), local_time=time(hh)), guest)


def test_show_prints_the_guest_with_visits_and_notes(booking: BookingService, database: TestDatabase) -> None:
    made = _book(booking, ANA)
    booking.set_status(made.id, "seated")  # type: ignore[attr-defined]
    result = run_cli("guests", "show", "demo-bistro", ANA.phone, database=database)
    assert result.code == 0, result.stderr
    lines = {line.split("  ", 1)[0].strip(): line for line in result.stdout.splitlines() if line.strip()}
    assert "Guest Ana Lima" in result.stdout
    assert lines["Visits"].split()[-1] == "1" and lines["No-shows"].split()[-1] == "0"
    as_json = run_cli("guests", "show", "demo-bistro", ANA.phone, "--json", database=database).json()
    assert (as_json["name"], as_json["visit_count"], as_json["phone"]) == ("Ana Lima", 1, ANA.phone)


def test_note_records_allergies_and_notes_and_logs_who(booking: BookingService, database: TestDatabase) -> None:
    _book(booking, ANA)
    result = run_cli("guests", "note", "demo-bistro", ANA.phone, "--allergies", "shellfish", "--notes",
                     "anniversary in June", database=database, actor="maria")
    assert result.code == 0, result.stderr
    assert "shellfish" in result.stdout and "anniversary in June" in result.stdout
    renamed = run_cli("guests", "note", "demo-bistro", ANA.phone, "--name", "Ana María Lima", "--json",
                      database=database)
    assert renamed.json()["name"] == "Ana María Lima" and renamed.json()["allergies"] == "shellfish"
    cleared = run_cli("guests", "note", "demo-bistro", ANA.phone, "--notes", "", "--json", database=database)
    assert cleared.json()["notes"] == ""
    assert database.rows("SELECT actor FROM event_log WHERE kind = 'guest.updated' ORDER BY id") == [
        ("cli:maria",), ("cli:tester",), ("cli:tester",)]


def test_note_adds_a_number_that_has_never_booked_and_works_as_app_user(database: TestDatabase) -> None:
    result = run_cli("guests", "note", "demo-bistro", "+12125550999", "--notes", "VIP, friend of the chef",
                     "--json", database=database, admin=False)
    assert result.code == 0, result.stderr
    assert (result.json()["name"], result.json()["visit_count"]) == ("", 0)
    assert database.scalar("SELECT notes FROM guests") == "VIP, friend of the chef"


def test_list_shows_guests_and_search_narrows_by_name_or_number(
    booking: BookingService, database: TestDatabase
) -> None:
    _book(booking, ANA, 18)
    _book(booking, BEN, 20)
    everyone = run_cli("guests", "list", "demo-bistro", database=database)
    assert everyone.code == 0 and "Ana Lima" in everyone.stdout and "Ben Okafor" in everyone.stdout
    by_name = run_cli("guests", "list", "demo-bistro", "--search", "okafor", "--json", database=database)
    assert [g["name"] for g in by_name.json()] == ["Ben Okafor"]
    by_digits = run_cli("guests", "list", "demo-bistro", "--search", "555 0101", "--json", database=database)
    assert [g["name"] for g in by_digits.json()] == ["Ana Lima"]
    nobody = run_cli("guests", "list", "demo-bistro", "--search", "zed", database=database)
    assert (nobody.code, nobody.stdout.strip()) == (0, "Demo Bistro — guests matching 'zed': no guests")


@pytest.mark.parametrize(("args", "message"), [
    (("guests", "show", "demo-bistro", "+12125550999"), "frontdesk: no guest with that number at Demo Bistro"),
    (("guests", "show", "demo-bistro", "2125550101"),
     "frontdesk: phone numbers must be E.164, like +12125550123 (got '2125550101')"),
    (("guests", "show", "no-such-place", "+12125550101"), "frontdesk: no restaurant no-such-place"),
    (("guests", "note", "demo-bistro", "+12125550101"), "frontdesk: nothing to change: give a name, notes or "
                                                        "allergies"),
    (("guests", "note", "demo-bistro", "+12125550101", "--name", "   "),
     "frontdesk: a guest's name must be 1 to 120 characters without control characters"),
    (("guests", "note", "demo-bistro", "+12125550101", "--notes", "x" * 1001),
     "frontdesk: notes must be at most 1000 characters, without NUL characters"),
    (("guests", "note", "demo-bistro", "+1 212 555 0101", "--notes", "x"),
     "frontdesk: phone numbers must be E.164, like +12125550123 (got '+1 212 555 0101')"),
    (("guests", "list", "demo-bistro", "--limit", "0"), "frontdesk: limit must be between 1 and 500"),
    (("guests", "list", "demo-bistro", "--search", "x" * 101),
     "frontdesk: search text must be at most 100 characters, without control characters"),
])
def test_garbage_arguments_get_one_line_that_says_what_to_fix(
    database: TestDatabase, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, database=database)
    assert (result.code, result.stderr.strip(), result.stdout) == (1, message, "")
    assert database.scalar("SELECT count(*) FROM guests") == 0


@pytest.mark.parametrize("args", [
    ("guests",), ("guests", "show", "demo-bistro"), ("guests", "forget", "demo-bistro", "+12125550101"),
    ("guests", "list", "demo-bistro", "--limit", "many"), ("guests", "note", "demo-bistro", "+1", "--vip"),
])
def test_bad_usage_of_the_guest_commands_exits_2(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = run_cli(*args, database=database)
    assert result.code == 2 and "Traceback" not in result.stderr


def test_every_guest_command_explains_itself() -> None:
    for command in ("show", "list", "note"):
        result = run_cli("guests", command, "--help")
        assert result.code == 0 and "RESTAURANT" in result.stdout.upper() and "--json" in result.stdout
