"""The TwiML the webhooks render, checked against what Twilio accepts (only verbs and attributes Twilio
documents, values escaped, a stream URL without a query string), and the decision rules that choose it."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time

import pytest

from frontdesk.twilio_edge import decisions, phrases
from frontdesk.twilio_edge.decisions import Action, CallRoute, Reply
from frontdesk.twilio_edge.twiml import render
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState

AFTER = "https://frontdesk.example.com/twilio/after-stream"
STREAM = "wss://bridge.example.com/ws/twilio-stream"

# Verb/noun → attributes Twilio documents for it (the subset we may use).
ALLOWED: dict[str, set[str]] = {
    "Response": set(),
    "Connect": {"action", "method"},
    "Stream": {"url", "name", "track", "statusCallback", "statusCallbackMethod"},
    "Parameter": {"name", "value"},
    "Dial": {"action", "method", "timeout", "answerOnBridge", "callerId", "timeLimit", "hangupOnStar",
             "record", "ringTone"},
    "Number": {"sendDigits", "url", "method", "statusCallback", "statusCallbackEvent", "statusCallbackMethod"},
    "Say": {"voice", "language", "loop"},
    "Hangup": set(),
}
CHILDREN: dict[str, set[str]] = {"Response": {"Connect", "Dial", "Say", "Hangup"}, "Connect": {"Stream"},
                                 "Stream": {"Parameter"}, "Dial": {"Number"}, "Number": set(), "Say": set(),
                                 "Hangup": set(), "Parameter": set()}


def parse(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml)  # noqa: S314 - our own TwiML under test
    for element in root.iter():
        assert element.tag in ALLOWED, element.tag
        assert set(element.attrib) <= ALLOWED[element.tag], (element.tag, element.attrib)
        assert {child.tag for child in element} <= CHILDREN[element.tag], element.tag
    return root


def route(**changes: object) -> CallRoute:
    values: dict[str, object] = {"restaurant_id": uuid.uuid4(), "name": "Bistro", "timezone": "Europe/Paris",
                                 "failover_number": "+33123456789", "agent_enabled": True}
    values.update(changes)
    return CallRoute(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("reply", [
    Reply(Action.STREAM),
    Reply(Action.DIAL, number="+33123456789"),
    Reply(Action.DIAL, say=phrases.APOLOGY_CONNECTING, number="+33123456789"),
    Reply(Action.SAY_HANGUP, say=phrases.NOT_IN_SERVICE),
    Reply(Action.HANGUP),
], ids=lambda r: f"{r.action.value}{'-say' if r.say else ''}")
def test_every_reply_renders_as_twiml_twilio_accepts(reply: Reply) -> None:
    root = parse(render(reply, after_url=AFTER, stream_url=STREAM,
                        parameters={"token": "a.b", "restaurant_id": "r", "caller": "+1"}))
    assert root.tag == "Response"


def test_parameter_values_are_escaped_and_round_trip() -> None:
    awkward = {"token": 'a"b<c>&d', "restaurant_id": "r'1", "caller": "anonymous <sip:x@y>"}
    root = parse(render(Reply(Action.STREAM), after_url=AFTER, stream_url=STREAM, parameters=awkward))
    assert {p.attrib["name"]: p.attrib["value"] for p in root.iter("Parameter")} == awkward


def test_a_stream_reply_cannot_be_rendered_without_a_stream_url() -> None:
    with pytest.raises(ValueError, match="stream URL"):
        render(Reply(Action.STREAM), after_url=AFTER)
    with pytest.raises(ValueError, match="number"):
        render(Reply(Action.DIAL), after_url=AFTER)


@pytest.mark.parametrize("bridge", ["wss://b.example.com/?token=x", "https://b.example.com", "wss://b.example.com#x",
                                    "b.example.com", ""])
def test_a_bridge_url_that_cannot_be_a_media_streams_url_is_never_used(bridge: str) -> None:
    from frontdesk.config import Settings
    from frontdesk.twilio_edge.runtime import TwilioEdge

    edge = TwilioEdge.from_settings(Settings(bridge_public_url=bridge))
    assert edge.stream_url is None
    good = TwilioEdge.from_settings(Settings(bridge_public_url="wss://b.example.com/voice/"))
    assert good.stream_url == "wss://b.example.com/voice/ws/twilio-stream"


def test_every_spoken_sentence_is_short_and_complete() -> None:
    sentences = [v for k, v in vars(phrases).items() if k.isupper() and isinstance(v, str)]
    assert len(sentences) >= 6
    for sentence in sentences:
        assert 10 < len(sentence) < 160 and sentence.rstrip()[-1] in ".!", sentence


# -- the decisions ------------------------------------------------------------------------------------------

NOON_PARIS = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)


def test_an_unknown_number_is_turned_away_with_words() -> None:
    reply = decisions.answer(None, NOON_PARIS, can_stream=True)
    assert (reply.action, reply.say, reply.outcome) == (Action.SAY_HANGUP, phrases.NOT_IN_SERVICE,
                                                        CallOutcome.FAILED)


@pytest.mark.parametrize(("changes", "can_stream", "expected"), [
    ({}, True, Action.STREAM),
    ({}, False, Action.DIAL),
    ({"agent_enabled": False}, True, Action.DIAL),
    ({"agent_opens": time(13), "agent_closes": time(15)}, True, Action.DIAL),
    ({"agent_opens": time(12), "agent_closes": time(13)}, True, Action.STREAM),   # noon in Paris
    ({"agent_opens": time(22), "agent_closes": time(12)}, True, Action.DIAL),    # closes exactly at noon
    ({"agent_opens": time(12), "agent_closes": time(2)}, True, Action.STREAM),   # past midnight, opens at noon
    ({"agent_enabled": False, "failover_number": None}, True, Action.SAY_HANGUP),
    ({"failover_number": None}, False, Action.SAY_HANGUP),
])
def test_the_voice_decision(changes: dict[str, object], can_stream: bool, expected: Action) -> None:
    reply = decisions.answer(route(**changes), NOON_PARIS, can_stream=can_stream)
    assert reply.action is expected, reply.why
    if expected is Action.DIAL:
        assert reply.number == "+33123456789" and reply.outcome is CallOutcome.TRANSFERRED
    if expected is Action.SAY_HANGUP:
        assert reply.say == phrases.CANNOT_TAKE_CALL


def test_after_stream_looks_up_the_restaurant_only_when_it_needs_a_number() -> None:
    lookups: list[int] = []

    def lookup() -> CallRoute:
        lookups.append(1)
        return route()

    done = CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.INFO, restaurant_id="r")
    assert decisions.after_stream(done, lookup).action is Action.HANGUP
    assert lookups == []
    assert decisions.after_stream(None, lookup).action is Action.DIAL
    assert lookups == [1]


def test_after_a_failover_dial_nobody_answered_the_caller_is_told_and_never_redialled() -> None:
    for status in ("busy", "no-answer", "failed", "canceled"):
        reply = decisions.after_dial(status)
        assert (reply.action, reply.say) == (Action.SAY_HANGUP, phrases.NOBODY_ANSWERED)
    assert decisions.after_dial("completed").action is Action.HANGUP


def test_the_reservation_linked_to_a_call_is_the_last_one_it_touched() -> None:
    first, last = uuid.uuid4(), uuid.uuid4()
    record = CallRecord(state=CallState.COMPLETED, restaurant_id="r", reservation_ids=(str(first), str(last), "x"))
    assert decisions.reservation_of(record) == last
    assert decisions.reservation_of(None) is None
