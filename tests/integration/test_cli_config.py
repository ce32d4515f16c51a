"""The configuration commands as an owner types them: restaurants, hours, special-days, capacity, turn-times,
on real PostgreSQL. Tables for people, --json for scripts, one-line errors, stranded bookings listed with how
to force, and never a traceback or a half-made change."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Channel, Guest, Reservation
from tests.support.cli import CliResult, run_cli
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday


def cli(database: TestDatabase, *args: str) -> CliResult:
    return run_cli(*args, database=database, actor="ana")


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def book(booking: BookingService, slug: str, day: Any, at: time, n: int, party: int = 2) -> Reservation:
    return booking.commit_slot(slug, SlotRequest(party, local_date=day, local_time=at),
                               Guest(f"Guest {n}", f"+1212558{n:04d}"), channel=Channel.STAFF)


def test_a_new_owner_sets_up_a_restaurant_hours_a_holiday_and_capacity(database: TestDatabase,
                                                                      booking: BookingService) -> None:
    created = ok(cli(database, "restaurants", "create", "chez-ana", "--name", "Chez Ana", "--timezone",
                     "America/New_York", "--covers", "30", "--failover-number", "+12125550111",
                     "--notice-minutes", "0"))
    assert "Created Chez Ana (chez-ana)" in created.stdout and "frontdesk hours set chez-ana" in created.stdout
    ok(cli(database, "hours", "set", "chez-ana", "tue-sat", "17:00-22:00"))
    ok(cli(database, "hours", "set", "chez-ana", "fri,sat", "17:00-23:30"))
    shown = ok(cli(database, "hours", "show", "chez-ana", "--json")).json()
    assert [(d["day"], d["hours"]) for d in shown] == [
        ("Monday", "closed"), ("Tuesday", "17:00-22:00"), ("Wednesday", "17:00-22:00"),
        ("Thursday", "17:00-22:00"), ("Friday", "17:00-23:30"), ("Saturday", "17:00-23:30"), ("Sunday", "closed")]
    holiday = next_weekday(4, at_least_days=20)
    added = ok(cli(database, "special-days", "add", "chez-ana", holiday.isoformat(), "--closed", "--reason",
                   "Thanksgiving", "--json")).json()
    assert added["result"]["closed"] is True and added["affected"] == []
    listed = ok(cli(database, "special-days", "list", "chez-ana"))
    assert "Thanksgiving" in listed.stdout and "cli:ana" in listed.stdout
    rules = ok(cli(database, "capacity", "list", "chez-ana", "--json")).json()
    assert [(r["applies"], r["max_covers_present"], r["max_parties_present"]) for r in rules] == [
        ("every day", 30, 30)]
    ok(cli(database, "turn-times", "set", "chez-ana", "1-2=90", "3-6=120", "--default", "150"))
    turns = ok(cli(database, "turn-times", "show", "chez-ana", "--json")).json()
    assert [(t["party"], t["minutes"]) for t in turns] == [("1-2", 90), ("3-6", 120), ("any other", 150)]
    # The restaurant now takes bookings, except on the holiday.
    assert book(booking, "chez-ana", holiday + timedelta(days=1), time(19), n=1).party_size == 2
    actors = {a for (a,) in database.rows("SELECT DISTINCT actor FROM event_log WHERE reservation_id IS NULL")}
    assert actors == {"cli:ana"}


def test_closing_a_day_with_bookings_lists_them_and_says_how_to_force(database: TestDatabase,
                                                                     booking: BookingService) -> None:
    day = next_weekday(3)
    booked = [book(booking, "demo-bistro", day, time(h), n=h) for h in (18, 20)]
    refused = cli(database, "special-days", "add", "demo-bistro", day.isoformat(), "--closed", "--reason", "pipe")
    assert refused.code == 1
    assert refused.stderr.startswith("frontdesk: the change would strand 2 booking(s)")
    for reservation, hour in zip(booked, (18, 20), strict=True):
        assert str(reservation.id) in refused.stderr and f"{day.isoformat()} {hour}:00" in refused.stderr
    assert "Guest 18" in refused.stderr and "--force" in refused.stderr
    assert database.scalar("SELECT count(*) FROM special_days") == 0

    forced = ok(cli(database, "special-days", "add", "demo-bistro", day.isoformat(), "--closed", "--force"))
    assert "Applied with --force: 2 booking(s)" in forced.stdout and "Guest 20" in forced.stdout
    sd_id = database.scalar("SELECT id FROM special_days")
    renamed = ok(cli(database, "special-days", "change", "demo-bistro", str(sd_id), "--reason", "burst pipe"))
    assert "burst pipe" in renamed.stdout and "Applied with --force" not in renamed.stdout
    removed = ok(cli(database, "special-days", "remove", "demo-bistro", str(sd_id), "--json")).json()
    assert removed["affected"] == [] and database.scalar("SELECT count(*) FROM special_days") == 0


def test_lowering_capacity_below_what_is_booked_needs_force_and_raising_it_does_not(
    database: TestDatabase, booking: BookingService
) -> None:
    day = next_weekday(5)
    booked = [book(booking, "demo-bistro", day, time(19), n=n, party=4) for n in range(3)]
    (rule,) = ok(cli(database, "capacity", "list", "demo-bistro", "--json")).json()
    refused = cli(database, "capacity", "change", "demo-bistro", str(rule["id"]), "--covers", "10")
    assert refused.code == 1 and all(str(r.id) in refused.stderr for r in booked)
    assert "--force" in refused.stderr
    ok(cli(database, "capacity", "change", "demo-bistro", str(rule["id"]), "--covers", "60"))
    friday = ok(cli(database, "capacity", "add", "demo-bistro", "--weekday", "fri", "--between", "18:00-21:00",
                    "--covers", "8", "--force", "--json")).json()
    assert friday["result"]["applies"] == "Fridays 18:00-21:00" and len(friday["affected"]) == 3
    listed = ok(cli(database, "capacity", "list", "demo-bistro")).stdout
    assert "Fridays 18:00-21:00" in listed and "every day" in listed
    ok(cli(database, "capacity", "remove", "demo-bistro", str(friday["result"]["id"])))


def test_hours_that_strand_bookings_are_refused_and_the_timezone_is_locked_while_bookings_lie_ahead(
    database: TestDatabase, booking: BookingService
) -> None:
    monday = next_weekday(1)
    early = book(booking, "demo-bistro", monday, time(17), n=1)
    refused = cli(database, "hours", "set", "demo-bistro", "mon", "18:00-22:00")
    assert refused.code == 1 and str(early.id) in refused.stderr
    assert database.scalar("SELECT count(*) FROM operating_hours WHERE weekday = 1 AND opens = '17:00'") == 1

    blocked = cli(database, "restaurants", "set", "demo-bistro", "--timezone", "Europe/Paris")
    assert blocked.code == 1 and "timezone cannot change" in blocked.stderr
    assert str(early.id) in blocked.stderr and "--force" not in blocked.stderr
    changed = ok(cli(database, "restaurants", "set", "demo-bistro", "--twilio-number", "none", "--agent-hours",
                     "11:00-23:00", "--no-agent", "--policies", "Deposit for 8+", "--json")).json()
    assert (changed["twilio_number"], changed["agent_hours"], changed["agent_enabled"], changed["policies"]) == (
        None, "11:00-23:00", False, "Deposit for 8+")
    shown = ok(cli(database, "restaurants", "show", "demo-bistro")).stdout
    assert "Deposit for 8+" in shown and "11:00-23:00" in shown


def test_a_restaurant_created_without_capacity_says_what_to_do_next(database: TestDatabase) -> None:
    created = ok(cli(database, "restaurants", "create", "bare", "--name", "Bare", "--timezone", "Europe/Paris"))
    assert "no capacity yet" in created.stdout and "frontdesk capacity add bare --covers" in created.stdout
    listed = ok(cli(database, "capacity", "list", "bare"))
    assert "nothing can be booked" in listed.stdout
    assert ok(cli(database, "restaurants", "list", "--json")).json()[0]["slug"] == "bare"


def test_the_commands_work_as_the_least_privileged_app_user_through_the_functions(database: TestDatabase) -> None:
    day = next_weekday(2, at_least_days=30)
    as_app = run_cli("special-days", "add", "demo-bistro", day.isoformat(), "--hours", "18:00-01:00", "--json",
                     database=database, admin=False, actor="ben")
    assert as_app.code == 0, as_app.stderr
    assert as_app.json()["result"]["hours"] == "18:00-01:00 (past midnight)"
    assert database.scalar("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == "cli:ben"
    ok(run_cli("hours", "set", "demo-bistro", "mon", "--closed", database=database, admin=False))


GARBAGE: list[tuple[tuple[str, ...], str]] = [
    (("restaurants", "create", "Bad Slug!", "--name", "X", "--timezone", "UTC"), "slug"),
    (("restaurants", "create", "ok-slug", "--name", "X", "--timezone", "Mars/Olympus"), "time zone"),
    (("restaurants", "create", "ok-slug", "--name", "X", "--timezone", "UTC", "--covers", "-3"), "covers"),
    (("restaurants", "create", "ok-slug", "--name", "X", "--timezone", "UTC", "--parties", "3"), "--covers"),
    (("restaurants", "create", "demo-bistro", "--name", "X", "--timezone", "UTC"), "slug is taken"),
    (("restaurants", "set", "demo-bistro"), "nothing to change"),
    (("restaurants", "set", "demo-bistro", "--failover-number", "555-1234"), "E.164"),
    (("restaurants", "set", "demo-bistro", "--max-party-size", "0"), "largest party"),
    (("restaurants", "set", "demo-bistro", "--agent-hours", "9am-5pm"), "--agent-hours"),
    (("restaurants", "show", "no-such-place"), "no restaurant"),
    (("hours", "set", "demo-bistro", "funday", "17:00-22:00"), "not a day"),
    (("hours", "set", "demo-bistro", "mon"), "--closed"),
    (("hours", "set", "demo-bistro", "mon", "17:00-22:00", "--closed"), "not both"),
    (("hours", "set", "demo-bistro", "mon", "5pm-10pm"), "17:00-22:00"),
    (("hours", "set", "demo-bistro", "mon", "17:00-17:00"), "same time"),
    (("hours", "set", "demo-bistro", "mon", "12:00-15:00", "14:00-18:00"), "overlap"),
    (("hours", "set", "demo-bistro", "sun", "20:00-18:00"), "overlap"),
    (("special-days", "add", "demo-bistro", "tomorrow", "--closed"), "2026-12-24"),
    (("special-days", "add", "demo-bistro", "2030-01-08"), "--closed"),
    (("special-days", "add", "demo-bistro", "2030-01-08", "--closed", "--hours", "12:00-15:00"), "--closed"),
    (("special-days", "add", "demo-bistro", "2030-01-08", "--until", "2030-01-01", "--closed"), "before"),
    (("special-days", "add", "demo-bistro", "2001-01-08", "--closed"), "past"),
    (("special-days", "add", "demo-bistro", "2030-01-08", "--hours", "noon"), "--hours"),
    (("special-days", "change", "demo-bistro", "1"), "nothing to change"),
    (("special-days", "remove", "demo-bistro", "99999"), "no special day"),
    (("capacity", "add", "demo-bistro"), "--covers"),
    (("capacity", "add", "demo-bistro", "--covers", "10"), "already covers"),
    (("capacity", "add", "demo-bistro", "--covers", "10", "--date", "2030-01-01", "--weekday", "mon"), "not both"),
    (("capacity", "add", "demo-bistro", "--covers", "10", "--weekday", "someday"), "weekday"),
    (("capacity", "add", "demo-bistro", "--covers", "100000", "--weekday", "mon"), "max covers"),
    (("capacity", "change", "demo-bistro", "1"), "nothing to change"),
    (("capacity", "change", "demo-bistro", "99999", "--covers", "3"), "no capacity rule"),
    (("turn-times", "set", "demo-bistro"), "1-2=90"),
    (("turn-times", "set", "demo-bistro", "1-2:90"), "FROM-TO=MINUTES"),
    (("turn-times", "set", "demo-bistro", "1-4=90", "3-6=120"), "overlap"),
    (("turn-times", "set", "demo-bistro", "1-4=90", "--default", "5"), "default turn"),
]


@pytest.mark.parametrize(("args", "hint"), GARBAGE, ids=[" ".join(a)[:60] for a, _ in GARBAGE])
def test_garbage_is_one_line_that_says_what_to_fix_and_changes_nothing(database: TestDatabase,
                                                                      args: tuple[str, ...], hint: str) -> None:
    before = _state(database)
    result = cli(database, *args)
    assert result.code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("frontdesk: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert hint.lower() in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _state(database) == before


@pytest.mark.parametrize("args", [
    ("hours", "set"), ("special-days", "remove", "demo-bistro", "one"), ("capacity", "change", "demo-bistro", "x"),
    ("turn-times", "show"), ("restaurants", "create", "x"), ("special-days", "add", "demo-bistro", "2030-01-01",
                                                             "--bogus"),
])
def test_bad_usage_exits_2(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = cli(database, *args)
    assert result.code == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("group", ["restaurants", "hours", "special-days", "capacity", "turn-times"])
def test_every_group_and_command_has_help(database: TestDatabase, group: str) -> None:
    import typer

    from frontdesk.cli import app

    ok(cli(database, group, "--help"))
    commands = typer.main.get_command(app).commands[group].commands  # type: ignore[attr-defined]
    assert commands
    for command in commands:
        assert commands[command].help, command
        helped = ok(cli(database, group, command, "--help"))
        assert "Usage: frontdesk" in helped.stdout


def _state(database: TestDatabase) -> tuple[Any, ...]:
    return tuple(database.scalar(q) for q in (
        "SELECT count(*) FROM event_log",
        "SELECT count(*) FROM restaurants",
        "SELECT string_agg(weekday || opens::text || closes::text, ',' ORDER BY weekday, opens) FROM operating_hours",
        "SELECT count(*) FROM special_days",
        "SELECT string_agg(id || ':' || max_covers_present, ',' ORDER BY id) FROM capacity_rules",
        "SELECT string_agg(min_party || '-' || max_party || '=' || minutes, ',' ORDER BY min_party) FROM turn_times",
        "SELECT string_agg(coalesce(twilio_number, '') || coalesce(failover_number, '') || max_party_size"
        " || default_turn_minutes, ',') FROM restaurants",
    ))
