"""POST /twilio/status: call status callbacks into the calls table. Twilio retries and reorders them; the
record only ever moves forward, a terminal status stays, and the history holds each status once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime
from uuid import UUID, uuid4

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState
from tests.integration.twilio.conftest import DEAD_POSTGRES, StackFactory, TwilioStack
from tests.integration.twilio.twilio_sim import CALLER, DEMO_NUMBER, assert_refused, new_call_sid
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def at(seconds: int) -> str:
    return format_datetime(T0 + timedelta(seconds=seconds))


async def send(stack: TwilioStack, call_sid: str, status: str, seconds: int, sequence: int, **extra: str) -> None:
    response = await stack.sim.status(call_sid, status, Timestamp=at(seconds), SequenceNumber=str(sequence),
                                      **extra)
    assert response.status_code == 204, response.text
    assert response.content == b""


def book(booking: BookingService) -> UUID:
    held = booking.check_and_hold("demo-bistro", SlotRequest(2, local_date=next_weekday(2), local_time=time(19)))
    assert held.hold is not None
    return booking.commit(held.hold.hold_id, Guest("Ada Lovelace", CALLER)).id


async def test_a_completed_call_is_recorded_with_its_duration_times_and_the_bridge_outcome(
        stack: TwilioStack, booking: BookingService) -> None:
    reservation_id = book(booking)
    call_sid = new_call_sid()
    await stack.sim.voice(call_sid)
    stack.write_record(call_sid, CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.BOOKED,
                                            restaurant_id=stack.demo_id, reason="end_call",
                                            reservation_ids=(str(reservation_id),)))
    await send(stack, call_sid, "completed", 94, 3, CallDuration="94")
    row = stack.call_row(call_sid)
    assert row is not None
    assert (row["status"], row["duration_seconds"], row["outcome"], row["reservation_id"]) == (
        "completed", 94, "booked", reservation_id)
    assert (str(row["restaurant_id"]), row["from_number"], row["to_number"]) == (stack.demo_id, CALLER, DEMO_NUMBER)
    assert row["ended_at"] == T0 + timedelta(seconds=94)
    assert stack.history(call_sid)[-1] == "completed"


async def test_statuses_arriving_out_of_order_never_move_a_call_backwards(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.INFO,
                                            restaurant_id=stack.demo_id))
    await send(stack, call_sid, "completed", 94, 4, CallDuration="94")
    await send(stack, call_sid, "in-progress", 1, 3)
    await send(stack, call_sid, "initiated", 0, 1)
    await send(stack, call_sid, "ringing", 0, 2)
    row = stack.call_row(call_sid)
    assert row is not None
    assert (row["status"], row["duration_seconds"], row["outcome"]) == ("completed", 94, "info")
    assert row["started_at"] == T0 and row["ended_at"] == T0 + timedelta(seconds=94)
    assert stack.history(call_sid) == ["initiated", "ringing", "in-progress", "completed"]


async def test_an_earlier_status_arriving_later_still_moves_a_call_forward(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    await send(stack, call_sid, "ringing", 0, 1)
    await send(stack, call_sid, "in-progress", 2, 2)
    await send(stack, call_sid, "ringing", 0, 1)
    row = stack.call_row(call_sid)
    assert row is not None and row["status"] == "in-progress" and row["ended_at"] is None
    assert stack.history(call_sid) == ["ringing", "in-progress"]


async def test_a_repeated_status_callback_is_recorded_once(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    for _ in range(3):
        await send(stack, call_sid, "completed", 60, 3, CallDuration="60")
    assert stack.history(call_sid) == ["completed"]
    assert stack.database is not None
    assert stack.database.scalar("SELECT count(*) FROM calls WHERE call_sid = %s", [call_sid]) == 1


async def test_retries_of_one_callback_arriving_together_make_one_call(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    responses = await asyncio.gather(*[stack.sim.status(call_sid, "completed", Timestamp=at(30), CallDuration="30")
                                       for _ in range(8)])
    assert [r.status_code for r in responses] == [204] * 8
    assert stack.history(call_sid) == ["completed"]
    row = stack.call_row(call_sid)
    assert row is not None and row["duration_seconds"] == 30


async def test_a_terminal_status_is_never_replaced(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    await send(stack, call_sid, "completed", 30, 3, CallDuration="30")
    await send(stack, call_sid, "failed", 31, 4)
    row = stack.call_row(call_sid)
    assert row is not None and row["status"] == "completed" and row["ended_at"] == T0 + timedelta(seconds=30)


@pytest.mark.parametrize(("status", "outcome"), [
    ("no-answer", "abandoned"), ("busy", "abandoned"), ("canceled", "abandoned"), ("failed", "failed")])
async def test_a_call_that_ended_before_anyone_spoke_gets_an_outcome_from_its_status(
        stack: TwilioStack, status: str, outcome: str) -> None:
    call_sid = new_call_sid()
    await send(stack, call_sid, status, 5, 2)
    row = stack.call_row(call_sid)
    assert row is not None and (row["status"], row["outcome"]) == (status, outcome)


async def test_a_completed_call_without_a_bridge_record_keeps_the_outcome_it_already_has(stack: TwilioStack) -> None:
    assert stack.database is not None
    with stack.database.connect() as conn:
        conn.execute("UPDATE restaurants SET agent_enabled = false WHERE slug = 'demo-bistro'")
    call_sid = new_call_sid()
    await stack.sim.voice(call_sid)  # straight to the failover number: transferred
    await send(stack, call_sid, "completed", 40, 3, CallDuration="40")
    row = stack.call_row(call_sid)
    assert row is not None and (row["status"], row["outcome"]) == ("completed", "transferred")


async def test_a_reservation_id_the_database_does_not_know_is_ignored(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.BOOKED,
                                            restaurant_id=stack.demo_id, reservation_ids=(str(uuid4()), "junk")))
    await send(stack, call_sid, "completed", 10, 3, CallDuration="10")
    row = stack.call_row(call_sid)
    assert row is not None and row["outcome"] == "booked" and row["reservation_id"] is None


async def test_a_status_without_a_timestamp_is_recorded_at_the_time_it_arrived(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    response = await stack.sim.status(call_sid, "completed", Timestamp=None, SequenceNumber=None)
    assert response.status_code == 204, response.text
    row = stack.call_row(call_sid)
    assert row is not None and abs(row["ended_at"] - datetime.now(UTC)) < timedelta(minutes=5)


async def test_a_call_to_a_number_no_restaurant_owns_is_recorded_without_a_restaurant(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    await send(stack, call_sid, "completed", 3, 2, to="+15555550142")
    row = stack.call_row(call_sid)
    assert row is not None and row["restaurant_id"] is None and row["to_number"] == "+15555550142"


async def test_when_the_database_is_down_a_status_callback_gets_a_503_so_twilio_retries_it(
        make_stack: StackFactory) -> None:
    stack = await make_stack(database_url=DEAD_POSTGRES)
    response = await stack.sim.status(new_call_sid(), "completed")
    assert_refused(response, 503)
    assert response.headers["retry-after"]


def test_the_api_role_records_calls_but_can_never_delete_or_rewrite_them(database: TestDatabase) -> None:
    import psycopg

    call_sid = new_call_sid()
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        conn.execute("SELECT record_call_status_v1(%s, 'ringing', now())", [call_sid])
        for statement in ("DELETE FROM calls", "DELETE FROM call_status_events", "TRUNCATE calls",
                          "UPDATE call_status_events SET status = 'failed'",
                          "ALTER TABLE calls ADD COLUMN sneaky int"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT record_call_status_v1(%s, 'exploded', now())", [call_sid])
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("SELECT record_call_status_v1('not-a-sid', 'ringing', now())")
    assert database.scalar("SELECT count(*) FROM calls WHERE call_sid = %s", [call_sid]) == 1


def test_agent_hours_must_be_given_as_a_pair(database: TestDatabase) -> None:
    import psycopg

    with database.connect() as conn:
        for opens, closes in (("11:00", None), (None, "15:00"), ("11:00", "11:00")):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute("UPDATE restaurants SET agent_opens = %s, agent_closes = %s", [opens, closes])
