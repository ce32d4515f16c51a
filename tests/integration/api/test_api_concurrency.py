"""Fifty callers at one hot bucket through the real HTTP server: nobody is oversold, nobody gets a 5xx."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from tests.integration.api.conftest import weekday_ahead

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
CALLERS = 50
NY = ZoneInfo("America/New_York")

# Every UTC bucket of the service date, the live load in it (recomputed here from the rows, not from the
# functions under test) and the caps of the default rule.
OVER_CAP = """
WITH b AS (
    SELECT g AS bucket
      FROM generate_series(%(from)s::timestamptz, %(to)s::timestamptz, interval '15 minutes') AS g),
load AS (
    SELECT b.bucket,
           coalesce(sum(r.party_size), 0) AS covers_present,
           count(r.id) AS parties_present,
           coalesce(sum(r.party_size) FILTER (WHERE lower(r.during) >= b.bucket
                                                AND lower(r.during) < b.bucket + interval '15 minutes'), 0)
               AS covers_starting
      FROM b LEFT JOIN reservations r
        ON r.status IN ('confirmed', 'seated') AND r.during && tstzrange(b.bucket, b.bucket + interval '15 minutes')
     GROUP BY b.bucket)
SELECT l.* FROM load l, capacity_rules c
 WHERE c.on_date IS NULL AND c.weekday IS NULL AND c.local_from IS NULL
   AND (l.covers_present > c.max_covers_present OR l.parties_present > c.max_parties_present
        OR l.covers_starting > c.max_covers_starting)
"""


async def caller(client: httpx.AsyncClient, restaurant_id: str, n: int, with_hold: bool) -> tuple[str, int]:
    phone = f"+1212555{n:04d}"
    slot = {"restaurant_id": restaurant_id, "local_date": weekday_ahead().isoformat(), "local_time": "19:00",
            "party_size": 2}
    if with_hold:
        checked = await client.post("/api/v1/availability/check", json={**slot, "caller_phone": phone})
        if checked.status_code != 200:
            return "check", checked.status_code
        body = {"hold_id": checked.json()["hold_id"], "guest_name": f"Caller {n}", "guest_phone": phone}
    else:
        body = {**slot, "guest_name": f"Caller {n}", "guest_phone": phone, "idempotency_key": f"call-{n}"}
    committed = await client.post("/api/v1/reservations/commit", json=body)
    return "commit", committed.status_code


@pytest.mark.parametrize("with_hold", [True, False], ids=["check-then-commit", "commit-without-hold"])
async def test_fifty_concurrent_callers_at_one_bucket_never_overbook(booking_api: Any, with_hold: bool) -> None:
    limits = httpx.Limits(max_connections=CALLERS, max_keepalive_connections=CALLERS)
    async with httpx.AsyncClient(base_url=booking_api.url, limits=limits, timeout=60) as client:
        outcomes = await asyncio.gather(*(caller(client, booking_api.restaurant_id, n, with_hold)
                                          for n in range(CALLERS)))
    tally = Counter(outcomes)
    assert not [o for o in outcomes if o[1] >= 500], tally
    assert set(tally) <= {("check", 409), ("commit", 201), ("commit", 409)}, tally
    # demo-bistro lets 16 covers start per bucket: exactly eight parties of two get in.
    assert tally[("commit", 201)] == 8, tally
    with psycopg.connect(booking_api.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM reservations WHERE status = 'confirmed'").fetchone() == (8,)
        day = weekday_ahead()
        start = datetime(day.year, day.month, day.day, 16, tzinfo=NY)
        over = conn.execute(OVER_CAP, {"from": start, "to": start.replace(hour=23, minute=45)}).fetchall()
    assert over == []
