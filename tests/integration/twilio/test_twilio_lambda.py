"""The Twilio Lambda function (``frontdesk.handlers.twilio.handler``) invoked the way API Gateway invokes it:
HTTP API payload 2.0 events with base64-encoded form bodies, settings from the environment and every secret
(database, Twilio auth token, stream-token key) in Secrets Manager (moto) — what runs in AWS. Each test gets
a freshly imported handler module, as a new execution environment would."""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from frontdesk_contract.stream_token import verify_stream_token
from tests.integration.twilio.twilio_sim import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BRIDGE_PUBLIC_URL,
    PUBLIC_BASE_URL,
    STREAM_SECRET,
    LambdaContext,
    Params,
    apigw_event,
    form_body,
    new_call_sid,
    replace,
    status_params,
    twilio_signature,
    twiml,
    verbs,
    voice_params,
)
from tests.support.databases import REDIS_URL, TestDatabase

PLAIN_SETTINGS = ("DATABASE_URL", "TWILIO_AUTH_TOKEN", "STREAM_TOKEN_SECRET", "ALLOW_UNSIGNED_TWILIO",
                  "DATABASE_PROXY_HOST")


@dataclass
class TwilioFunction:
    module: ModuleType
    secrets: Any  # boto3 Secrets Manager client (moto)
    twilio_secret_arn: str
    database: TestDatabase

    def invoke(self, path: str, params: Params, *, token: str = AUTH_TOKEN, sign_url: str | None = None,
               base64_body: bool = True, headers: dict[str, str] | None = None) -> dict[str, Any]:
        signature = twilio_signature(sign_url or PUBLIC_BASE_URL + path, params, token)
        event = apigw_event(path, params, {"x-twilio-signature": signature, **(headers or {})},
                            base64_body=base64_body)
        result: dict[str, Any] = self.module.handler(event, LambdaContext())
        return result

    def replay(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.module.handler(event, LambdaContext())
        return result


def body_of(result: dict[str, Any]) -> str:
    raw = result.get("body") or ""
    return base64.b64decode(raw).decode() if result.get("isBase64Encoded") else raw


def header(result: dict[str, Any], name: str) -> str:
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return str(headers.get(name, ""))


@pytest.fixture
def twilio_function(database: TestDatabase, redis_prefix: str,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioFunction]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from frontdesk import config, wiring

    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "STAGE": "dev", "REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": redis_prefix,
           "DATABASE_SSLMODE": "disable", "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
           "BRIDGE_PUBLIC_URL": BRIDGE_PUBLIC_URL, "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
           "POWERTOOLS_METRICS_NAMESPACE": "FrontDesk"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in PLAIN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    module: ModuleType | None = None
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")

        def secret(kind: str, value: str) -> str:
            return str(secrets.create_secret(Name=f"frontdesk/test/{database.name}/{kind}", SecretString=value)["ARN"])

        monkeypatch.setenv("DATABASE_SECRET_ARN", secret("db", json.dumps({
            "engine": "postgres", "host": "127.0.0.1", "port": 5432, "dbname": database.name,
            "username": "app_user", "password": ""})))
        twilio_arn = secret("twilio-auth-token", AUTH_TOKEN)
        monkeypatch.setenv("TWILIO_SECRET_ARN", twilio_arn)
        monkeypatch.setenv("STREAM_TOKEN_SECRET_ARN", secret("stream-token-key", STREAM_SECRET))
        config.get_settings.cache_clear()
        monkeypatch.setattr(wiring, "_services", None)
        parameters.clear_caches()  # a new execution environment starts with empty caches
        try:
            module = importlib.reload(importlib.import_module("frontdesk.handlers.twilio"))
            yield TwilioFunction(module, secrets, twilio_arn, database)
        finally:
            edge = getattr(module.app.state, "twilio_edge", None) if module is not None else None
            if edge is not None:
                edge.close()
            if wiring._services is not None:
                wiring._services.store.close()
            config.get_settings.cache_clear()
            parameters.clear_caches()


def test_the_function_answers_a_voice_webhook_from_api_gateway_with_a_base64_form_body(
        twilio_function: TwilioFunction) -> None:
    call_sid = new_call_sid()
    result = twilio_function.invoke("/twilio/voice", voice_params(call_sid))
    assert result["statusCode"] == 200, body_of(result)
    assert header(result, "content-type").startswith("text/xml")
    root = twiml(body_of(result))
    assert verbs(root) == ["Connect"]
    connect = root.find("Connect")
    assert connect is not None and connect.attrib["action"] == f"{PUBLIC_BASE_URL}/twilio/after-stream"
    stream = connect.find("Stream")
    assert stream is not None and stream.attrib["url"] == f"{BRIDGE_PUBLIC_URL}/ws/twilio-stream"
    token = {p.attrib["name"]: p.attrib["value"] for p in stream}["token"]
    # signed with the stream-token key from Secrets Manager, for this call
    import time

    assert verify_stream_token(STREAM_SECRET, token, call_sid, time.time()).call_sid == call_sid


def test_a_plain_text_form_body_is_answered_too(twilio_function: TwilioFunction) -> None:
    result = twilio_function.invoke("/twilio/voice", voice_params(new_call_sid()), base64_body=False)
    assert result["statusCode"] == 200, body_of(result)


def test_the_function_refuses_a_tampered_body_with_403_and_no_twiml(twilio_function: TwilioFunction) -> None:
    params = voice_params(new_call_sid())
    event = apigw_event("/twilio/voice", params,
                        {"x-twilio-signature": twilio_signature(PUBLIC_BASE_URL + "/twilio/voice", params)})
    event["body"] = base64.b64encode(form_body(replace(params, From="+19995550000"))).decode()
    result = twilio_function.replay(event)
    assert result["statusCode"] == 403
    assert header(result, "content-type").startswith("application/problem+json")
    assert "<Response" not in body_of(result)
    assert json.loads(body_of(result))["request_id"] == event["requestContext"]["requestId"]


def test_the_function_verifies_the_public_url_not_the_host_api_gateway_was_reached_on(
        twilio_function: TwilioFunction) -> None:
    params = voice_params(new_call_sid())
    event = apigw_event("/twilio/voice", params, {})
    rewritten = f"https://{event['requestContext']['domainName']}/twilio/voice"
    assert twilio_function.invoke("/twilio/voice", params, sign_url=rewritten)["statusCode"] == 403


def test_a_status_callback_through_the_function_is_recorded_once_when_twilio_retries_it(
        twilio_function: TwilioFunction) -> None:
    call_sid = new_call_sid()
    params = status_params(call_sid, "completed")
    event = apigw_event("/twilio/status", params,
                        {"x-twilio-signature": twilio_signature(PUBLIC_BASE_URL + "/twilio/status", params)})
    assert [twilio_function.replay(event)["statusCode"] for _ in range(3)] == [204, 204, 204]
    rows = twilio_function.database.rows(
        "SELECT c.status, c.duration_seconds, count(e.*) FROM calls c JOIN call_status_events e ON e.call_id = c.id"
        " WHERE c.call_sid = %s GROUP BY c.id", [call_sid])
    assert rows == [("completed", 94, 1)]


def test_the_after_stream_webhook_through_the_function_sends_a_call_without_a_record_to_a_person(
        twilio_function: TwilioFunction) -> None:
    from tests.integration.twilio.twilio_sim import after_stream_params

    result = twilio_function.invoke("/twilio/after-stream", after_stream_params(new_call_sid()))
    assert result["statusCode"] == 200
    assert verbs(twiml(body_of(result))) == ["Say", "Dial"]


def test_a_rotated_auth_token_is_picked_up_from_secrets_manager_without_a_restart(
        twilio_function: TwilioFunction) -> None:
    new_token = "fedcba9876543210fedcba9876543210"
    assert twilio_function.invoke("/twilio/voice", voice_params(new_call_sid()))["statusCode"] == 200
    twilio_function.secrets.put_secret_value(SecretId=twilio_function.twilio_secret_arn, SecretString=new_token)
    # Until Twilio signs with the new token, the cached one keeps verifying (no fetch per call) ...
    assert twilio_function.invoke("/twilio/voice", voice_params(new_call_sid()))["statusCode"] == 200
    # ... the first request signed with the new token makes the function fetch it again ...
    assert twilio_function.invoke("/twilio/voice", voice_params(new_call_sid()), token=new_token)["statusCode"] == 200
    # ... after which the old one is refused (and no second fetch is made for it right away).
    assert twilio_function.invoke("/twilio/voice", voice_params(new_call_sid()))["statusCode"] == 403


def test_the_function_serves_exactly_the_twilio_routes(twilio_function: TwilioFunction) -> None:
    paths = twilio_function.module.app.openapi()["paths"]
    assert {path: sorted(ops) for path, ops in paths.items()} == {
        "/twilio/voice": ["post"], "/twilio/after-stream": ["post"], "/twilio/status": ["post"],
        "/twilio/sms": ["post"], "/twilio/sms-status": ["post"]}
    voice = paths["/twilio/voice"]["post"]
    assert list(voice["requestBody"]["content"]) == ["application/x-www-form-urlencoded"]
    assert "text/xml" in voice["responses"]["200"]["content"]


def test_the_function_refuses_to_start_with_unsigned_webhooks_in_prod(
        twilio_function: TwilioFunction, monkeypatch: pytest.MonkeyPatch) -> None:
    from frontdesk import config

    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("ALLOW_UNSIGNED_TWILIO", "true")
    config.get_settings.cache_clear()
    with pytest.raises(ValueError, match="ALLOW_UNSIGNED_TWILIO=true is refused when STAGE=prod"):
        importlib.reload(twilio_function.module)


def test_the_function_takes_signed_sms_receipts_and_refuses_unsigned_ones(twilio_function: TwilioFunction) -> None:
    receipt = [("MessageSid", "SM" + "e" * 32), ("MessageStatus", "delivered"), ("AccountSid", ACCOUNT_SID)]
    # A sid the outbox does not know: answered so Twilio stops retrying, and ignored.
    assert twilio_function.invoke("/twilio/sms-status", receipt)["statusCode"] == 200
    assert twilio_function.invoke("/twilio/sms-status", receipt, token="f" * 32)["statusCode"] == 403
