"""POST /twilio/after-stream: the stream ended. The bridge's call-outcome record (written here with the contract
module's encoder, under this test's Redis prefix) decides: hang up only when the bridge marked the call
completed; otherwise a short sentence and the restaurant's failover number — or, with no number, an apology and
a hang-up. The same URL ends the failover dial, which never dials again."""

from __future__ import annotations

import pytest

from frontdesk.twilio_edge import phrases
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState
from tests.integration.twilio.conftest import DEAD_REDIS, StackFactory, TwilioStack
from tests.integration.twilio.twilio_sim import (
    DEMO_FAILOVER,
    PUBLIC_BASE_URL,
    after_dial_params,
    new_call_sid,
    only_child,
    twiml,
    verbs,
)
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.anyio


def record(stack: TwilioStack, state: CallState, outcome: CallOutcome | None, **fields: object) -> CallRecord:
    return CallRecord(state=state, outcome=outcome, restaurant_id=stack.demo_id, **fields)  # type: ignore[arg-type]


def said(root) -> str:  # type: ignore[no-untyped-def]
    say = root.find("Say")
    assert say is not None and say.text
    return str(say.text)


def assert_connects_to_the_restaurant(response, sentence: str) -> None:  # type: ignore[no-untyped-def]
    root = twiml(response)
    assert verbs(root) == ["Say", "Dial"]
    assert said(root) == sentence
    dial = root.find("Dial")
    assert dial is not None
    assert dial.attrib["action"] == f"{PUBLIC_BASE_URL}/twilio/after-stream"
    assert dial.attrib["answerOnBridge"] == "true"
    assert only_child(dial, "Number").text == DEMO_FAILOVER


def remove_failover(database: TestDatabase) -> None:
    with database.connect() as conn:
        conn.execute("UPDATE restaurants SET failover_number = NULL WHERE slug = 'demo-bistro'")


@pytest.mark.parametrize("outcome", list(CallOutcome))
async def test_a_call_the_bridge_completed_is_hung_up_whatever_its_outcome(
        stack: TwilioStack, outcome: CallOutcome) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, record(stack, CallState.COMPLETED, outcome, reason="end_call"))
    root = twiml(await stack.sim.after_stream(call_sid))
    assert verbs(root) == ["Hangup"]
    assert len(root.find("Hangup")) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize(("outcome", "sentence"), [
    (CallOutcome.TRANSFERRED, phrases.CONNECTING),
    (CallOutcome.FAILED, phrases.APOLOGY_CONNECTING),
    (CallOutcome.BOOKED, phrases.APOLOGY_CONNECTING),
    (None, phrases.APOLOGY_CONNECTING),
])
async def test_a_call_the_bridge_marked_for_transfer_goes_to_the_restaurant(
        stack: TwilioStack, outcome: CallOutcome | None, sentence: str) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, record(stack, CallState.TRANSFER, outcome, reason="transfer_requested"))
    assert_connects_to_the_restaurant(await stack.sim.after_stream(call_sid), sentence)


@pytest.mark.parametrize("outcome", [None, *CallOutcome])
async def test_a_stream_that_ended_while_the_bridge_still_said_active_goes_to_the_restaurant(
        stack: TwilioStack, outcome: CallOutcome | None) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, record(stack, CallState.ACTIVE, outcome))
    assert_connects_to_the_restaurant(await stack.sim.after_stream(call_sid), phrases.APOLOGY_CONNECTING)


async def test_a_stream_that_ended_without_any_record_goes_to_the_restaurant(stack: TwilioStack) -> None:
    assert_connects_to_the_restaurant(await stack.sim.after_stream(new_call_sid()), phrases.APOLOGY_CONNECTING)


@pytest.mark.parametrize("raw", [b"not json", b"{}", b'{"state":"exploded","restaurant_id":"x"}', b"\xff\xfe"])
async def test_an_unreadable_record_sends_the_caller_to_the_restaurant(stack: TwilioStack, raw: bytes) -> None:
    call_sid = new_call_sid()
    stack.write_record(call_sid, raw)
    assert_connects_to_the_restaurant(await stack.sim.after_stream(call_sid), phrases.APOLOGY_CONNECTING)


async def test_when_redis_is_down_the_caller_goes_to_the_restaurant(make_stack: StackFactory) -> None:
    stack = await make_stack(redis_url=DEAD_REDIS)
    assert_connects_to_the_restaurant(await stack.sim.after_stream(new_call_sid()), phrases.APOLOGY_CONNECTING)


async def test_a_restaurant_without_a_failover_number_gets_an_apology_and_a_hang_up_never_silence(
        stack: TwilioStack) -> None:
    assert stack.database is not None
    remove_failover(stack.database)
    for state in (CallState.TRANSFER, CallState.ACTIVE, None):
        call_sid = new_call_sid()
        if state is not None:
            stack.write_record(call_sid, record(stack, state, CallOutcome.FAILED))
        root = twiml(await stack.sim.after_stream(call_sid))
        assert verbs(root) == ["Say", "Hangup"]
        assert said(root) == phrases.APOLOGY_NO_ONE


async def test_a_completed_call_is_hung_up_even_when_the_database_is_down(make_stack: StackFactory) -> None:
    from tests.integration.twilio.conftest import DEAD_POSTGRES

    stack = await make_stack(database_url=DEAD_POSTGRES)
    call_sid = new_call_sid()
    stack.write_record(call_sid, CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.BOOKED,
                                            restaurant_id="00000000-0000-0000-0000-000000000000"))
    assert verbs(twiml(await stack.sim.after_stream(call_sid))) == ["Hangup"]


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
async def test_a_failover_dial_nobody_answered_ends_with_an_apology_not_another_dial(
        stack: TwilioStack, dial_status: str) -> None:
    call_sid = new_call_sid()
    root = twiml(await stack.sim.post("/twilio/after-stream", after_dial_params(call_sid, dial_status)))
    assert verbs(root) == ["Say", "Hangup"]
    assert said(root) == phrases.NOBODY_ANSWERED


@pytest.mark.parametrize("dial_status", ["completed", "answered"])
async def test_a_failover_dial_the_restaurant_answered_just_hangs_up(stack: TwilioStack, dial_status: str) -> None:
    root = twiml(await stack.sim.post("/twilio/after-stream", after_dial_params(new_call_sid(), dial_status)))
    assert verbs(root) == ["Hangup"]


async def test_a_transfer_decided_after_the_stream_is_recorded_on_the_call(stack: TwilioStack) -> None:
    no_record, model_lost = new_call_sid(), new_call_sid()
    stack.write_record(model_lost, record(stack, CallState.TRANSFER, CallOutcome.FAILED, reason="model_lost"))
    await stack.sim.after_stream(no_record)
    await stack.sim.after_stream(model_lost)
    row = stack.call_row(no_record)
    assert row is not None
    assert (row["outcome"], row["status"], str(row["restaurant_id"])) == ("transferred", "in-progress", stack.demo_id)
    row = stack.call_row(model_lost)
    assert row is not None and row["outcome"] == "failed"
