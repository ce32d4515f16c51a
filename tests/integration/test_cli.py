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
    assert "usage: frontdesk" in result.stderr and "Traceback" not in result.stderr


def test_every_command_explains_itself() -> None:
    for args in (("--help",), ("db", "--help"), ("db", "migrate", "--help"), ("dev", "--help")):
        result = frontdesk(*args)
        assert result.returncode == 0 and "usage: frontdesk" in result.stdout


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
