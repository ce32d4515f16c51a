"""Whole calls across both halves: the webhook answers, the REAL bridge (with the Twilio caller simulator, the
fake Realtime server and the real booking API) takes the stream with the token the webhook issued, records how
the call ended, and the webhook acts on that record and writes the call down."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk_contract.call_record import CallState
from tests.doubles.bridge_harness import STREAM_SECRET as BRIDGE_STREAM_SECRET
from tests.doubles.bridge_harness import BridgeHarness
from tests.doubles.twilio_caller import TwilioCaller
from tests.integration.twilio.conftest import StackFactory
from tests.integration.twilio.twilio_sim import DEMO_FAILOVER, DEMO_NUMBER, new_call_sid, twiml, verbs

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def answer(stack: Any, harness: BridgeHarness, call_sid: str) -> TwilioCaller:
    """Twilio's part: ask the webhook, then open the stream it names with the parameters it gives."""
    stream = twiml(await stack.sim.voice(call_sid)).find("Connect/Stream")
    assert stream is not None
    assert stream.attrib["url"] == harness.url
    params = {p.attrib["name"]: p.attrib["value"] for p in stream.findall("Parameter")}
    caller = TwilioCaller(stream.attrib["url"], call_sid=call_sid)
    harness.callers[call_sid] = caller
    await caller.connect()
    await caller.start(params["token"], params["restaurant_id"], params["caller"])
    return caller


def bridge_base(harness: BridgeHarness) -> str:
    return harness.url.removesuffix("/ws/twilio-stream")


async def test_a_call_the_webhook_answers_is_taken_by_the_bridge_and_hung_up_when_the_caller_leaves(
        booking_api: Any, make_stack: StackFactory, redis_prefix: str) -> None:
    async with BridgeHarness(booking_url=booking_api.url, redis_prefix=redis_prefix) as harness:
        stack = await make_stack(stream_token_secret=BRIDGE_STREAM_SECRET, bridge_public_url=bridge_base(harness))
        call_sid = new_call_sid()
        caller = await answer(stack, harness, call_sid)
        model = await harness.model.next_session()  # the bridge accepted the token and opened a model session
        await model.wait_for("session.update")
        assert "Demo Bistro" in model.session_config["instructions"]
        await caller.stop()
        record = await harness.wait_record(call_sid, lambda r: r.state is not CallState.ACTIVE)
        assert record.state is CallState.COMPLETED and record.restaurant_id == booking_api.restaurant_id
        assert verbs(twiml(await stack.sim.after_stream(call_sid))) == ["Hangup"]
        assert (await stack.sim.status(call_sid, "completed")).status_code == 204
        row = stack.call_row(call_sid)
        assert row is not None
        assert (row["status"], row["outcome"], str(row["restaurant_id"])) == (
            "completed", record.outcome.value if record.outcome else None, booking_api.restaurant_id)


async def test_a_stream_the_bridge_refuses_sends_the_caller_to_the_restaurant(
        booking_api: Any, make_stack: StackFactory, redis_prefix: str) -> None:
    async with BridgeHarness(booking_url=booking_api.url, redis_prefix=redis_prefix) as harness:
        # The webhook signs with a key the bridge does not share (a botched rotation, say).
        stack = await make_stack(stream_token_secret="not the bridge's key", bridge_public_url=bridge_base(harness))
        call_sid = new_call_sid()
        caller = await answer(stack, harness, call_sid)
        await caller.wait_closed()
        assert harness.model.sessions == []  # refused before any model session opened
        root = twiml(await stack.sim.after_stream(call_sid))
        assert verbs(root) == ["Say", "Dial"]
        number = root.find("Dial/Number")
        assert number is not None and number.text == DEMO_FAILOVER


async def test_when_the_model_is_lost_the_bridge_transfers_to_the_failover_number_not_back_to_the_ai(
        booking_api: Any, make_stack: StackFactory, redis_prefix: str) -> None:
    async with BridgeHarness(booking_url=booking_api.url, redis_prefix=redis_prefix) as harness:
        stack = await make_stack(stream_token_secret=BRIDGE_STREAM_SECRET, bridge_public_url=bridge_base(harness))
        call_sid = new_call_sid()
        await answer(stack, harness, call_sid)
        model = await harness.model.next_session()
        harness.model.refuse = True
        await model.drop()
        update = await harness.twilio.wait_for_update(within=6)
        assert update.twiml is not None
        assert f">{DEMO_NUMBER}<" not in update.twiml
        assert f">{DEMO_FAILOVER}<" in update.twiml
