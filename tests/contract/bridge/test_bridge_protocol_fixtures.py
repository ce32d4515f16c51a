"""The shared protocol fixtures against our wire code and the strict GA validator."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from frontdesk_bridge.realtime.openai_ga import parse_server_event
from frontdesk_bridge.realtime.provider import UnknownModelEvent
from frontdesk_bridge.twilio_wire import Dtmf, Mark, Media, OutboundFrames, Start, Stop, parse_inbound
from tests.doubles.audio import jsonl
from tests.doubles.realtime_validation import ClientEventInvalid, validate_client_event

CLIENT = jsonl("openai_realtime_ga_client_events.jsonl")
SERVER = jsonl("openai_realtime_ga_server_events.jsonl")


@pytest.mark.parametrize("event", CLIENT, ids=[e["type"] for e in CLIENT])
def test_every_ga_client_fixture_validates_strictly(event: dict[str, Any]) -> None:
    validate_client_event(event)


def _session_update() -> dict[str, Any]:
    return copy.deepcopy(next(e for e in CLIENT if e["type"] == "session.update"))


def _with(path: list[str | int], key: str, value: Any) -> dict[str, Any]:
    event = _session_update()
    node: Any = event
    for step in path:
        node = node[step]
    node[key] = value
    return event


@pytest.mark.parametrize(("event", "why"), [
    ({**CLIENT[1], "extra": 1}, "extra top-level field"),
    (_with(["session"], "modalities", ["audio"]), "beta session field"),
    (_with(["session"], "input_audio_format", "g711_ulaw"), "beta audio format field"),
    (_with(["session"], "voice", "alloy"), "beta voice placement"),
    (_with(["session", "audio", "input", "format"], "rate", 8000), "extra field three levels down"),
    (_with(["session", "audio", "input", "turn_detection"], "bogus", True), "extra field in turn detection"),
    (_with(["session", "tools", 0], "strict", True), "extra field in a tool"),
    (_with(["session", "audio", "output", "format"], "type", "g711_ulaw"), "beta format name"),
    (_with(["session"], "type", "transcription_session"), "beta session type"),
    ({"type": "transcription_session.update", "session": {}}, "beta event type"),
    ({"type": "conversation.item.truncate", "item_id": "i", "content_index": 0, "audio_end_ms": "1200"},
     "string where an integer belongs"),
    ({"type": "response.create", "response": {"modalities": ["audio"]}}, "beta response field"),
    ({"type": "input_audio_buffer.append"}, "missing audio"),
    ({"type": "not.an.event"}, "unknown type"),
])
def test_the_validator_rejects_anything_outside_the_ga_protocol(event: dict[str, Any], why: str) -> None:
    with pytest.raises(ClientEventInvalid):
        validate_client_event(event)


@pytest.mark.parametrize("event", SERVER, ids=[e["type"] for e in SERVER])
def test_every_ga_server_fixture_is_handled_by_the_adapter(event: dict[str, Any]) -> None:
    parsed = parse_server_event(orjson.dumps(event))
    if event["type"] == "response.output_audio.delta":
        assert isinstance(parsed, UnknownModelEvent)  # the fixture's delta is a placeholder, not base64
    else:
        assert not isinstance(parsed, UnknownModelEvent)


def test_the_twilio_inbound_fixture_parses_message_by_message() -> None:
    kinds: dict[type, int] = {}
    for line in jsonl("twilio_media_stream_inbound.jsonl"):
        if line["event"] == "connected":
            continue
        msg = parse_inbound(orjson.dumps(line))
        kinds[type(msg)] = kinds.get(type(msg), 0) + 1
        if isinstance(msg, Media):
            assert msg.payload == line["media"]["payload"]
    assert kinds == {Start: 1, Media: 337, Dtmf: 1, Mark: 1, Stop: 1}


def test_our_outbound_frames_match_the_twilio_outbound_examples() -> None:
    examples = {e["event"]: e for e in jsonl("twilio_media_stream_outbound_examples.jsonl")}
    frames = OutboundFrames(examples["media"]["streamSid"])
    payload = "//8="
    assert orjson.loads(frames.media(payload.encode())) == {**examples["media"], "media": {"payload": payload}}
    assert orjson.loads(frames.mark("item_1:3")) == examples["mark"]
    assert orjson.loads(frames.clear()) == examples["clear"]
