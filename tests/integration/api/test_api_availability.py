"""POST /api/v1/availability/check: holds, refusals with reasons and alternates, degraded holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.api.conftest import DEAD_REDIS, PHONE, assert_problem, client_for, make_services, weekday_ahead
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio
NY = ZoneInfo("America/New_York")


def _offset(day: date, hour: int) -> timedelta:
    return datetime(day.year, day.month, day.day, hour, tzinfo=NY).utcoffset()  # type: ignore[return-value]


def check(restaurant: str, when: str = "19:00", party: int = 4, **extra: object) -> dict[str, object]:
    return {"restaurant_id": restaurant, "local_date": weekday_ahead().isoformat(), "local_time": when,
            "party_size": party, **extra}


async def test_a_free_time_is_held_for_five_minutes(client: httpx.AsyncClient, demo_id: str) -> None:
    response = await client.post("/api/v1/availability/check", json=check("demo-bistro", caller_phone=PHONE))
    assert response.status_code == 200, response.text
    body = response.json()
    day = weekday_ahead()
    start = datetime(day.year, day.month, day.day, 19, tzinfo=NY)
    assert body["hold_id"].startswith("h_")
    assert body["restaurant_id"] == demo_id
    assert (body["local_date"], body["local_time"], body["party_size"], body["degraded"]) == \
        (day.isoformat(), "19:00", 4, False)
    assert datetime.fromisoformat(body["start_ts"]) == start
    assert datetime.fromisoformat(body["end_ts"]) == start + timedelta(minutes=120)  # turn time for 3-6
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=290) < expires - datetime.now(UTC) <= timedelta(seconds=300)
    assert len(body["capacity"]) == 8  # 120 minutes of 15-minute buckets
    assert body["capacity"][0] == {"bucket_start": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                                   "covers_left": 36, "parties_left": 9}


async def test_an_instant_with_an_offset_works_as_well_as_a_local_date_and_time(client: httpx.AsyncClient) -> None:
    day = weekday_ahead()
    start = datetime(day.year, day.month, day.day, 20, 30, tzinfo=NY)
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": "demo-bistro", "start_ts": start.isoformat(), "party_size": 2})
    assert response.status_code == 200, response.text
    assert (response.json()["local_date"], response.json()["local_time"]) == (day.isoformat(), "20:30")


async def test_the_restaurant_can_be_named_by_its_id(client: httpx.AsyncClient, demo_id: str) -> None:
    response = await client.post("/api/v1/availability/check", json=check(demo_id.upper()))
    assert response.status_code == 200, response.text


async def test_a_full_time_is_refused_with_reason_full_and_bookable_alternates(
        client: httpx.AsyncClient, make_restaurant: Callable[..., UUID]) -> None:
    rid = str(make_restaurant(max_covers_starting=4, min_notice_minutes=0))
    first = await client.post("/api/v1/availability/check", json=check(rid, party=4))
    assert first.status_code == 200
    second = await client.post("/api/v1/availability/check", json=check(rid, party=2))
    body = assert_problem(second, 409, "full")
    assert body["type"].endswith("/slot-unavailable")
    assert 1 <= len(body["alternates"]) <= 5
    for alternate in body["alternates"]:
        assert set(alternate) == {"start_ts", "local_date", "local_time"}
        local = datetime.fromisoformat(alternate["start_ts"]).astimezone(NY)
        assert (local.date().isoformat(), local.strftime("%H:%M")) == \
            (alternate["local_date"], alternate["local_time"])
        assert alternate["local_time"] != "19:00" or alternate["local_date"] != weekday_ahead().isoformat()


async def test_a_time_when_the_restaurant_is_closed_is_refused_with_reason_closed(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json=check("demo-bistro", when="10:00"))
    body = assert_problem(response, 409, "closed")
    assert body["alternates"], "a closed morning still has bookable evening times to offer"


async def test_a_party_larger_than_the_restaurant_seats_is_refused_as_party_too_large(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json=check("demo-bistro", party=13))
    body = assert_problem(response, 409, "party_too_large")
    assert "12" in body["detail"]
    assert body["alternates"] == []


async def test_a_party_over_the_schema_ceiling_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json=check("demo-bistro", party=101))
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "/party_size"


async def test_a_time_too_soon_is_refused_as_too_soon(client: httpx.AsyncClient) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=5)
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": "demo-bistro", "start_ts": soon.isoformat(), "party_size": 2})
    assert_problem(response, 409, "too_soon")


async def test_a_time_beyond_the_horizon_is_refused_as_too_far_ahead(client: httpx.AsyncClient) -> None:
    later = datetime.now(UTC) + timedelta(days=200)
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": "demo-bistro", "start_ts": later.isoformat(), "party_size": 2})
    body = assert_problem(response, 409, "too_far_ahead")
    assert body["alternates"] == []


async def test_a_local_time_skipped_by_the_spring_forward_is_refused_with_a_clear_message(
        client: httpx.AsyncClient) -> None:
    day = datetime.now(NY).date() + timedelta(days=1)
    while _offset(day, 23) <= _offset(day, 0):  # the next day whose evening is an hour further ahead
        day += timedelta(days=1)
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": "demo-bistro", "local_date": day.isoformat(), "local_time": "02:30", "party_size": 2})
    body = assert_problem(response, 422, "nonexistent_local_time")
    assert "does not exist" in body["detail"]


async def test_an_unknown_restaurant_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json=check("no-such-place"))
    assert_problem(response, 404, "restaurant_not_found")


async def test_when_redis_is_down_availability_answers_degraded_without_a_hold(
        database: TestDatabase, redis_prefix: str) -> None:
    services = make_services(database.app_url, redis_prefix, redis_url=DEAD_REDIS)
    try:
        async with client_for(services) as client:
            response = await client.post("/api/v1/availability/check", json=check("demo-bistro"))
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["hold_id"], body["expires_at"], body["degraded"]) == (None, None, True)
            commit = await client.post("/api/v1/reservations/commit", json={
                "restaurant_id": "demo-bistro", "start_ts": body["start_ts"], "party_size": 4,
                "guest_name": "Grace Hopper", "guest_phone": PHONE, "idempotency_key": "call-1:degraded"})
            assert commit.status_code == 201, commit.text
    finally:
        services.store.close()
