"""X-Twilio-Signature on all three webhooks: computed here exactly as Twilio does (the twilio package's own
RequestValidator.compute_signature) for the URL Twilio was given — PUBLIC_BASE_URL + the path — and every
form field. Anything else is a 403 problem document, never TwiML."""

from __future__ import annotations

import json

import pytest

from frontdesk.config import Settings
from tests.integration.twilio.conftest import StackFactory, TwilioStack
from tests.integration.twilio.twilio_sim import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SHARED_KEY_SECRET,
    SHARED_KEY_SID,
    after_stream_params,
    assert_refused,
    form_body,
    new_call_sid,
    replace,
    status_params,
    twilio_signature,
    twiml,
    voice_params,
)

pytestmark = pytest.mark.anyio

PATHS = {
    "/twilio/voice": voice_params,
    "/twilio/after-stream": after_stream_params,
    "/twilio/status": lambda sid: status_params(sid, "completed"),
}


def ok(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in (200, 204), response.text


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_request_signed_for_the_public_url_is_served(stack: TwilioStack, path: str) -> None:
    ok(await stack.sim.post(path, PATHS[path](new_call_sid())))


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_tampered_parameter_is_refused_with_403_and_no_twiml(stack: TwilioStack, path: str) -> None:
    params = PATHS[path](new_call_sid())
    headers = stack.sim.headers(path, params)
    tampered = replace(params, From="+19995550000")
    response = await stack.client.post(path, content=form_body(tampered), headers=headers)
    assert_refused(response, 403, "invalid_signature")


async def test_a_field_we_never_read_is_still_covered_by_the_signature(stack: TwilioStack) -> None:
    params = voice_params(new_call_sid())
    headers = stack.sim.headers("/twilio/voice", params)
    for tampered in (replace(params, CallerCity="ELSEWHERE"), replace(params, StirVerstat=None),
                     [*params, ("Extra", "1")]):
        response = await stack.client.post("/twilio/voice", content=form_body(tampered), headers=headers)
        assert_refused(response, 403, "invalid_signature")


@pytest.mark.parametrize("signed_url", [
    "http://frontdesk.example.com/twilio/voice",             # scheme
    "https://evil.example.com/twilio/voice",                 # host
    "https://frontdesk.example.com/twilio/voice/",           # trailing slash
    "https://frontdesk.example.com/prod/twilio/voice",       # an API Gateway stage prefix
    "http://testserver/twilio/voice",                        # the URL as the app sees it behind the proxy
    "https://frontdesk.example.com/twilio/voice?x=1",        # a query Twilio was not given
], ids=["scheme", "host", "trailing-slash", "stage-prefix", "rewritten-url", "query"])
async def test_a_signature_for_another_url_is_refused(stack: TwilioStack, signed_url: str) -> None:
    response = await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), sign_url=signed_url)
    assert_refused(response, 403, "invalid_signature")


async def test_the_explicit_default_port_is_the_same_url(stack: TwilioStack) -> None:
    ok(await stack.sim.post("/twilio/voice", voice_params(new_call_sid()),
                            sign_url="https://frontdesk.example.com:443/twilio/voice"))


@pytest.mark.parametrize("signature", [None, "", "not base64 at all", "A" * 5000])
async def test_a_missing_or_malformed_signature_is_refused(stack: TwilioStack, signature: str | None) -> None:
    response = await stack.sim.post("/twilio/voice", voice_params(new_call_sid()),
                                    headers={"X-Twilio-Signature": signature})
    assert_refused(response, 403, "invalid_signature")


@pytest.mark.parametrize(("signed_for", "sent_to"), [
    ("/twilio/voice", "/twilio/status"), ("/twilio/voice", "/twilio/after-stream"),
    ("/twilio/after-stream", "/twilio/voice"), ("/twilio/status", "/twilio/after-stream")])
async def test_a_valid_signature_replayed_to_another_path_is_refused(
        stack: TwilioStack, signed_for: str, sent_to: str) -> None:
    call_sid = new_call_sid()
    params = status_params(call_sid, "completed")
    headers = stack.sim.headers(signed_for, params)
    response = await stack.client.post(sent_to, content=form_body(params), headers=headers)
    assert_refused(response, 403, "invalid_signature")


async def test_a_signature_made_with_another_auth_token_is_refused(stack: TwilioStack) -> None:
    response = await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), token="f" * 32)
    assert_refused(response, 403, "invalid_signature")


async def test_a_public_base_url_with_a_trailing_slash_still_verifies(make_stack: StackFactory) -> None:
    stack = await make_stack(public_base_url=PUBLIC_BASE_URL + "/")
    ok(await stack.sim.post("/twilio/voice", voice_params(new_call_sid())))


async def test_a_public_base_url_with_a_path_prefix_is_what_gets_verified(make_stack: StackFactory) -> None:
    stack = await make_stack(public_base_url="https://api.example.com/frontdesk")
    params = voice_params(new_call_sid())
    ok(await stack.sim.post("/twilio/voice", params, sign_url="https://api.example.com/frontdesk/twilio/voice"))
    assert_refused(await stack.sim.post("/twilio/voice", params, sign_url="https://api.example.com/twilio/voice"),
                   403)


# -- SharedKey signing (HMAC-SHA256), as the twilio package supports it -----------------------------------

SHARED = json.dumps({"auth_token": AUTH_TOKEN, "shared_keys": {SHARED_KEY_SID: SHARED_KEY_SECRET}})
SHA256_SETTINGS = f"key={SHARED_KEY_SID},algorithm=HMAC_SHA256"


async def test_a_sharedkey_hmac_sha256_signature_is_accepted(make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token=SHARED)
    call_sid = new_call_sid()
    response = await stack.sim.post("/twilio/voice", voice_params(call_sid), token=SHARED_KEY_SECRET,
                                    algorithm="HMAC_SHA256", settings_header=SHA256_SETTINGS)
    assert twiml(response).find("Connect") is not None


async def test_a_sharedkey_signature_is_refused_when_tampered_or_for_an_unknown_key(make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token=SHARED)
    params = voice_params(new_call_sid())
    headers = stack.sim.headers("/twilio/voice", params, token=SHARED_KEY_SECRET, algorithm="HMAC_SHA256",
                                settings_header=SHA256_SETTINGS)
    response = await stack.client.post("/twilio/voice", content=form_body(replace(params, To="+15555550101")),
                                       headers=headers)
    assert_refused(response, 403)
    unknown = await stack.sim.post("/twilio/voice", params, token="some other secret", algorithm="HMAC_SHA256",
                                   settings_header="key=KSffffffffffffffffffffffffffffffff,algorithm=HMAC_SHA256")
    assert_refused(unknown, 403)


async def test_a_sha256_signature_is_only_accepted_when_twilio_says_so_in_the_settings_header(
        make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token=SHARED)
    response = await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), token=SHARED_KEY_SECRET,
                                    algorithm="HMAC_SHA256")
    assert_refused(response, 403)


async def test_an_unsupported_signature_algorithm_is_refused(make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token=SHARED)
    params = voice_params(new_call_sid())
    headers = stack.sim.headers("/twilio/voice", params, token=SHARED_KEY_SECRET, algorithm="HMAC_SHA256")
    headers["X-Twilio-Webhooks-Signature-Settings"] = f"key={SHARED_KEY_SID},algorithm=HMAC_SHA512"
    assert_refused(await stack.client.post("/twilio/voice", content=form_body(params), headers=headers), 403)


async def test_the_secondary_auth_token_also_verifies_while_it_is_being_promoted(make_stack: StackFactory) -> None:
    secondary = "fedcba9876543210fedcba9876543210"
    stack = await make_stack(twilio_auth_token=json.dumps({"auth_token": AUTH_TOKEN,
                                                           "secondary_auth_token": secondary}))
    ok(await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), token=secondary))
    ok(await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), token=AUTH_TOKEN))


async def test_a_request_signed_for_another_twilio_account_is_refused(stack: TwilioStack) -> None:
    params = voice_params(new_call_sid(), AccountSid="AC" + "f" * 32)
    assert_refused(await stack.sim.post("/twilio/voice", params), 403, "invalid_signature")
    assert ACCOUNT_SID != "AC" + "f" * 32


# -- the unsigned escape hatch, and configuration mistakes -------------------------------------------------

async def test_unsigned_requests_are_served_only_when_allow_unsigned_twilio_is_set(make_stack: StackFactory) -> None:
    unsigned = {"X-Twilio-Signature": None}
    strict = await make_stack()
    assert_refused(await strict.sim.post("/twilio/voice", voice_params(new_call_sid()), headers=unsigned), 403)
    relaxed = await make_stack(allow_unsigned_twilio=True, stage="dev")
    response = await relaxed.sim.post("/twilio/voice", voice_params(new_call_sid()), headers=unsigned)
    assert twiml(response).find("Connect") is not None


def test_unsigned_webhooks_are_refused_by_the_settings_in_prod() -> None:
    with pytest.raises(ValueError, match="ALLOW_UNSIGNED_TWILIO"):
        Settings(stage="prod", allow_unsigned_twilio=True)
    assert Settings(stage="prod", allow_unsigned_twilio=False).allow_unsigned_twilio is False


async def test_without_twilio_credentials_the_webhooks_answer_503_and_never_serve_unsigned(
        make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token=None)
    for headers in ({}, {"X-Twilio-Signature": None}):
        assert_refused(await stack.sim.post("/twilio/voice", voice_params(new_call_sid()), headers=headers),
                       503, "misconfigured")


async def test_unusable_credentials_text_is_a_configuration_error_not_a_crash(make_stack: StackFactory) -> None:
    stack = await make_stack(twilio_auth_token='{"auth_token": 42}')
    assert_refused(await stack.sim.post("/twilio/voice", voice_params(new_call_sid())), 503, "misconfigured")


def test_the_signature_helper_is_twilios_own_computation() -> None:
    """Guard the test double: a known vector computed independently with hmac/sha1."""
    import base64
    import hashlib
    import hmac

    params = [("CallSid", "CA1"), ("Caller", "+1"), ("Digits", "1234"), ("From", "+1"), ("To", "+2")]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    payload = url + "".join(k + v for k, v in sorted(params))
    expected = base64.b64encode(hmac.new(b"12345", payload.encode(), hashlib.sha1).digest()).decode()
    assert twilio_signature(url, params, token="12345") == expected
