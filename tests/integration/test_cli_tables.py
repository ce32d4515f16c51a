"""``frontdesk tables`` as an owner types it, against real PostgreSQL: tables, combinations, garbage."""

from __future__ import annotations

from datetime import time

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from tests.support.cli import run_cli
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday


def test_an_owner_sets_up_tables_and_a_combination_and_sees_them_listed(database: TestDatabase) -> None:
    for args in (("add", "demo-bistro", "T1", "--min", "2", "--max", "4", "--area", "patio"),
                 ("add", "demo-bistro", "T2", "--max", "4"),
                 ("add", "demo-bistro", "Bar", "--max", "2", "--staff-only"),
                 ("combine", "demo-bistro", "T1+T2", "--tables", "T1,T2", "--min", "5", "--max", "8")):
        result = run_cli("tables", *args, database=database, actor="maria")
        assert result.code == 0, result.stderr
    listed = run_cli("tables", "list", "demo-bistro", database=database)
    assert listed.code == 0
    lines = listed.stdout.splitlines()
    assert any(line.split("│")[0].strip() == "T1" and "patio" in line for line in lines)
    assert any(line.split("│")[0].strip() == "Bar" and "│ no" in line for line in lines)
    assert any(line.split("│")[0].strip() == "T1+T2" and "T1, T2" in line for line in lines)
    as_json = run_cli("tables", "list", "demo-bistro", "--json", database=database).json()
    assert [t["name"] for t in as_json["tables"]] == ["Bar", "T1", "T2"]
    assert as_json["combinations"][0] == {"name": "T1+T2", "tables": ["T1", "T2"], "min_seats": 5, "max_seats": 8,
                                          "agent_bookable": True, "usable": True}
    assert database.rows("SELECT DISTINCT actor FROM event_log") == [("cli:maria",)]


def test_update_changes_only_what_is_given(database: TestDatabase) -> None:
    run_cli("tables", "add", "demo-bistro", "T1", "--max", "4", "--area", "patio", database=database)
    result = run_cli("tables", "update", "demo-bistro", "T1", "--max", "6", "--name", "Window", "--staff-only",
                     "--json", database=database)
    assert result.code == 0, result.stderr
    assert result.json()["item"] == {"name": "Window", "min_seats": 1, "max_seats": 6, "area": "patio",
                                     "agent_bookable": False, "active": True}


def test_an_empty_floor_plan_says_bookings_are_paced_by_covers(database: TestDatabase) -> None:
    result = run_cli("tables", "list", "demo-bistro", database=database)
    assert result.code == 0 and "none (bookings are paced by covers only)" in result.stdout


def test_removing_a_table_with_a_booking_prints_it_and_needs_force(
    database: TestDatabase, booking: BookingService
) -> None:
    run_cli("tables", "add", "demo-bistro", "T1", "--max", "4", database=database)
    made = booking.commit_slot("demo-bistro", SlotRequest(2, local_date=next_weekday(3), local_time=time(19)),
                               Guest("Ana Lima", "+12125550101"))
    assert made.tables == ("T1",)
    refused = run_cli("tables", "remove", "demo-bistro", "T1", database=database)
    assert refused.code == 1
    assert "would strand 1 booking(s)" in refused.stderr and str(made.id) in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert database.scalar("SELECT active FROM dining_tables WHERE name = 'T1'") is True
    forced = run_cli("tables", "remove", "demo-bistro", "T1", "--force", database=database)
    assert forced.code == 0 and str(made.id) in forced.stdout
    assert "1 future booking(s) have no table; seat them by hand" in forced.stdout
    assert database.scalar("SELECT active FROM dining_tables WHERE name = 'T1'") is False


def test_uncombine_with_a_booking_needs_force(database: TestDatabase, booking: BookingService) -> None:
    run_cli("tables", "add", "demo-bistro", "A", "--max", "2", database=database)
    run_cli("tables", "add", "demo-bistro", "B", "--max", "2", database=database)
    run_cli("tables", "combine", "demo-bistro", "AB", "--tables", "A,B", "--min", "3", database=database)
    booking.commit_slot("demo-bistro", SlotRequest(4, local_date=next_weekday(3), local_time=time(19)),
                        Guest("Ana Lima", "+12125550101"))
    assert run_cli("tables", "uncombine", "demo-bistro", "AB", database=database).code == 1
    assert run_cli("tables", "uncombine", "demo-bistro", "AB", "--force", database=database).code == 0
    assert database.scalar("SELECT count(*) FROM table_combinations") == 0


def test_the_apis_least_privileged_login_can_run_the_table_commands_too(database: TestDatabase) -> None:
    result = run_cli("tables", "add", "demo-bistro", "T1", "--max", "4", database=database, admin=False)
    assert result.code == 0, result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("add", "demo-bistro", "T1", "--max", "-3"), "seats must satisfy 1 <= min <= max <= 100"),
    (("add", "demo-bistro", "T1", "--min", "5", "--max", "4"), "seats must satisfy"),
    (("add", "demo-bistro", "A,B", "--max", "4"), "without commas"),
    (("add", "demo-bistro", "", "--max", "4"), "a table name must be 1 to 40"),
    (("add", "no-such-place", "T1", "--max", "4"), "no restaurant no-such-place"),
    (("add", "demo-bistro", "Taken", "--max", "4"), "there is already a table named Taken"),
    (("update", "demo-bistro", "Taken"), "nothing to change"),
    (("update", "demo-bistro", "Ghost", "--max", "3"), "no table named Ghost"),
    (("remove", "demo-bistro", "Ghost"), "no table named Ghost"),
    (("combine", "demo-bistro", "C", "--tables", "Taken"), "at least two different tables"),
    (("combine", "demo-bistro", "C", "--tables", "Taken,,Other"), "names separated by commas"),
    (("combine", "demo-bistro", "C", "--tables", "Taken,Ghost"), "no active table named Ghost"),
    (("uncombine", "demo-bistro", "Ghost"), "no combination named Ghost"),
])
def test_garbage_arguments_get_one_line_that_says_what_to_fix_and_change_nothing(
    database: TestDatabase, args: tuple[str, ...], message: str
) -> None:
    run_cli("tables", "add", "demo-bistro", "Taken", "--max", "4", database=database)
    run_cli("tables", "add", "demo-bistro", "Other", "--max", "4", database=database)
    events = database.scalar("SELECT count(*) FROM event_log")
    result = run_cli("tables", *args, database=database)
    assert result.code == 1, result
    assert result.stderr.startswith("frontdesk: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert database.scalar("SELECT count(*) FROM event_log") == events


@pytest.mark.parametrize("args", [
    ("add", "demo-bistro", "T1"),                       # --max is required
    ("add", "demo-bistro", "T1", "--max", "four"),
    ("add", "demo-bistro", "T1", "--max", "4", "--bogus"),
    ("combine", "demo-bistro", "C"),                    # --tables is required
    ("frobnicate", "demo-bistro"),
    ("update",),
])
def test_bad_usage_exits_2_without_a_traceback(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = run_cli("tables", *args, database=database)
    assert result.code == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["list", "add", "update", "remove", "combine", "uncombine"])
def test_every_tables_command_explains_itself(command: str) -> None:
    result = run_cli("tables", command, "--help")
    assert result.code == 0 and "Usage: frontdesk tables " + command in result.stdout
