import shutil
import subprocess
from datetime import time

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from frontdesk.db.migrate import sql_dir
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday


def test_every_on_call_diagnostic_query_runs_against_a_live_schema(
    booking: BookingService, database: TestDatabase
) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is required to check sql/diagnostics.sql")
    day = next_weekday(2)
    request = SlotRequest(4, local_date=day, local_time=time(19))
    booking.commit_slot("demo-bistro", request, Guest("Ana", "+12125550101"))
    result = subprocess.run(
        [psql, database.admin_url, "-X", "-q", "-v", "slug=demo-bistro", "-v", f"day={day.isoformat()}",
         "-f", str(sql_dir() / "diagnostics.sql")],
        capture_output=True, text=True, check=False)
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    # pg_stat_statements needs shared_preload_libraries, which a test server may not have.
    assert all("pg_stat_statements" in line for line in errors), result.stderr
    assert " 19:00      | 4/40   | 1/10    | 4/16" in result.stdout
    assert "== 2c. Guest visit / no-show counters" in result.stdout
