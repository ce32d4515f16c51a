"""Twilio Media Streams messages: the type table, garbage handling and outbound frames."""

from __future__ import annotations

import orjson
import pytest

from frontdesk_bridge.twilio_wire import (
    INBOUND,
    Dtmf,
    Mark,
    Media,
    OutboundFrames,
    Start,
    Stop,
    TwilioWireError,
    UnknownEvent,
    is_base64,
    parse_inbound,
)


def test_every_inbound_event_has_a_class_in_the_table() -> None:
    assert set(INBOUND) == {"connected", "start", "media", "mark", "dtmf", "stop"}


def test_start_carries_the_call_and_custom_parameters() -> None:
    msg = parse_inbound(orjson.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "accountSid": "AC1", "callSid": "CA1", "customParameters": {"token": "t", "n": 5},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}))
    assert isinstance(msg, Start)
    assert (msg.call_sid, msg.stream_sid, msg.custom_parameters) == ("CA1", "MZ1", {"token": "t"})


def test_media_dtmf_mark_stop_parse() -> None:
    assert parse_inbound('{"event":"media","media":{"payload":"//8=","timestamp":"20"}}') == Media("//8=", "20")
    assert parse_inbound('{"event":"dtmf","dtmf":{"digit":"0"}}') == Dtmf("0")
    assert parse_inbound('{"event":"mark","mark":{"name":"m1"}}') == Mark("m1")
    assert isinstance(parse_inbound('{"event":"stop","stop":{"callSid":"CA1"}}'), Stop)


def test_unknown_events_come_back_as_unknown_not_errors() -> None:
    assert parse_inbound('{"event":"brand-new"}') == UnknownEvent("brand-new")


@pytest.mark.parametrize("raw", [b"", b"nope", b"[]", b'{"no":"event"}', b'{"event":1}',
                                 b'{"event":"media"}', b'{"event":"media","media":{"payload":"a\\"b"}}',
                                 b'{"event":"start","start":{"callSid":"CA1"}}',
                                 b'{"event":"start","start":{"streamSid":"MZ\\u0000","callSid":"CA1"}}',
                                 b'{"event":"dtmf","dtmf":{"digit":"00"}}', b'{"event":"mark","mark":[]}',
                                 b"\xff\xfe"])
def test_garbage_raises_a_wire_error(raw: bytes) -> None:
    with pytest.raises(TwilioWireError):
        parse_inbound(raw)


def test_outbound_frames_are_exactly_twilios_shapes() -> None:
    frames = OutboundFrames("MZ1")
    assert orjson.loads(frames.media(b"//8=")) == {"event": "media", "streamSid": "MZ1", "media": {"payload": "//8="}}
    assert orjson.loads(frames.mark("m7")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "m7"}}
    assert orjson.loads(frames.clear()) == {"event": "clear", "streamSid": "MZ1"}


def test_base64_shape_check_rejects_quotes_and_non_ascii() -> None:
    assert is_base64("QUJD") and is_base64("QQ==") and is_base64("")
    assert not is_base64('QU"JD') and not is_base64("é") and not is_base64("QQ===")
