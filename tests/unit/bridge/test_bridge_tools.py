"""Tool execution against the booking API contract: speakable results, never exceptions."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from frontdesk_bridge.booking_api import BookingApi
from frontdesk_bridge.tools import TOOL_SPECS, CallFacts, ToolControl, ToolExecutor, normalise_phone
from frontdesk_contract.call_record import CallOutcome
from tests.doubles.fake_booking_api import FakeBookingApi


def _run(fake: FakeBookingApi, steps: list[tuple[str, Any]]) -> tuple[list[dict[str, Any]], CallFacts, list[Any]]:
    async def go() -> tuple[list[dict[str, Any]], CallFacts, list[Any]]:
        api = BookingApi("http://api", transport=fake.transport())
        facts = CallFacts(restaurant_id=fake.restaurant_id, caller="+15551230000")
        tools = ToolExecutor(api, facts, fake.restaurant(), "CA1")
        results = [await tools.run(name, args if isinstance(args, str) else orjson.dumps(args).decode())
                   for name, args in steps]
        await api.aclose()
        return [r.output for r in results], facts, results
    return asyncio.run(go())


def test_check_then_book_commits_the_held_table_with_the_callers_number() -> None:
    fake = FakeBookingApi()
    outputs, facts, _ = _run(fake, [("check_availability", {"date": "2026-12-05", "time": "19:00", "party_size": 4}),
                                    ("book_reservation", {"guest_name": "Ana"})])
    assert outputs[0]["available"] is True and outputs[0]["spoken"] == "Saturday, December 5 at 7 PM"
    assert outputs[1]["booked"] is True
    commit = fake.calls_to("/reservations/commit")[0][2]
    assert commit["guest_phone"] == "+15551230000" and commit["hold_id"] and commit["idempotency_key"]
    assert facts.outcome() is CallOutcome.BOOKED and facts.hold is None


def test_a_full_time_answers_with_the_reason_and_spoken_alternates() -> None:
    outputs, facts, _ = _run(FakeBookingApi(full_times={"19:00"}),
                             [("check_availability", {"date": "2026-12-05", "time": "19:00", "party_size": 4})])
    assert outputs[0]["available"] is False and outputs[0]["reason"] == "full"
    assert outputs[0]["message"] == ("We're fully booked at that time. "
                                     "I could offer 8 PM or 9 PM on Saturday, December 5.")
    assert facts.hold is None


@pytest.mark.parametrize(("name", "args", "fragment"), [
    ("check_availability", {"date": "tomorrow", "time": "19:00", "party_size": 4}, "date"),
    ("check_availability", {"date": "2026-12-05", "time": "25:00", "party_size": 4}, "time"),
    ("check_availability", {"date": "2026-12-05", "time": "19:00", "party_size": 0}, "party_size"),
    ("check_availability", "{not json", "didn't catch"),
    ("check_availability", "[1]", "didn't catch"),
    ("book_reservation", {"guest_name": "Ana"}, "No table is held"),
    ("cancel_reservation", {"reservation_id": "made-up"}, "looked up"),
    ("launch_rockets", {}, "no tool"),
])
def test_bad_arguments_and_missing_steps_become_speakable_messages(name: str, args: Any, fragment: str) -> None:
    outputs, _, _ = _run(FakeBookingApi(), [(name, args)])
    assert outputs[0]["ok"] is False
    assert fragment.lower() in outputs[0]["message"].lower()


def test_the_booking_api_being_down_is_spoken_not_raised() -> None:
    outputs, _, _ = _run(FakeBookingApi(down=True),
                         [("check_availability", {"date": "2026-12-05", "time": "19:00", "party_size": 2})])
    assert outputs[0]["reason"] == "system_unavailable" and "transfer" in outputs[0]["message"]


def test_find_then_modify_and_cancel_only_reservations_looked_up_on_this_call() -> None:
    fake = FakeBookingApi()
    outputs, _, _ = _run(fake, [
        ("check_availability", {"date": "2026-12-05", "time": "19:00", "party_size": 4}),
        ("book_reservation", {"guest_name": "Ana"}),
        ("find_reservations", {}),
    ])
    rid = outputs[2]["reservations"][0]["reservation_id"]
    fake2_outputs, _, _ = _run(fake, [("find_reservations", {}),
                                      ("modify_reservation", {"reservation_id": rid, "time": "20:00"}),
                                      ("cancel_reservation", {"reservation_id": rid})])
    assert fake2_outputs[1]["modified"] is True
    patch = fake.calls_to(f"/reservations/{rid}")[0]
    assert patch[0] == "PATCH" and patch[2] == {"local_date": "2026-12-05", "local_time": "20:00"}
    assert fake2_outputs[2]["cancelled"] is True


def test_transfer_and_end_call_return_control_decisions() -> None:
    _, _, results = _run(FakeBookingApi(), [("transfer_to_host", {"reason": "allergy question"}), ("end_call", {})])
    assert results[0].control is ToolControl.TRANSFER and results[0].reason == "allergy question"
    assert results[1].control is ToolControl.END_CALL


@pytest.mark.parametrize(("raw", "expected"), [
    (None, "+15551230000"), ("", "+15551230000"), ("555 987 6543", "+15559876543"),
    ("+44 20 7946 0958", "+442079460958"), ("1-555-987-6543", "+15559876543"), ("12", None),
])
def test_phone_numbers_are_normalised_to_e164(raw: str | None, expected: str | None) -> None:
    assert normalise_phone(raw, "+15551230000") == expected


def test_every_tool_schema_is_a_closed_json_schema_object() -> None:
    names = [t.name for t in TOOL_SPECS]
    assert names == ["get_restaurant_info", "check_availability", "book_reservation", "find_reservations",
                     "cancel_reservation", "modify_reservation", "transfer_to_host", "end_call"]
    for tool in TOOL_SPECS:
        assert tool.parameters["type"] == "object" and tool.parameters["additionalProperties"] is False


def test_facts_survive_a_round_trip_through_the_record_context() -> None:
    facts = CallFacts(restaurant_id="r", caller="+1", guest_name="Ana", party_size=4, booked=["x"],
                      hold={"hold_id": "h", "local_date": "2026-12-05", "local_time": "19:00", "party_size": 4})
    again = CallFacts(restaurant_id="r", caller="+1")
    again.restore(orjson.loads(orjson.dumps(facts.to_context())))
    assert again.to_context() == facts.to_context()
    assert "Ana" in again.summary() and "19:00" in again.summary()
