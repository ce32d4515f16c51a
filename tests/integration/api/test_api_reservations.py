"""Commit, read, find, cancel and modify through the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from frontdesk.wiring import Services
from tests.integration.api.conftest import PHONE, assert_problem, weekday_ahead
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio
NY = ZoneInfo("America/New_York")
RESERVATION_KEYS = {"id", "restaurant_id", "service_date", "start_ts", "end_ts", "local_date", "local_time",
                    "party_size", "guest_name", "guest_phone", "notes", "status", "channel", "created_at",
                    "updated_at", "cancelled_at"}
RESERVATION_KEYS |= {"tables"}  # the tables it occupies; [] at a restaurant without tables


async def hold(client: httpx.AsyncClient, restaurant: str = "demo-bistro", when: str = "19:00", party: int = 4,
               day: Any = None) -> dict[str, Any]:
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": restaurant, "local_date": (day or weekday_ahead()).isoformat(), "local_time": when,
        "party_size": party})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def book(client: httpx.AsyncClient, restaurant: str = "demo-bistro", when: str = "19:00", party: int = 4,
               phone: str = PHONE, **extra: Any) -> dict[str, Any]:
    held = await hold(client, restaurant, when, party, extra.pop("day", None))
    response = await client.post("/api/v1/reservations/commit", json={
        "hold_id": held["hold_id"], "guest_name": "Ada Lovelace", "guest_phone": phone, **extra})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


# -- commit -------------------------------------------------------------------------------------------------

async def test_committing_a_hold_creates_the_reservation_with_a_location(client: httpx.AsyncClient,
                                                                         demo_id: str) -> None:
    held = await hold(client)
    response = await client.post("/api/v1/reservations/commit", json={
        "hold_id": held["hold_id"], "guest_name": "  Ada Lovelace ", "guest_phone": PHONE,
        "notes": "window seat, nut allergy"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == RESERVATION_KEYS
    assert response.headers["location"] == f"/api/v1/reservations/{body['id']}"
    assert "idempotent-replayed" not in response.headers
    assert (body["restaurant_id"], body["start_ts"], body["end_ts"], body["party_size"]) == \
        (demo_id, held["start_ts"], held["end_ts"], 4)
    assert (body["local_date"], body["local_time"], body["service_date"]) == \
        (held["local_date"], "19:00", held["local_date"])
    assert (body["guest_name"], body["guest_phone"], body["notes"]) == \
        ("Ada Lovelace", PHONE, "window seat, nut allergy")
    assert (body["status"], body["channel"], body["cancelled_at"]) == ("confirmed", "phone_agent", None)


async def test_a_commit_retried_with_the_same_hold_returns_the_same_reservation(
        client: httpx.AsyncClient, database: TestDatabase) -> None:
    held = await hold(client)
    body = {"hold_id": held["hold_id"], "guest_name": "Ada", "guest_phone": PHONE}
    first = await client.post("/api/v1/reservations/commit", json=body)
    again = await client.post("/api/v1/reservations/commit", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert database.scalar("SELECT count(*) FROM reservations") == 1


async def test_the_idempotency_key_may_come_in_the_header(client: httpx.AsyncClient,
                                                          database: TestDatabase) -> None:
    day = weekday_ahead()
    body = {"restaurant_id": "demo-bistro", "local_date": day.isoformat(), "local_time": "18:00",
            "party_size": 2, "guest_name": "Ada", "guest_phone": PHONE}
    first = await client.post("/api/v1/reservations/commit", json=body, headers={"Idempotency-Key": "call-7"})
    again = await client.post("/api/v1/reservations/commit", json=body, headers={"Idempotency-Key": "call-7"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert database.scalar("SELECT idempotency_key FROM reservations") == "call-7"


async def test_different_idempotency_keys_in_header_and_body_are_refused(client: httpx.AsyncClient) -> None:
    held = await hold(client)
    response = await client.post("/api/v1/reservations/commit", headers={"Idempotency-Key": "a"}, json={
        "hold_id": held["hold_id"], "guest_name": "Ada", "guest_phone": PHONE, "idempotency_key": "b"})
    assert_problem(response, 422, "invalid_request")


async def test_committing_an_unknown_or_expired_hold_is_a_409_hold_expired(
        client: httpx.AsyncClient, services: Services) -> None:
    held = await hold(client)
    services.holds._r.delete(services.holds.hold_key(held["hold_id"]))  # what expiry does after 300 s
    response = await client.post("/api/v1/reservations/commit", json={
        "hold_id": held["hold_id"], "guest_name": "Ada", "guest_phone": PHONE})
    body = assert_problem(response, 409, "hold_expired")
    assert body["alternates"] == []


async def test_a_slot_can_be_booked_without_a_hold(client: httpx.AsyncClient) -> None:
    day = weekday_ahead()
    start = datetime(day.year, day.month, day.day, 18, 15, tzinfo=NY)
    response = await client.post("/api/v1/reservations/commit", json={
        "restaurant_id": "demo-bistro", "start_ts": start.isoformat(), "party_size": 2,
        "guest_name": "Grace", "guest_phone": PHONE, "channel": "api"})
    assert response.status_code == 201, response.text
    assert (response.json()["local_time"], response.json()["channel"]) == ("18:15", "api")


async def test_a_slot_booked_without_a_hold_when_full_is_a_409_with_alternates(
        client: httpx.AsyncClient, make_restaurant: Callable[..., UUID]) -> None:
    rid = str(make_restaurant(max_covers_starting=4, min_notice_minutes=0))
    await book(client, rid, party=4)
    response = await client.post("/api/v1/reservations/commit", json={
        "restaurant_id": rid, "local_date": weekday_ahead().isoformat(), "local_time": "19:00", "party_size": 2,
        "guest_name": "Grace", "guest_phone": "+12125550999"})
    body = assert_problem(response, 409, "full")
    assert body["alternates"]


async def test_the_same_phone_cannot_book_two_overlapping_tables(client: httpx.AsyncClient) -> None:
    await book(client, when="19:00")
    held = await hold(client, when="20:00", party=2)
    response = await client.post("/api/v1/reservations/commit", json={
        "hold_id": held["hold_id"], "guest_name": "Ada", "guest_phone": PHONE})
    body = assert_problem(response, 409, "duplicate_booking")
    assert body["alternates"] == []


@pytest.mark.parametrize(("field", "value", "pointer"), [
    ("notes", "x" * 501, "/notes"),
    ("guest_phone", "212-555-0123", "/guest_phone"),
    ("guest_phone", "+0123456789", "/guest_phone"),
    ("guest_name", "   ", "/guest_name"),
    ("guest_name", "x" * 121, "/guest_name"),
    ("guest_name", "Ada\x00", "/guest_name"),
    ("hold_id", "h_../../etc", "/hold_id"),
    ("idempotency_key", "has space", "/idempotency_key"),
    ("restaurant_id", "demo-bistro", "/restaurant_id"),  # a hold already names its restaurant
])
async def test_bad_guest_details_are_refused_field_by_field(client: httpx.AsyncClient, field: str, value: str,
                                                            pointer: str) -> None:
    body = {"hold_id": "h_abc", "guest_name": "Ada", "guest_phone": PHONE, field: value}
    problem = assert_problem(await client.post("/api/v1/reservations/commit", json=body), 422,
                             "validation_failed")
    assert [e["pointer"] for e in problem["errors"]] == [pointer], problem
    assert "with_hold" not in problem["detail"]


async def test_notes_of_exactly_500_characters_are_accepted(client: httpx.AsyncClient) -> None:
    reservation = await book(client, notes="n" * 500)
    assert len(reservation["notes"]) == 500


# -- reads --------------------------------------------------------------------------------------------------

async def test_a_reservation_can_be_read_by_id(client: httpx.AsyncClient) -> None:
    booked = await book(client)
    response = await client.get(f"/api/v1/reservations/{booked['id']}")
    assert response.status_code == 200
    assert response.json() == booked


@pytest.mark.parametrize("rid", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "%00"])
async def test_an_unknown_or_malformed_reservation_id_is_a_404(client: httpx.AsyncClient, rid: str) -> None:
    assert_problem(await client.get(f"/api/v1/reservations/{rid}"), 404, "reservation_not_found")


async def test_a_callers_reservations_are_found_by_phone(client: httpx.AsyncClient) -> None:
    later = await book(client, day=weekday_ahead(at_least_days=14))
    sooner = await book(client, day=weekday_ahead())
    await book(client, phone="+12125550777", when="18:00")
    response = await client.get("/api/v1/reservations", params={"restaurant_id": "demo-bistro", "phone": PHONE})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["items"]] == [sooner["id"], later["id"]]


async def test_a_service_date_is_listed_in_time_order(client: httpx.AsyncClient, demo_id: str) -> None:
    late = await book(client, when="21:00", phone="+12125550001")
    early = await book(client, when="17:30", phone="+12125550002")
    response = await client.get("/api/v1/reservations", params={"restaurant_id": demo_id,
                                                                "date": weekday_ahead().isoformat()})
    assert [r["id"] for r in response.json()["items"]] == [early["id"], late["id"]]
    empty = await client.get("/api/v1/reservations", params={"restaurant_id": demo_id, "date": "2030-01-01"})
    assert empty.json() == {"items": []}


@pytest.mark.parametrize("params", [
    {"restaurant_id": "demo-bistro"},
    {"restaurant_id": "demo-bistro", "phone": PHONE, "date": "2030-01-01"},
    {"phone": PHONE},
    {"restaurant_id": "demo-bistro", "phone": "5550123"},
    {"restaurant_id": "demo-bistro", "date": "2030-02-30"},
    {"restaurant_id": "demo-bistro", "date": "1/2/2030"},
    {"restaurant_id": "demo-bistro", "phone": PHONE, "limit": "5"},
])
async def test_listing_needs_a_restaurant_and_exactly_one_valid_filter(client: httpx.AsyncClient,
                                                                       params: dict[str, str]) -> None:
    problem = assert_problem(await client.get("/api/v1/reservations", params=params), 422, "validation_failed")
    assert all(e["pointer"].startswith("#query") for e in problem["errors"]), problem


async def test_listing_for_an_unknown_restaurant_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/reservations", params={"restaurant_id": "nowhere", "phone": PHONE})
    assert_problem(response, 404, "restaurant_not_found")


# -- cancel -------------------------------------------------------------------------------------------------

async def test_cancelling_frees_the_capacity(client: httpx.AsyncClient,
                                             make_restaurant: Callable[..., UUID]) -> None:
    rid = str(make_restaurant(max_covers_starting=4, min_notice_minutes=0))
    booked = await book(client, rid, party=4)
    refused = await client.post("/api/v1/availability/check", json={
        "restaurant_id": rid, "local_date": weekday_ahead().isoformat(), "local_time": "19:00", "party_size": 4})
    assert_problem(refused, 409, "full")
    cancelled = await client.post(f"/api/v1/reservations/{booked['id']}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    await hold(client, rid, party=4)


async def test_cancelling_twice_returns_the_same_cancelled_reservation(client: httpx.AsyncClient,
                                                                       database: TestDatabase) -> None:
    booked = await book(client)
    first = await client.post(f"/api/v1/reservations/{booked['id']}/cancel", json={"reason": "caller asked"})
    again = await client.post(f"/api/v1/reservations/{booked['id']}/cancel")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert database.scalar("SELECT payload->>'reason' FROM event_log WHERE kind = 'reservation.cancelled'") \
        == "caller asked"


async def test_cancelling_an_unknown_reservation_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/reservations/3f1c4d7e-0000-4000-8000-000000000000/cancel")
    assert_problem(response, 404, "reservation_not_found")


async def test_a_cancel_body_with_unknown_fields_is_refused(client: httpx.AsyncClient) -> None:
    booked = await book(client)
    response = await client.post(f"/api/v1/reservations/{booked['id']}/cancel", json={"why": "x"})
    assert_problem(response, 422, "validation_failed")


# -- modify -------------------------------------------------------------------------------------------------

async def test_a_reservation_can_move_to_another_time(client: httpx.AsyncClient) -> None:
    booked = await book(client)
    response = await client.patch(f"/api/v1/reservations/{booked['id']}", json={"local_time": "20:30"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["local_date"], body["local_time"], body["party_size"]) == \
        (booked["id"], booked["local_date"], "20:30", 4)


async def test_a_reservation_can_change_its_party_size(client: httpx.AsyncClient) -> None:
    booked = await book(client)
    response = await client.patch(f"/api/v1/reservations/{booked['id']}", json={"party_size": 8})
    assert response.status_code == 200, response.text
    assert (response.json()["party_size"], response.json()["local_time"]) == (8, "19:00")


async def test_moving_to_a_full_time_is_a_409_with_alternates_and_changes_nothing(
        client: httpx.AsyncClient, make_restaurant: Callable[..., UUID]) -> None:
    rid = str(make_restaurant(max_covers_starting=4, min_notice_minutes=0))
    await book(client, rid, when="19:00", party=4)
    mine = await book(client, rid, when="17:00", party=2, phone="+12125550888")
    response = await client.patch(f"/api/v1/reservations/{mine['id']}", json={"local_time": "19:00"})
    body = assert_problem(response, 409, "full")
    assert body["alternates"]
    assert (await client.get(f"/api/v1/reservations/{mine['id']}")).json() == mine


@pytest.mark.parametrize("changes", [
    {}, {"start_ts": "2030-01-01T19:00:00Z", "local_time": "19:00"}, {"party_size": 0}, {"status": "seated"},
])
async def test_a_patch_must_say_what_to_change_and_only_that(client: httpx.AsyncClient,
                                                             changes: dict[str, Any]) -> None:
    booked = await book(client)
    response = await client.patch(f"/api/v1/reservations/{booked['id']}", json=changes)
    assert_problem(response, 422, "validation_failed")


async def test_a_cancelled_reservation_cannot_be_changed(client: httpx.AsyncClient) -> None:
    booked = await book(client)
    await client.post(f"/api/v1/reservations/{booked['id']}/cancel")
    response = await client.patch(f"/api/v1/reservations/{booked['id']}", json={"party_size": 2})
    assert_problem(response, 409, "invalid_state")
