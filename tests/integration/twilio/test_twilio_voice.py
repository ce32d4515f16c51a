"""POST /twilio/voice: a call comes in. Streamed to the AI with a signed per-call token, or sent to the
restaurant's failover number, or told the number is not in service — never silence."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from frontdesk_contract.stream_token import (
    MAX_TTL_SECONDS,
    StreamTokenExpired,
    StreamTokenInvalid,
    StreamTokenWrongCall,
    verify_stream_token,
)
from tests.integration.twilio.conftest import DEAD_POSTGRES, Clock, StackFactory, TwilioStack
from tests.integration.twilio.twilio_sim import (
    BRIDGE_PUBLIC_URL,
    CALLER,
    DEMO_FAILOVER,
    PUBLIC_BASE_URL,
    STREAM_SECRET,
    assert_refused,
    new_call_sid,
    only_child,
    twiml,
    verbs,
)
from tests.support.databases import TestDatabase, drop_database

pytestmark = pytest.mark.anyio

NEW_YORK = ZoneInfo("America/New_York")


def stream_parameters(root) -> dict[str, str]:  # type: ignore[no-untyped-def]
    connect = only_child(root, "Connect")
    stream = connect.find("Stream")
    assert stream is not None
    return {p.attrib["name"]: p.attrib["value"] for p in stream}


def set_agent_hours(database: TestDatabase, opens: str | None, closes: str | None, *,
                    enabled: bool = True, failover: str | None = DEMO_FAILOVER) -> None:
    with database.connect() as conn:
        conn.execute("UPDATE restaurants SET agent_opens = %s, agent_closes = %s, agent_enabled = %s,"
                     " failover_number = %s WHERE slug = 'demo-bistro'", [opens, closes, enabled, failover])


def assert_dials_failover(response, *, say: bool = False) -> None:  # type: ignore[no-untyped-def]
    root = twiml(response)
    assert verbs(root) == (["Say", "Dial"] if say else ["Dial"])
    dial = root.find("Dial")
    assert dial is not None
    assert dial.attrib["action"] == f"{PUBLIC_BASE_URL}/twilio/after-stream"
    assert dial.attrib["method"] == "POST"
    assert dial.attrib["answerOnBridge"] == "true"
    assert 10 <= int(dial.attrib["timeout"]) <= 60
    number = only_child(dial, "Number")
    assert number.text == DEMO_FAILOVER


async def test_a_call_to_the_demo_bistro_is_streamed_to_the_bridge_with_a_signed_token(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    response = await stack.sim.voice(call_sid)

    root = twiml(response)
    assert response.headers["cache-control"] == "no-store"
    connect = only_child(root, "Connect")
    assert connect.attrib == {"action": f"{PUBLIC_BASE_URL}/twilio/after-stream", "method": "POST"}
    stream = only_child(connect, "Stream")
    assert stream.attrib == {"url": f"{BRIDGE_PUBLIC_URL}/ws/twilio-stream"}
    assert "?" not in stream.attrib["url"]
    parameters = list(stream)
    assert [p.tag for p in parameters] == ["Parameter"] * 3
    assert all(set(p.attrib) == {"name", "value"} and len(p) == 0 for p in parameters)
    values = {p.attrib["name"]: p.attrib["value"] for p in parameters}
    assert list(values) == ["token", "restaurant_id", "caller"]
    assert values["restaurant_id"] == stack.demo_id
    assert values["caller"] == CALLER

    claims = verify_stream_token(STREAM_SECRET, values["token"], call_sid, stack.clock())
    assert (claims.restaurant_id, claims.call_sid, claims.caller) == (stack.demo_id, call_sid, CALLER)
    assert stack.clock() < claims.expires_at <= stack.clock() + MAX_TTL_SECONDS


async def test_the_stream_token_is_refused_for_another_call(stack: TwilioStack) -> None:
    token = stream_parameters(twiml(await stack.sim.voice(new_call_sid())))["token"]
    with pytest.raises(StreamTokenWrongCall):
        verify_stream_token(STREAM_SECRET, token, new_call_sid(), stack.clock())


async def test_the_stream_token_expires_within_two_minutes(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    token = stream_parameters(twiml(await stack.sim.voice(call_sid)))["token"]
    verify_stream_token(STREAM_SECRET, token, call_sid, stack.clock() + 30)
    with pytest.raises(StreamTokenExpired):
        verify_stream_token(STREAM_SECRET, token, call_sid, stack.clock() + MAX_TTL_SECONDS)


async def test_a_tampered_stream_token_is_refused(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    token = stream_parameters(twiml(await stack.sim.voice(call_sid)))["token"]
    payload, signature = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for forged in (f"{flipped}.{signature}", f"{payload}.{signature[::-1]}", f"{payload}.", token + "x"):
        with pytest.raises(StreamTokenInvalid):
            verify_stream_token(STREAM_SECRET, forged, call_sid, stack.clock())
    with pytest.raises(StreamTokenInvalid):
        verify_stream_token("another secret", token, call_sid, stack.clock())


async def test_base_urls_with_trailing_slashes_still_give_clean_urls(make_stack: StackFactory) -> None:
    stack = await make_stack(public_base_url=PUBLIC_BASE_URL + "/", bridge_public_url=BRIDGE_PUBLIC_URL + "/")
    connect = only_child(twiml(await stack.sim.voice(new_call_sid())), "Connect")
    assert connect.attrib["action"] == f"{PUBLIC_BASE_URL}/twilio/after-stream"
    assert only_child(connect, "Stream").attrib["url"] == f"{BRIDGE_PUBLIC_URL}/ws/twilio-stream"


async def test_a_call_to_a_number_no_restaurant_owns_hears_a_short_message_and_is_hung_up(
        stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    root = twiml(await stack.sim.voice(call_sid, to="+15555550142"))
    assert verbs(root) == ["Say", "Hangup"]
    say = root.find("Say")
    assert say is not None and say.text and "not in service" in say.text
    assert len(say.text) < 80
    row = stack.call_row(call_sid)
    assert row is not None and row["restaurant_id"] is None and row["outcome"] == "failed"


async def test_a_restaurant_with_the_agent_switched_off_rings_its_failover_number(stack: TwilioStack) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, None, None, enabled=False)
    call_sid = new_call_sid()
    assert_dials_failover(await stack.sim.voice(call_sid))
    row = stack.call_row(call_sid)
    assert row is not None and row["outcome"] == "transferred"


async def test_outside_agent_hours_the_call_rings_the_failover_number(stack: TwilioStack) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, "11:00", "15:00")
    stack.clock.set_utc(datetime(2026, 12, 1, 20, 0, tzinfo=NEW_YORK))
    assert_dials_failover(await stack.sim.voice(new_call_sid()))


async def test_inside_agent_hours_the_call_is_streamed(stack: TwilioStack) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, "11:00", "15:00")
    stack.clock.set_utc(datetime(2026, 12, 1, 11, 0, tzinfo=NEW_YORK))
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Connect"]
    stack.clock.set_utc(datetime(2026, 12, 1, 15, 0, tzinfo=NEW_YORK))
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Dial"]


@pytest.mark.parametrize(("local", "streamed"), [
    (time(23, 30), True), (time(2, 0), True), (time(6, 59), True), (time(7, 0), False), (time(12, 0), False)])
async def test_agent_hours_that_run_past_midnight_cover_the_small_hours(
        stack: TwilioStack, local: time, streamed: bool) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, "22:00", "07:00")
    stack.clock.set_utc(datetime(2026, 12, 2, local.hour, local.minute, tzinfo=NEW_YORK))
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == (["Connect"] if streamed else ["Dial"])


async def test_agent_hours_follow_the_restaurant_clock_across_daylight_saving(stack: TwilioStack) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, "11:00", "15:00")
    # 15:30 UTC is 11:30 in New York in summer (EDT) and 10:30 in winter (EST).
    stack.clock.set_utc(datetime.fromisoformat("2026-07-01T15:30:00+00:00"))
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Connect"]
    stack.clock.set_utc(datetime.fromisoformat("2026-12-01T15:30:00+00:00"))
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Dial"]


async def test_agent_off_without_a_failover_number_apologises_and_hangs_up(stack: TwilioStack) -> None:
    assert stack.database is not None
    set_agent_hours(stack.database, None, None, enabled=False, failover=None)
    root = twiml(await stack.sim.voice(new_call_sid()))
    assert verbs(root) == ["Say", "Hangup"]
    say = root.find("Say")
    assert say is not None and say.text and "call again later" in say.text


async def test_without_a_stream_token_secret_calls_go_to_the_failover_number(make_stack: StackFactory) -> None:
    stack = await make_stack(stream_token_secret=None)
    assert_dials_failover(await stack.sim.voice(new_call_sid()))


async def test_an_answered_call_is_recorded_as_ringing_with_its_restaurant(stack: TwilioStack) -> None:
    call_sid = new_call_sid()
    twiml(await stack.sim.voice(call_sid))
    row = stack.call_row(call_sid)
    assert row is not None
    assert (row["status"], str(row["restaurant_id"]), row["from_number"], row["to_number"], row["outcome"]) == (
        "ringing", stack.demo_id, CALLER, "+15555550100", None)
    assert stack.history(call_sid) == ["ringing"]


async def test_when_the_database_goes_down_a_number_already_seen_is_still_answered(
        make_stack: StackFactory, database: TestDatabase) -> None:
    route_clock = Clock(now=1000.0)
    stack = await make_stack(route_clock=route_clock)
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Connect"]
    drop_database(database.name)  # the database is gone (connections killed, reconnects refused)
    route_clock.now += 600  # well past the routing cache's freshness, within its stale window
    assert verbs(twiml(await stack.sim.voice(new_call_sid()))) == ["Connect"]


async def test_when_the_database_is_down_and_the_number_is_unknown_to_the_process_twilio_gets_a_503(
        make_stack: StackFactory) -> None:
    stack = await make_stack(database_url=DEAD_POSTGRES)
    response = await stack.sim.voice(new_call_sid())
    assert_refused(response, 503)
    assert response.headers["retry-after"]
