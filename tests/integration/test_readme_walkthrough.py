"""The README's "Run your restaurant" walk-through, run as written (its dates moved into the future), so the
first thing a new owner types keeps working."""

from __future__ import annotations

import re
import shlex
from datetime import date, timedelta
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.databases import TestDatabase

README = Path(__file__).resolve().parents[2] / "README.md"
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def walkthrough_lines() -> list[str]:
    text = README.read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    body = block.split("```bash", 1)[1].rsplit("```", 1)[0]
    return [line.strip() for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def moved_to_the_future(lines: list[str]) -> list[str]:
    """Shift every date by whole 52-week steps (weekdays stay weekdays) until the first is a week away."""
    days = [date.fromisoformat(m.group(0)) for line in lines for m in ISO_DATE.finditer(line)]
    steps = 0
    while min(days) + timedelta(weeks=52 * steps) < date.today() + timedelta(days=7):
        steps += 1
    shift = timedelta(weeks=52 * steps)
    return [ISO_DATE.sub(lambda m: (date.fromisoformat(m.group(0)) + shift).isoformat(), line) for line in lines]


def test_the_readme_walkthrough_sets_up_a_restaurant_as_it_says(database: TestDatabase) -> None:
    commands = [line for line in moved_to_the_future(walkthrough_lines()) if line.startswith("frontdesk ")]
    assert len(commands) >= 20, "the walk-through block was not found in README.md"
    for line in commands:
        args = shlex.split(line, comments=True)[1:]
        result = run_cli(*args, database=database, actor="owner")
        if "# refused" in line:
            assert result.code == 1, f"{line}\n{result.stdout}"
            assert "Ana Lima" in result.stderr and "--force" in result.stderr, result.stderr
        else:
            assert result.code == 0, f"{line}\n{result.stderr}"
            assert "Traceback" not in result.stdout + result.stderr

    luna = database.scalar("SELECT id FROM restaurants WHERE slug = 'luna'")
    assert database.rows("SELECT weekday, opens::text, closes::text FROM operating_hours WHERE restaurant_id = %s"
                         " ORDER BY weekday, opens", [luna]) == [
        (2, "17:00:00", "22:00:00"), (3, "17:00:00", "22:00:00"), (4, "17:00:00", "22:00:00"),
        (5, "17:00:00", "00:30:00"), (6, "17:00:00", "00:30:00"),
        (7, "11:30:00", "15:00:00"), (7, "17:00:00", "21:00:00")]
    assert database.rows("SELECT reason, closed FROM special_days WHERE restaurant_id = %s ORDER BY starts_on",
                         [luna]) == [("Christmas", True), ("New Year's Eve", False), ("Burst pipe", True)]
    # The hand-taken booking got the six-top, and the forced closure is on record with who forced it.
    assert database.rows(
        "SELECT r.guest_name, t.name FROM reservations r JOIN reservation_tables rt ON rt.reservation_id = r.id"
        " JOIN dining_tables t ON t.id = rt.table_id WHERE r.restaurant_id = %s", [luna]) == [("Ana Lima", "T3")]
    assert database.rows(
        "SELECT actor, (payload->>'forced')::boolean FROM event_log WHERE restaurant_id = %s"
        " AND kind LIKE 'special_day.%%' ORDER BY id DESC LIMIT 1", [luna]) == [("cli:owner", True)]
