"""The on-call diagnostics show the SMS outbox, and an overdue message among them."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from frontdesk.core.booking import BookingService
from frontdesk.db.migrate import sql_dir
from tests.integration.sms.conftest import book
from tests.support.databases import TestDatabase


def test_diagnostics_list_the_outbox_by_state_and_an_overdue_message(
        booking: BookingService, database: TestDatabase) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is required to check sql/diagnostics.sql")
    book(booking)
    database.scalar("UPDATE notification_outbox SET next_attempt_at = now() - interval '1 hour',"
                    " last_error = 'Twilio 503 error 20500' RETURNING 1")
    result = subprocess.run([psql, database.admin_url, "-X", "-q", "-v", "slug=demo-bistro", "-v", "day=2026-12-10",
                             "-f", str(sql_dir() / "diagnostics.sql")], capture_output=True, text=True, check=False)
    section = result.stdout.split("== 9. Guest SMS")[1]
    assert " demo-bistro | pending |        1 |" in section
    assert "Twilio 503 error 20500" in section
    assert not [line for line in result.stderr.splitlines() if "ERROR" in line and "pg_stat_statements" not in line]
