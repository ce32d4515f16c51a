"""The floor's status route and guest memory over HTTP, on real PostgreSQL and Redis: what staff see, and
what garbage gets (a 4xx problem that says what is wrong, never a 500)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.integration.api.conftest import PHONE, assert_problem, weekday_ahead
from tests.support.databases import TestDatabase, start_in_the_past

pytestmark = pytest.mark.anyio


async def _book(client: httpx.AsyncClient, hh: int = 19, phone: str = PHONE, name: str = "Ana") -> dict[str, Any]:
    response = await client.post("/api/v1/reservations/commit", json={
        "restaurant_id": "demo-bistro", "local_date": weekday_ahead().isoformat(), "local_time": f"{hh}:00",
        "party_size": 2, "guest_name": name, "guest_phone": phone})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_seating_then_completing_counts_one_visit_for_the_guest(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    reservation = await _book(client)
    start_in_the_past(database, UUID(reservation["id"]))
    seated = await client.post(f"/api/v1/reservations/{reservation['id']}/status",
                               json={"status": "seated", "actor": "maria"})
    assert seated.status_code == 200, seated.text
    assert seated.json()["status"] == "seated" and seated.json()["id"] == reservation["id"]
    again = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json={"status": "seated"})
    assert again.status_code == 200 and again.json()["updated_at"] == seated.json()["updated_at"]
    done = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json={"status": "completed"})
    assert done.json()["status"] == "completed"
    guest = await client.get(f"/api/v1/restaurants/demo-bistro/guests/{PHONE}")
    assert guest.status_code == 200, guest.text
    body = guest.json()
    assert (body["name"], body["visit_count"], body["no_show_count"]) == ("Ana", 1, 0)
    assert body["last_visit_on"] == done.json()["service_date"]
    assert database.rows("SELECT kind, actor FROM event_log WHERE kind LIKE 'reservation.%%' ORDER BY id") == [
        ("reservation.confirmed", "api"), ("reservation.seated", "maria"), ("reservation.completed", "api")]


async def test_a_change_the_floor_does_not_allow_is_a_409_that_says_so(client: httpx.AsyncClient) -> None:
    reservation = await _book(client)
    await client.post(f"/api/v1/reservations/{reservation['id']}/cancel")
    response = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json={"status": "seated"})
    problem = assert_problem(response, 409, "invalid_state")
    assert problem["detail"] == "a reservation that is cancelled cannot be marked seated"


async def test_a_no_show_before_the_start_is_a_409_that_says_when_and_changes_nothing(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    reservation = await _book(client, hh=19)
    for status, words in (("no_show", "no-show"), ("completed", "completed")):
        response = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json={"status": status})
        problem = assert_problem(response, 409, "invalid_state")
        assert problem["detail"] == (f"a reservation cannot be marked {words} before it starts on "
                                     f"{reservation['service_date']} at 19:00")
    assert database.rows("SELECT status FROM reservations") == [("confirmed",)]
    assert database.rows("SELECT visit_count, no_show_count FROM guests") == [(0, 0)]


async def test_a_no_show_shows_on_the_guest_and_a_guest_is_found_by_id_or_slug(
    client: httpx.AsyncClient, database: TestDatabase, demo_id: str
) -> None:
    reservation = await _book(client)
    start_in_the_past(database, UUID(reservation["id"]))
    missed = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json={"status": "no_show"})
    assert missed.status_code == 200, missed.text
    for key in ("demo-bistro", demo_id):
        guest = (await client.get(f"/api/v1/restaurants/{key}/guests/%2B{PHONE[1:]}")).json()
        assert (guest["visit_count"], guest["no_show_count"]) == (0, 1)


async def test_staff_notes_and_allergies_are_saved_and_an_unknown_number_is_a_404(
    client: httpx.AsyncClient, database: TestDatabase
) -> None:
    missing = await client.get("/api/v1/restaurants/demo-bistro/guests/+12125550999")
    assert_problem(missing, 404, "guest_not_found")
    await _book(client)
    patched = await client.patch(f"/api/v1/restaurants/demo-bistro/guests/{PHONE}",
                                 json={"notes": "anniversary", "allergies": "peanuts", "actor": "maria"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["notes"], patched.json()["allergies"], patched.json()["name"]) == (
        "anniversary", "peanuts", "Ana")
    renamed = await client.patch(f"/api/v1/restaurants/demo-bistro/guests/{PHONE}", json={"name": "  Ana María "})
    assert renamed.json()["name"] == "Ana María" and renamed.json()["notes"] == "anniversary"
    assert database.rows("SELECT actor FROM event_log WHERE kind = 'guest.updated' ORDER BY id") == [
        ("maria",), ("api",)]


STATUS_GARBAGE: list[Any] = [
    None, [], "seated", 1, {}, {"status": None}, {"status": "cancelled"}, {"status": "confirmed"},
    {"status": "SEATED"}, {"status": ["seated"]}, {"status": "seated", "extra": 1},
    {"status": "seated", "actor": ""}, {"status": "seated", "actor": "x" * 65},
    {"status": "seated", "actor": "a\x00b"}, {"status": "seated", "actor": 7},
]


@pytest.mark.parametrize("body", STATUS_GARBAGE, ids=[f"garbage-{i}" for i in range(len(STATUS_GARBAGE))])
async def test_garbage_status_bodies_get_a_422_and_change_nothing(
    client: httpx.AsyncClient, database: TestDatabase, body: Any
) -> None:
    reservation = await _book(client)
    response = await client.post(f"/api/v1/reservations/{reservation['id']}/status", json=body)
    assert_problem(response, 422, "validation_failed")
    assert database.scalar("SELECT status FROM reservations") == "confirmed"


@pytest.mark.parametrize("raw", ["not-a-uuid", "00000000-0000-0000-0000-000000000007", "%00", "1' OR '1'='1"])
async def test_a_status_change_for_an_unknown_reservation_is_a_404(client: httpx.AsyncClient, raw: str) -> None:
    response = await client.post(f"/api/v1/reservations/{raw}/status", json={"status": "seated"})
    assert_problem(response, 404)


async def test_status_and_guest_bodies_must_be_json(client: httpx.AsyncClient) -> None:
    reservation = await _book(client)
    sent = await client.post(f"/api/v1/reservations/{reservation['id']}/status", content=b"status=seated",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(sent, 415)
    broken = await client.patch(f"/api/v1/restaurants/demo-bistro/guests/{PHONE}", content=b"{notes:",
                                headers={"Content-Type": "application/json"})
    assert_problem(broken, 400, "malformed_json")


PATCH_GARBAGE: list[Any] = [
    None, [], "notes", {}, {"actor": "maria"}, {"notes": None}, {"notes": 5}, {"notes": "x" * 1001},
    {"allergies": "y" * 301}, {"notes": "a\x00b"}, {"name": ""}, {"name": "   "}, {"name": "A\nB"},
    {"name": "x" * 121}, {"visit_count": 100}, {"no_show_count": 0, "notes": "x"}, {"phone": "+12125550100"},
]


@pytest.mark.parametrize("body", PATCH_GARBAGE, ids=[f"garbage-{i}" for i in range(len(PATCH_GARBAGE))])
async def test_garbage_guest_edits_get_a_422_and_change_nothing(
    client: httpx.AsyncClient, database: TestDatabase, body: Any
) -> None:
    await _book(client)
    response = await client.patch(f"/api/v1/restaurants/demo-bistro/guests/{PHONE}", json=body)
    assert_problem(response, 422, "validation_failed")
    assert database.rows("SELECT name, notes, allergies, visit_count, no_show_count FROM guests") == [
        ("Ana", "", "", 0, 0)]
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'guest.updated'") == 0


@pytest.mark.parametrize(("restaurant", "phone", "status", "reason"), [
    ("demo-bistro", "12125550123", 422, "invalid_request"),
    ("demo-bistro", "+1 212 555 0123", 422, "invalid_request"),
    ("demo-bistro", "+0000", 422, "invalid_request"),
    ("demo-bistro", "x" * 40, 422, "validation_failed"),
    ("demo-bistro", "%00", 422, "invalid_request"),
    ("no-such-place", PHONE, 404, "restaurant_not_found"),
    ("00000000-0000-0000-0000-000000000000", PHONE, 404, "restaurant_not_found"),
    ("Demo_Bistro!", PHONE, 422, "validation_failed"),
    ("%00", PHONE, 422, "validation_failed"),
])
async def test_garbage_restaurants_and_numbers_are_refused_on_read_and_write(
    client: httpx.AsyncClient, database: TestDatabase, restaurant: str, phone: str, status: int, reason: str
) -> None:
    path = f"/api/v1/restaurants/{restaurant}/guests/{phone}"
    assert_problem(await client.get(path), status, reason)
    assert_problem(await client.patch(path, json={"notes": "x"}), status, reason)
    assert database.scalar("SELECT count(*) FROM guests") == 0


async def test_the_openapi_document_publishes_the_floor_and_guest_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/reservations/{reservation_id}/status"]) == {"post"}
    assert set(paths["/api/v1/restaurants/{slug}/guests/{phone}"]) == {"get", "patch"}
