"""Playing Twilio in tests: form bodies shaped like Twilio's (``tests/fixtures/twilio``), signed exactly the
way Twilio signs them — with the ``twilio`` package's own ``RequestValidator.compute_signature`` over the URL
Twilio was given and every form field — and TwiML read back as XML."""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"

PUBLIC_BASE_URL = "https://frontdesk.example.com"
BRIDGE_PUBLIC_URL = "wss://bridge.example.com"
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
STREAM_SECRET = "stream-secret-for-twilio-edge-tests"
SHARED_KEY_SID = "KS0123456789abcdef0123456789abcdef"
SHARED_KEY_SECRET = "shared-key-secret-0123456789abcdef"
DEMO_NUMBER = "+15555550100"
DEMO_FAILOVER = "+15555550199"
CALLER = "+12125550123"
FORM = "application/x-www-form-urlencoded"

Params = list[tuple[str, str]]


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def fixture_params(name: str, **overrides: str | None) -> Params:
    """A Twilio webhook body from ``tests/fixtures/twilio/<name>.json`` (order kept), fields overridden
    (None removes one)."""
    doc: dict[str, str | None] = json.loads((FIXTURES / f"{name}.json").read_text())
    doc.pop("_comment", None)
    doc.update(overrides)
    return [(k, v) for k, v in doc.items() if v is not None]


def voice_params(call_sid: str, to: str = DEMO_NUMBER, from_: str = CALLER, **overrides: str | None) -> Params:
    return fixture_params("voice_incoming", CallSid=call_sid, To=to, Called=to, From=from_, Caller=from_,
                          **overrides)


def after_stream_params(call_sid: str, to: str = DEMO_NUMBER, **overrides: str | None) -> Params:
    return fixture_params("after_stream", CallSid=call_sid, To=to, Called=to, **overrides)


def after_dial_params(call_sid: str, dial_status: str, to: str = DEMO_NUMBER) -> Params:
    return fixture_params("after_dial", CallSid=call_sid, To=to, Called=to, DialCallStatus=dial_status)


def status_params(call_sid: str, status: str, to: str = DEMO_NUMBER, **overrides: str | None) -> Params:
    params = dict(fixture_params("status_completed", CallSid=call_sid, CallStatus=status, To=to, Called=to,
                                 **overrides))
    if status != "completed":
        params.pop("CallDuration", None)
    return list(params.items())


def replace(params: Iterable[tuple[str, str]], **changes: str | None) -> Params:
    """The same fields with some values changed (None removes the field)."""
    out = [(k, changes.get(k, v)) for k, v in params]
    out = [(k, v) for k, v in out if v is not None]
    present = {k for k, _ in out}
    out += [(k, v) for k, v in changes.items() if k not in present and v is not None]
    return out  # type: ignore[return-value]


def twilio_signature(url: str, params: Iterable[tuple[str, str]], token: str = AUTH_TOKEN,
                     algorithm: str | None = None) -> str:
    """What Twilio puts in X-Twilio-Signature: the twilio package's own computation (repeated fields are
    signed value by value, as Twilio does)."""

    class Multi(dict[str, list[str]]):
        def getlist(self, name: str) -> list[str]:
            return self[name]

    multi = Multi()
    for name, value in params:
        multi.setdefault(name, []).append(value)
    return RequestValidator(token).compute_signature(url, multi, algorithm)


def form_body(params: Iterable[tuple[str, str]]) -> bytes:
    return urlencode(list(params)).encode()


@dataclass
class TwilioSim:
    """Posts Twilio webhooks to ``client``, signed for ``base_url`` + path unless told otherwise."""

    client: httpx.AsyncClient
    base_url: str = PUBLIC_BASE_URL
    token: str = AUTH_TOKEN
    sent: list[httpx.Response] = field(default_factory=list)

    def headers(self, path: str, params: Params, *, sign_url: str | None = None, token: str | None = None,
                algorithm: str | None = None, settings_header: str | None = None) -> dict[str, str]:
        url = sign_url if sign_url is not None else self.base_url.rstrip("/") + path
        headers = {"Content-Type": FORM, "X-Twilio-Signature": twilio_signature(url, params, token or self.token,
                                                                                algorithm)}
        if settings_header is not None:
            headers["X-Twilio-Webhooks-Signature-Settings"] = settings_header
        return headers

    async def post(self, path: str, params: Params, *, sign_url: str | None = None, token: str | None = None,
                   algorithm: str | None = None, settings_header: str | None = None,
                   headers: Mapping[str, str | None] | None = None, body: bytes | None = None) -> httpx.Response:
        all_headers: dict[str, str | None] = dict(self.headers(path, params, sign_url=sign_url, token=token,
                                                               algorithm=algorithm, settings_header=settings_header))
        all_headers.update(headers or {})
        response = await self.client.post(path, content=body if body is not None else form_body(params),
                                          headers={k: v for k, v in all_headers.items() if v is not None})
        self.sent.append(response)
        return response

    async def voice(self, call_sid: str, **kwargs: Any) -> httpx.Response:
        return await self.post("/twilio/voice", voice_params(call_sid, **kwargs))

    async def after_stream(self, call_sid: str, **kwargs: Any) -> httpx.Response:
        return await self.post("/twilio/after-stream", after_stream_params(call_sid, **kwargs))

    async def status(self, call_sid: str, status: str, **kwargs: Any) -> httpx.Response:
        return await self.post("/twilio/status", status_params(call_sid, status, **kwargs))


# -- reading TwiML ----------------------------------------------------------------------------------------

def twiml(response: httpx.Response | str) -> ET.Element:
    """The ``<Response>`` element of a TwiML answer (checking it is one)."""
    if isinstance(response, httpx.Response):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml"), response.headers
        text = response.text
    else:
        text = response
    root = ET.fromstring(text)  # noqa: S314 - our own TwiML under test
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def only_child(element: ET.Element, tag: str) -> ET.Element:
    children = list(element)
    assert [c.tag for c in children] == [tag], f"expected only <{tag}> in <{element.tag}>, got {children}"
    return children[0]


def assert_refused(response: httpx.Response, status: int, reason: str | None = None) -> dict[str, Any]:
    """A problem document — never TwiML, never a traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    assert "<Response" not in response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if reason is not None:
        assert body["reason"] == reason, body
    return body


# -- API Gateway HTTP API events ---------------------------------------------------------------------------

def apigw_event(path: str, params: Params, headers: Mapping[str, str], *, base64_body: bool = True,
                raw_body: bytes | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event as API Gateway sends it to Lambda: form bodies base64-encoded."""
    event: dict[str, Any] = json.loads((FIXTURES / "apigw_v2_event.json").read_text())
    event.pop("_comment", None)
    body = raw_body if raw_body is not None else form_body(params)
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["headers"].update({k.lower(): v for k, v in headers.items()})
    event["isBase64Encoded"] = base64_body
    event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    event["requestContext"]["requestId"] = uuid.uuid4().hex[:16]
    return event


class LambdaContext:
    function_name = "frontdesk-dev-twilio"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:frontdesk-dev-twilio"
    aws_request_id = "5e0f3c4b-6f5a-4c1e-9d0b-0a1b2c3d4e5f"
    log_group_name = "/aws/lambda/frontdesk-dev-twilio"
    log_stream_name = "2026/12/01/[$LATEST]0123456789abcdef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000
