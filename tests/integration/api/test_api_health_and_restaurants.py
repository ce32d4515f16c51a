"""Liveness, readiness and the restaurant facts the voice agent reads out."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.api.conftest import (
    DEAD_POSTGRES,
    DEAD_REDIS,
    assert_problem,
    client_for,
    make_services,
)
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio


async def test_healthz_answers_without_touching_any_dependency(redis_prefix: str) -> None:
    services = make_services(DEAD_POSTGRES, redis_prefix, redis_url=DEAD_REDIS)
    async with client_for(services) as client:
        response = await client.get("/api/v1/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_ready_when_postgres_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/readiness")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_readiness_names_redis_when_redis_is_down(database: TestDatabase, redis_prefix: str) -> None:
    services = make_services(database.app_url, redis_prefix, redis_url=DEAD_REDIS)
    try:
        async with client_for(services) as client:
            response = await client.get("/api/v1/readiness")
    finally:
        services.store.close()
    body = assert_problem(response, 503, "not_ready")
    assert body["checks"] == {"postgres": "ok", "redis": "unavailable"}
    assert "redis" in body["detail"]
    assert response.headers["retry-after"]


async def test_readiness_names_postgres_when_the_database_is_down(redis_prefix: str) -> None:
    services = make_services(DEAD_POSTGRES, redis_prefix)
    try:
        async with client_for(services) as client:
            response = await client.get("/api/v1/readiness")
    finally:
        services.store.close()
    body = assert_problem(response, 503, "not_ready")
    assert body["checks"] == {"postgres": "unavailable", "redis": "ok"}


async def test_restaurant_facts_cover_fourteen_service_dates_from_today(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/restaurants/demo-bistro")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "slug", "name", "timezone", "phone", "failover_phone", "address", "policies",
                         "max_party_size", "min_notice_minutes", "booking_horizon_days", "hours", "special_days"}
    assert (body["slug"], body["name"], body["timezone"], body["max_party_size"]) == \
        ("demo-bistro", "Demo Bistro", "America/New_York", 12)
    assert body["phone"] == "+15555550100"
    assert body["failover_phone"] == "+15555550199"  # transfers go to the restaurant, never back to the AI
    today = datetime.now(ZoneInfo("America/New_York")).date()
    dates = [date.fromisoformat(h["local_date"]) for h in body["hours"]]
    assert dates == [today + timedelta(days=i) for i in range(14)]
    friday = next(h for h in body["hours"] if date.fromisoformat(h["local_date"]).isoweekday() == 5)
    assert friday == {"local_date": friday["local_date"], "opens": "17:00", "closes": "23:30", "closed": False,
                      "reason": None}
    assert body["special_days"] == []


async def test_restaurant_can_be_read_by_its_id_as_well_as_its_slug(client: httpx.AsyncClient,
                                                                    demo_id: str) -> None:
    response = await client.get(f"/api/v1/restaurants/{demo_id}")
    assert response.status_code == 200
    assert response.json()["slug"] == "demo-bistro"


async def test_a_closure_shows_as_a_closed_day_with_its_reason_and_as_a_special_day(
        client: httpx.AsyncClient, database: TestDatabase, demo_id: str) -> None:
    today = datetime.now(ZoneInfo("America/New_York")).date()
    closed_on = today + timedelta(days=3)
    database.rows("INSERT INTO special_days (restaurant_id, starts_on, ends_on, closed, reason)"
                  " VALUES (%s, %s, %s, true, 'Private event') RETURNING id", [demo_id, closed_on, closed_on])
    body = (await client.get("/api/v1/restaurants/demo-bistro")).json()
    day = [h for h in body["hours"] if h["local_date"] == closed_on.isoformat()]
    assert day == [{"local_date": closed_on.isoformat(), "opens": None, "closes": None, "closed": True,
                    "reason": "Private event"}]
    assert body["special_days"] == [{"starts_on": closed_on.isoformat(), "ends_on": closed_on.isoformat(),
                                     "closed": True, "opens": None, "closes": None, "reason": "Private event"}]


@pytest.mark.parametrize("key", ["no-such-place", "Not A Slug!", "x" * 100, "00000000-0000-0000-0000-000000000000"])
async def test_an_unknown_restaurant_is_a_404_problem(client: httpx.AsyncClient, key: str) -> None:
    response = await client.get(f"/api/v1/restaurants/{key}")
    assert_problem(response, 404, "restaurant_not_found")
