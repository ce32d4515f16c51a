"""The webhook and the realtime bridge agree: what ``/twilio/voice`` answers is a stream the bridge accepts, and
what the bridge records is what ``/twilio/after-stream`` reads. Both sides use the contract package; these tests
put the two real implementations face to face (the webhook over small in-memory fakes of its stores)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import time as dtime
from typing import Any

import httpx
import orjson
import pytest

from frontdesk.api import twilio
from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.twilio_edge.decisions import CallRoute
from frontdesk.twilio_edge.runtime import TwilioEdge
from frontdesk.twilio_edge.twiml import STREAM_PATH
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState
from frontdesk_contract.stream_token import verify_stream_token
from tests.integration.twilio.twilio_sim import (
    AUTH_TOKEN,
    BRIDGE_PUBLIC_URL,
    CALLER,
    DEMO_FAILOVER,
    DEMO_NUMBER,
    PUBLIC_BASE_URL,
    STREAM_SECRET,
    TwilioSim,
    new_call_sid,
    twiml,
    verbs,
)
from tests.support.databases import REDIS_URL

pytestmark = pytest.mark.anyio

RESTAURANT = uuid.UUID("6f9619ff-8b86-d011-b42d-00cf4fc964ff")


class FakeCallStore:
    """The webhook's call store, in memory: one restaurant on the demo number."""

    def __init__(self, route: CallRoute | None) -> None:
        self.route = route
        self.statuses: list[tuple[str, str, dict[str, Any]]] = []

    def route_for_number(self, number: str) -> CallRoute | None:
        return self.route if number == DEMO_NUMBER else None

    def record_status(self, call_sid: str, status: str, **fields: Any) -> dict[str, Any]:
        self.statuses.append((call_sid, status, fields))
        return {}

    def close(self) -> None:
        return None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def webhook(redis_prefix: str) -> AsyncIterator[tuple[TwilioSim, FakeCallStore]]:
    """The real webhook app; its database is the fake above, its Redis the real one under this test's prefix."""
    settings = Settings(public_base_url=PUBLIC_BASE_URL, bridge_public_url=BRIDGE_PUBLIC_URL,
                        twilio_auth_token=AUTH_TOKEN, stream_token_secret=STREAM_SECRET, redis_url=REDIS_URL,
                        redis_key_prefix=redis_prefix, database_url="postgresql://unused@127.0.0.1:1/unused")
    store = FakeCallStore(CallRoute(RESTAURANT, "Contract Bistro", "Europe/Paris", DEMO_FAILOVER, True,
                                    dtime(0, 0), dtime(23, 59)))
    app = create_app(routers=[twilio.router], services=lambda: type("S", (), {"settings": settings})())
    app.state.twilio_edge = TwilioEdge.from_settings(
        settings, calls=lambda: store)  # type: ignore[arg-type, return-value]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield TwilioSim(client), store
    app.state.twilio_edge.close()


async def test_the_stream_the_webhook_asks_for_is_one_the_bridge_accepts(
        webhook: tuple[TwilioSim, FakeCallStore]) -> None:
    from frontdesk_bridge.server import STREAM_PATH as BRIDGE_STREAM_PATH
    from frontdesk_bridge.twilio_wire import Start, parse_inbound

    sim, _ = webhook
    call_sid = new_call_sid()
    stream = twiml(await sim.voice(call_sid)).find("Connect/Stream")
    assert stream is not None
    assert stream.attrib["url"] == BRIDGE_PUBLIC_URL + BRIDGE_STREAM_PATH
    assert STREAM_PATH == BRIDGE_STREAM_PATH
    custom = {p.attrib["name"]: p.attrib["value"] for p in stream.findall("Parameter")}

    # What Twilio sends the bridge once the stream opens: the <Parameter>s as start.customParameters.
    stream_sid = "MZ" + uuid.uuid4().hex
    frame = orjson.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": {
        "streamSid": stream_sid, "accountSid": "AC" + "0" * 32, "callSid": call_sid, "tracks": ["inbound"],
        "customParameters": custom, "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})
    start = parse_inbound(frame)
    assert isinstance(start, Start)
    assert start.custom_parameters == custom
    # ... and what the bridge checks before it opens a model session (frontdesk_bridge.session._authenticate).
    claims = verify_stream_token(STREAM_SECRET, start.custom_parameters["token"], start.call_sid, time.time())
    assert claims.restaurant_id == start.custom_parameters["restaurant_id"] == str(RESTAURANT)
    assert claims.caller == start.custom_parameters["caller"] == CALLER


@pytest.mark.parametrize(("state", "outcome", "expected"), [
    (CallState.COMPLETED, CallOutcome.BOOKED, ["Hangup"]),
    (CallState.COMPLETED, CallOutcome.ABANDONED, ["Hangup"]),
    (CallState.TRANSFER, CallOutcome.TRANSFERRED, ["Say", "Dial"]),
    (CallState.TRANSFER, CallOutcome.FAILED, ["Say", "Dial"]),
    (CallState.ACTIVE, None, ["Say", "Dial"]),
])
async def test_a_record_the_bridge_saves_is_the_one_after_stream_acts_on(
        webhook: tuple[TwilioSim, FakeCallStore], redis_prefix: str, state: CallState,
        outcome: CallOutcome | None, expected: list[str]) -> None:
    from frontdesk_bridge.call_store import RedisCallStore

    sim, store = webhook
    call_sid = new_call_sid()
    bridge_store = RedisCallStore(REDIS_URL, redis_prefix)
    try:
        saved = await bridge_store.save(call_sid, CallRecord(
            state=state, outcome=outcome, restaurant_id=str(RESTAURANT), reason="contract",
            reservation_ids=(str(uuid.uuid4()),), call_sid=call_sid, caller=CALLER, context={"party_size": 2}))
        assert saved
    finally:
        await bridge_store.aclose()
    root = twiml(await sim.after_stream(call_sid))
    assert verbs(root) == expected
    if expected == ["Hangup"]:
        assert store.statuses == []
    else:
        assert store.statuses[-1][2]["outcome"] == (outcome or CallOutcome.TRANSFERRED).value


async def test_a_record_the_bridge_could_not_save_means_a_person_takes_the_call(
        webhook: tuple[TwilioSim, FakeCallStore]) -> None:
    sim, _ = webhook
    assert verbs(twiml(await sim.after_stream(new_call_sid()))) == ["Say", "Dial"]
