"""Garbage on every Twilio route is a 4xx problem document — never a 500, never a traceback, never TwiML.
Field errors (422) are only reported for requests Twilio signed: nobody else learns what we expect."""

from __future__ import annotations

import pytest

from tests.integration.twilio.conftest import TwilioStack
from tests.integration.twilio.twilio_sim import (
    FORM,
    after_stream_params,
    assert_refused,
    form_body,
    new_call_sid,
    replace,
    status_params,
    voice_params,
)

pytestmark = pytest.mark.anyio

PATHS = {
    "/twilio/voice": voice_params,
    "/twilio/after-stream": after_stream_params,
    "/twilio/status": lambda sid: status_params(sid, "completed"),
}
ALL = pytest.mark.parametrize("path", list(PATHS))


@ALL
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", None])
async def test_a_body_that_is_not_a_form_is_refused_with_415(
        offline_stack: TwilioStack, path: str, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await offline_stack.client.post(path, content=b'{"CallSid": "CA00"}', headers=headers)
    assert_refused(response, 415, "unsupported_media_type")


@ALL
@pytest.mark.parametrize("body", [b"hello world", b'{"CallSid":"x"}', b"CallSid=%ff%fe", b"\xff\xfe\x00",
                                  b"CallSid=CA1&&To=2", b"CallSid=CA%00", b"&".join([b"a=1"] * 500)],
                         ids=["words", "json", "bad-percent-utf8", "binary", "empty-field", "nul", "too-many-fields"])
async def test_a_form_body_that_does_not_parse_is_refused_with_400(
        offline_stack: TwilioStack, path: str, body: bytes) -> None:
    response = await offline_stack.client.post(path, content=body, headers={"Content-Type": FORM})
    assert_refused(response, 400, "malformed_form")


@ALL
async def test_a_signed_request_without_a_call_sid_is_refused_with_422(offline_stack: TwilioStack, path: str) -> None:
    params = replace(PATHS[path](new_call_sid()), CallSid=None)
    body = assert_refused(await offline_stack.sim.post(path, params), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["body.CallSid"]
    assert body["errors"][0]["pointer"] == "/CallSid"


@ALL
@pytest.mark.parametrize("call_sid", ["", "CA123", "XX0123456789abcdef0123456789abcdef", "CA" + "g" * 32,
                                      "CA0123456789abcdef0123456789abcdef\n"])
async def test_a_malformed_call_sid_is_refused_with_422(offline_stack: TwilioStack, path: str, call_sid: str) -> None:
    params = replace(PATHS[path](new_call_sid()), CallSid=call_sid)
    assert_refused(await offline_stack.sim.post(path, params), 422, "validation_failed")


@ALL
async def test_a_repeated_call_sid_is_refused_with_422(offline_stack: TwilioStack, path: str) -> None:
    params = [*PATHS[path](new_call_sid()), ("CallSid", new_call_sid())]
    body = assert_refused(await offline_stack.sim.post(path, params), 422, "validation_failed")
    assert body["errors"][0]["field"] == "body.CallSid"


@pytest.mark.parametrize(("field", "value"), [
    ("CallDuration", "ninety"), ("CallDuration", "-1"), ("CallDuration", "1.5"), ("Timestamp", "yesterday"),
    ("SequenceNumber", "x"), ("CallStatus", "exploded"), ("CallStatus", ""), ("From", "+1\t555"),
    ("To", "+1" * 100)])
async def test_wrong_types_in_a_status_callback_are_refused_with_422(
        offline_stack: TwilioStack, field: str, value: str) -> None:
    params = replace(status_params(new_call_sid(), "completed"), **{field: value})
    body = assert_refused(await offline_stack.sim.post("/twilio/status", params), 422, "validation_failed")
    assert body["errors"][0]["field"] == f"body.{field}"
    assert value not in body["detail"] or value == ""


async def test_a_call_without_a_called_number_is_refused_with_422(offline_stack: TwilioStack) -> None:
    params = replace(voice_params(new_call_sid()), To="")
    assert_refused(await offline_stack.sim.post("/twilio/voice", params), 422)


@pytest.mark.parametrize("value", ["ringing", "maybe"])
async def test_an_unknown_dial_status_is_refused_with_422(offline_stack: TwilioStack, value: str) -> None:
    params = [*after_stream_params(new_call_sid()), ("DialCallStatus", value)]
    assert_refused(await offline_stack.sim.post("/twilio/after-stream", params), 422)


@ALL
async def test_unsigned_garbage_gets_a_403_before_any_field_is_examined(offline_stack: TwilioStack, path: str) -> None:
    response = await offline_stack.client.post(path, content=b"CallSid=nonsense", headers={"Content-Type": FORM})
    body = assert_refused(response, 403, "invalid_signature")
    assert "errors" not in body


@ALL
async def test_get_is_not_allowed(offline_stack: TwilioStack, path: str) -> None:
    assert_refused(await offline_stack.client.get(path), 405)


@ALL
async def test_an_oversized_body_is_refused_with_413(offline_stack: TwilioStack, path: str) -> None:
    params = [*PATHS[path](new_call_sid()), ("Padding", "x" * 70_000)]
    assert_refused(await offline_stack.sim.post(path, params), 413)


async def test_extra_fields_twilio_adds_in_future_are_signed_and_ignored(stack: TwilioStack) -> None:
    params = [*voice_params(new_call_sid()), ("SomethingNew", "1"), ("Empty", "")]
    response = await stack.sim.post("/twilio/voice", params)
    assert response.status_code == 200


async def test_a_form_with_a_charset_parameter_is_a_form(stack: TwilioStack) -> None:
    params = voice_params(new_call_sid())
    headers = stack.sim.headers("/twilio/voice", params)
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
    response = await stack.client.post("/twilio/voice", content=form_body(params), headers=headers)
    assert response.status_code == 200
