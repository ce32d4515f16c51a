"""The OpenAI Realtime GA adapter: server events through the type table, client events built strictly."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from frontdesk_bridge.realtime.openai_ga import (
    IGNORED,
    SERVER_EVENTS,
    OpenAIRealtimeConnection,
    parse_server_event,
    session_update_event,
)
from frontdesk_bridge.realtime.provider import (
    AudioDelta,
    FunctionCallDone,
    IdleTimeout,
    ModelError,
    ResponseDone,
    SessionConfig,
    SpeechStarted,
    UnknownModelEvent,
)
from frontdesk_bridge.tools import TOOL_SPECS
from tests.doubles.realtime_validation import validate_client_event


def test_audio_delta_keeps_the_payload_bytes_unchanged() -> None:
    ev = parse_server_event(b'{"type":"response.output_audio.delta","response_id":"r","item_id":"i",'
                            b'"output_index":0,"content_index":0,"delta":"//8="}')
    assert ev == AudioDelta(response_id="r", item_id="i", payload=b"//8=")


def test_known_events_map_to_typed_events_and_ignored_ones_to_nothing() -> None:
    assert isinstance(parse_server_event('{"type":"input_audio_buffer.speech_started","item_id":"i"}'), SpeechStarted)
    assert parse_server_event('{"type":"response.done","response":{"id":"r","status":"cancelled"}}') == \
        ResponseDone("r", "cancelled")
    assert isinstance(parse_server_event('{"type":"input_audio_buffer.timeout_triggered"}'), IdleTimeout)
    fc = parse_server_event('{"type":"response.function_call_arguments.done","response_id":"r","item_id":"i",'
                            '"call_id":"c","name":"end_call","arguments":"{}"}')
    assert fc == FunctionCallDone("r", "i", "c", "end_call", "{}")
    assert parse_server_event('{"type":"rate_limits.updated","rate_limits":[]}') is None
    assert not set(SERVER_EVENTS) & IGNORED


def test_beta_names_garbage_and_malformed_events_are_unknown_not_fatal() -> None:
    for raw in ['{"type":"response.audio.delta","delta":"AA=="}', "nope", "[]", '{"x":1}',
                '{"type":"response.output_audio.delta","delta":"not base64!"}',
                '{"type":"response.created"}']:
        assert isinstance(parse_server_event(raw), UnknownModelEvent)


def test_errors_are_typed() -> None:
    ev = parse_server_event('{"type":"error","error":{"type":"invalid_request_error",'
                            '"code":"conversation_already_has_active_response","message":"busy"}}')
    assert ev == ModelError("conversation_already_has_active_response", "busy")


class _RecordingWs:
    """Stands in for a websockets connection: both the ``send()`` path and the Sans-I/O hot path."""

    def __init__(self) -> None:
        from websockets.protocol import State

        self.frames: list[bytes] = []
        self.protocol = self
        self.transport = self
        self.state = State.OPEN

    async def send(self, frame: bytes, text: bool = False) -> None:
        assert text is True  # the Realtime API takes text frames
        self.frames.append(frame)

    def send_text(self, frame: bytes) -> None:
        self.frames.append(frame)

    def data_to_send(self) -> list[bytes]:
        return []

    def get_write_buffer_size(self) -> int:
        return 0


def test_every_client_event_the_adapter_sends_is_valid_ga_with_no_extra_fields() -> None:
    async def scenario() -> list[dict[str, Any]]:
        ws = _RecordingWs()
        conn = OpenAIRealtimeConnection(ws)
        await conn.update_session(SessionConfig(instructions="hi", voice="marin", tools=TOOL_SPECS))
        await conn.send_audio("//8=")
        await conn.send_function_output("call_1", '{"ok":true}')
        await conn.create_response()
        await conn.create_response("Say goodbye.")
        await conn.cancel_response()
        await conn.truncate("item_1", 1200)
        await conn.add_system_note("resume")
        return [orjson.loads(f) for f in ws.frames]

    events = asyncio.run(scenario())
    for event in events:
        validate_client_event(event)
    assert events[1] == {"type": "input_audio_buffer.append", "audio": "//8="}


def test_the_session_update_is_ga_realtime_with_pcmu_both_ways_and_server_vad() -> None:
    event = session_update_event(SessionConfig(instructions="x", voice="marin", tools=TOOL_SPECS))
    session = event["session"]
    assert session["type"] == "realtime"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session["audio"]["output"]["voice"] == "marin"
    assert len(session["tools"]) == len(TOOL_SPECS)
