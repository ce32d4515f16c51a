"""Scenarios against the REAL booking API (``booking_api`` fixture: the app under uvicorn on real
PostgreSQL and Redis), with the bridge, the Twilio caller simulator and the fake Realtime server."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from frontdesk_contract.call_record import CallOutcome, CallState
from tests.doubles.audio import agent_greeting, caller_clip
from tests.doubles.bridge_harness import BridgeHarness, run

pytestmark = pytest.mark.slow


def _open_date(api_url: str, slug: str) -> str:
    """A service date a few days out on which the restaurant is open (not too soon, not a closure)."""
    info = httpx.get(f"{api_url}/api/v1/restaurants/{slug}", timeout=10).json()
    soon = (date.today() + timedelta(days=2)).isoformat()
    return next(h["local_date"] for h in info["hours"] if not h["closed"] and h["local_date"] >= soon)


def test_a_caller_books_a_table_from_the_greeting_to_a_confirmed_row_in_the_database(booking_api: Any) -> None:
    day = _open_date(booking_api.url, booking_api.restaurant_slug)

    async def scenario() -> None:
        async with BridgeHarness(booking_url=booking_api.url) as h:
            caller, model = await h.call(restaurant_id=booking_api.restaurant_id)
            assert "Demo Bistro" in model.session_config["instructions"]
            greeting = agent_greeting()[:4000]
            await model.respond(greeting)
            await caller.wait_played(len(greeting))
            # the caller asks for a table for four; server VAD hears it and the model calls a tool
            utterance = await model.speech_started()
            await caller.stream(caller_clip()[:160 * 25])
            await model.wait_appends(25)
            await model.speech_stopped(utterance)
            await model.respond(agent_greeting()[:800],
                                function_call=("check_availability", {"date": day, "time": "19:00", "party_size": 4}))
            await model.wait_for("response.create", count=2)
            held = model.outputs()[0]
            assert held["available"] is True, held
            await model.respond(agent_greeting()[:800], function_call=("book_reservation", {"guest_name": "Ana"}))
            await model.wait_for("response.create", count=3)
            booked = model.outputs()[1]
            assert booked["booked"] is True, booked
            goodbye = agent_greeting()[:1600]
            await model.respond(goodbye, function_call=("end_call", {}))
            update = await h.twilio.wait_for_update(within=10)
            assert update.status == "completed"
            record = await h.wait_record(caller.call_sid, lambda r: r.state is not CallState.ACTIVE)
            assert (record.state, record.outcome) == (CallState.COMPLETED, CallOutcome.BOOKED)
            assert record.reservation_ids == (booked["reservation_id"],)
            assert h.model.violations == [] and caller.violations == []
            return booked["reservation_id"]

    reservation_id = run(scenario(), timeout=60)
    with psycopg.connect(booking_api.database_url) as conn:
        row = conn.execute("SELECT guest_name, party_size, guest_phone, status, channel, service_date, "
                           "to_char(lower(during) AT TIME ZONE 'America/New_York', 'HH24:MI') "
                           "FROM reservations WHERE id = %s", (reservation_id,)).fetchone()
    assert row is not None
    assert row[:4] == ("Ana", 4, "+15551230000", "confirmed")
    assert (row[5].isoformat(), row[6]) == (day, "19:00")


def test_a_full_time_is_answered_with_the_alternates_spoken_back(booking_api: Any) -> None:
    day = _open_date(booking_api.url, booking_api.restaurant_slug)
    # fill 19:00 through the API itself until it refuses
    with httpx.Client(base_url=booking_api.url, timeout=10) as api:
        for n in range(40):
            check = api.post("/api/v1/availability/check", json={
                "restaurant_id": booking_api.restaurant_id, "local_date": day, "local_time": "19:00",
                "party_size": 8})
            if check.status_code == 409:
                break
            assert check.status_code == 200, check.text
            commit = api.post("/api/v1/reservations/commit", json={
                "hold_id": check.json()["hold_id"], "guest_name": f"Guest {n}", "guest_phone": f"+1555000{n:04d}"})
            assert commit.status_code == 201, commit.text
        else:
            pytest.fail("19:00 never filled up")

    async def scenario() -> None:
        async with BridgeHarness(booking_url=booking_api.url) as h:
            caller, model = await h.call(restaurant_id=booking_api.restaurant_id)
            await model.respond(function_call=("check_availability", {"date": day, "time": "19:00", "party_size": 8}))
            await model.wait_for("response.create", count=2)  # the model is asked to speak the answer
            answer = model.outputs()[0]
            assert answer["available"] is False
            assert answer["alternates"], answer
            for alt in answer["alternates"]:  # short and speakable, alternates included
                assert alt["spoken"].split(" at ")[1] in answer["message"]
            assert len(answer["message"]) < 300
            assert h.model.violations == [] and caller.violations == []

    run(scenario(), timeout=60)


def test_a_caller_finds_moves_resizes_and_cancels_a_booking_through_the_real_api(booking_api: Any) -> None:
    """Every reservation tool against the real booking API, so the bridge and the API agree on the wire."""
    day = _open_date(booking_api.url, booking_api.restaurant_slug)
    caller_number = "+15551230000"  # the harness's default caller id
    with httpx.Client(base_url=booking_api.url, timeout=10) as api:
        made = api.post("/api/v1/reservations/commit", json={
            "restaurant_id": booking_api.restaurant_id, "local_date": day, "local_time": "18:00",
            "party_size": 2, "guest_name": "Ana", "guest_phone": caller_number})
        assert made.status_code == 201, made.text
    reservation_id = made.json()["id"]

    async def scenario() -> list[dict[str, Any]]:
        async with BridgeHarness(booking_url=booking_api.url) as h:
            caller, model = await h.call(restaurant_id=booking_api.restaurant_id, caller_number=caller_number)
            steps = [
                ("get_restaurant_info", {}),
                ("find_reservations", {}),
                ("modify_reservation", {"reservation_id": reservation_id, "time": "20:00"}),
                ("modify_reservation", {"reservation_id": reservation_id, "party_size": 5}),
                ("cancel_reservation", {"reservation_id": reservation_id}),
            ]
            for n, call in enumerate(steps, start=2):  # response.create #1 was the greeting
                await model.respond(function_call=call)
                await model.wait_for("response.create", count=n)
            assert h.model.violations == [] and caller.violations == []
            return model.outputs()

    info, found, moved, resized, cancelled = run(scenario(), timeout=60)
    assert info["ok"] and info["name"] == "Demo Bistro"
    assert [r["reservation_id"] for r in found["reservations"]] == [reservation_id]
    assert moved["modified"] is True, moved
    assert resized["modified"] is True, resized
    assert cancelled["cancelled"] is True, cancelled
    with psycopg.connect(booking_api.database_url) as conn:
        row = conn.execute("SELECT status, party_size, service_date, "
                           "to_char(lower(during) AT TIME ZONE 'America/New_York', 'HH24:MI') "
                           "FROM reservations WHERE id = %s", (reservation_id,)).fetchone()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM event_log WHERE reservation_id = %s ORDER BY id",
                                            (reservation_id,))]
    assert row is not None
    assert (row[0], row[1], row[2].isoformat(), row[3]) == ("cancelled", 5, day, "20:00")
    assert kinds == ["reservation.confirmed", "reservation.modified", "reservation.modified",
                     "reservation.cancelled"]
