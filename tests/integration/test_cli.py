"""The `frontdesk` command as a user runs it: real processes, real PostgreSQL, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.databases import TestDatabase, create_database, drop_database, unique_name


def frontdesk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "frontdesk.cli", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=60, check=False)


@pytest.fixture
def empty_database() -> Iterator[TestDatabase]:
    name = unique_name("cli")
    create_database(name)
    try:
        yield TestDatabase(name)
    finally:
        drop_database(name)


def test_migrate_then_status_then_seed_from_the_command_line(empty_database: TestDatabase) -> None:
    url = empty_database.admin_url
    migrated = frontdesk("db", "migrate", "--database-url", url)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 0001_schema.sql" in migrated.stdout
    again = frontdesk("db", "migrate", env={"DATABASE_URL": url})
    assert (again.returncode, again.stdout.strip()) == (0, "database is up to date")
    status = frontdesk("db", "status", "--database-url", url)
    assert all(line.startswith("applied") for line in status.stdout.splitlines())
    seeded = frontdesk("db", "seed", "--database-url", url)
    assert seeded.returncode == 0 and "seeded 0001_demo_bistro.sql" in seeded.stdout
    assert empty_database.scalar("SELECT name FROM restaurants") == "Demo Bistro"


def test_no_database_url_is_a_clear_error() -> None:
    result = frontdesk("db", "migrate")
    assert result.returncode == 1
    assert result.stderr.strip() == "frontdesk: no database: pass --database-url or set DATABASE_URL"


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:1/nowhere",
    "not a url at all",
    "postgresql://postgres@127.0.0.1:5432/database_that_does_not_exist_here",
])
def test_an_unreachable_or_garbled_database_url_fails_without_a_traceback(url: str) -> None:
    result = frontdesk("db", "migrate", "--database-url", url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("frontdesk: ")


@pytest.mark.parametrize("args", [(), ("db",), ("nonsense",), ("db", "explode"), ("serve", "--port", "eighty")])
def test_bad_usage_exits_2_with_usage_and_no_traceback(args: tuple[str, ...]) -> None:
    result = frontdesk(*args)
    assert result.returncode == 2
    assert "usage: frontdesk" in (result.stdout + result.stderr).lower()
    assert "Traceback" not in result.stdout + result.stderr


def test_every_command_explains_itself() -> None:
    for args in (("--help",), ("db", "--help"), ("db", "migrate", "--help"), ("dev", "--help"),
                 ("reservations", "list", "--help")):
        result = frontdesk(*args)
        assert result.returncode == 0 and "usage: frontdesk" in result.stdout.lower()


def test_serve_refuses_to_start_with_unsigned_twilio_webhooks_in_prod() -> None:
    result = frontdesk("serve", "--port", "0", env={"STAGE": "prod", "ALLOW_UNSIGNED_TWILIO": "true"})
    assert result.returncode == 1
    assert "ALLOW_UNSIGNED_TWILIO=true is refused when STAGE=prod" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("command", "env", "field"), [
    (("serve", "--port", "0"), {"HOLD_TTL_SECONDS": "forever"}, "hold_ttl_seconds"),
    (("serve", "--port", "0"), {"STAGE": "staging"}, "stage"),
    (("bridge",), {"BRIDGE_PORT": "eighty-eighty"}, "bridge_port"),
])
def test_garbage_in_the_environment_stops_a_server_at_start_with_the_setting_named(
    command: tuple[str, ...], env: dict[str, str], field: str
) -> None:
    result = frontdesk(*command, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("frontdesk: invalid settings:") and field in result.stderr
    assert "Traceback" not in result.stderr


# -- the admin CLI framework, through its example group (in-process, real PostgreSQL) ---------------------

def _book(booking: object, day: object, hh: int, name: str, phone: str, party: int = 2) -> object:
    from datetime import time

    from frontdesk.core.booking import SlotRequest
    from frontdesk.core.model import Guest

    return booking.commit_slot(  # type: ignore[attr-defined]
        "demo-bistro", SlotRequest(party, local_date=day, local_time=time(hh)), Guest(name, phone))


def test_reservations_list_shows_the_service_date_as_a_table_in_local_time(
    booking: object, database: TestDatabase
) -> None:
    from tests.support.cli import run_cli
    from tests.support.dates import next_weekday

    day = next_weekday(3)
    _book(booking, day, 19, "Ana Lima", "+12125550101", party=4)
    _book(booking, day, 18, "Ben Okafor", "+12125550102")
    result = run_cli("reservations", "list", "demo-bistro", "--date", day.isoformat(), database=database)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Demo Bistro" in lines[0] and day.isoformat() in lines[0]
    ben, ana = (next(i for i, line in enumerate(lines) if name in line) for name in ("Ben Okafor", "Ana Lima"))
    assert ben < ana  # time order
    assert f"{day.isoformat()} 19:00" in lines[ana] and "confirmed" in lines[ana]


def test_reservations_list_json_is_machine_readable_with_utc_instants(
    booking: object, database: TestDatabase
) -> None:
    from tests.support.cli import run_cli
    from tests.support.dates import next_weekday

    day = next_weekday(3)
    made = _book(booking, day, 19, "Ana Lima", "+12125550101", party=4)
    result = run_cli("reservations", "list", "demo-bistro", "--date", day.isoformat(), "--json",
                     database=database)
    assert result.code == 0, result.stderr
    [row] = result.json()
    assert row["id"] == str(made.id)  # type: ignore[attr-defined]
    assert row["party_size"] == 4 and row["status"] == "confirmed"
    assert row["start"] == made.start.isoformat()  # type: ignore[attr-defined]
    assert row["local_start"] == f"{day.isoformat()}T19:00:00"


def test_an_empty_day_says_so(database: TestDatabase) -> None:
    from tests.support.cli import run_cli

    result = run_cli("reservations", "list", "demo-bistro", "--date", "2030-01-02", database=database)
    assert (result.code, result.stdout.strip()) == (0, "Demo Bistro — Wednesday 2030-01-02: no reservations")
    as_json = run_cli("reservations", "list", "demo-bistro", "--date", "2030-01-02", "--json", database=database)
    assert as_json.json() == []


def test_reservations_show_prints_one_record(booking: object, database: TestDatabase) -> None:
    from tests.support.cli import run_cli
    from tests.support.dates import next_weekday

    made = _book(booking, next_weekday(4), 20, "Ana Lima", "+12125550101")
    result = run_cli("reservations", "show", str(made.id), database=database)  # type: ignore[attr-defined]
    assert result.code == 0, result.stderr
    assert "Ana Lima" in result.stdout and "+12125550101" in result.stdout and "20:00" in result.stdout
    assert run_cli("reservations", "show", str(made.id), "--json",  # type: ignore[attr-defined]
                   database=database).json()["guest_name"] == "Ana Lima"


@pytest.mark.parametrize(("args", "message"), [
    (("reservations", "list", "demo-bistro", "--date", "tomorrow"),
     "frontdesk: --date must look like 2026-12-24, not 'tomorrow'"),
    (("reservations", "list", "demo-bistro", "--date", "2026-02-30"),
     "frontdesk: --date must look like 2026-12-24, not '2026-02-30'"),
    (("reservations", "list", "no-such-place"), "frontdesk: no restaurant no-such-place"),
    (("reservations", "show", "12345"),
     "frontdesk: the reservation id must be a UUID like 0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01, not '12345'"),
    (("reservations", "show", "0b6f2c1e-8a3d-4c1b-9f5e-2d7a4b8c9e01"), "frontdesk: No such reservation."),
])
def test_garbage_arguments_get_one_line_that_says_what_to_fix(
    database: TestDatabase, args: tuple[str, ...], message: str
) -> None:
    from tests.support.cli import run_cli

    result = run_cli(*args, database=database)
    assert (result.code, result.stderr.strip(), result.stdout) == (1, message, "")


@pytest.mark.parametrize("args", [("reservations",), ("reservations", "list"), ("reservations", "explode"),
                                  ("reservations", "list", "demo-bistro", "--when", "now")])
def test_bad_usage_of_a_group_exits_2(database: TestDatabase, args: tuple[str, ...]) -> None:
    from tests.support.cli import run_cli

    result = run_cli(*args, database=database)
    assert result.code == 2 and "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_not_a_pool_log() -> None:
    from tests.support.cli import run_cli

    result = run_cli("--database-url", "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1",
                     "reservations", "list", "demo-bistro")
    assert result.code == 1
    assert result.stderr.strip() == ("frontdesk: cannot reach the database: check --database-url / DATABASE_URL "
                                     "(-v says more)")
