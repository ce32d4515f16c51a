"""``POST /twilio/sms``: STOP / START from guests, signed by the twilio package's own validator, on real
PostgreSQL. Unsigned or garbage requests are refused with a problem document and change nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from frontdesk.api import sms
from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.wiring import Services
from tests.integration.twilio.twilio_sim import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FORM,
    PUBLIC_BASE_URL,
    TwilioSim,
    assert_refused,
    form_body,
)
from tests.support.databases import REDIS_URL, TestDatabase

pytestmark = pytest.mark.anyio
DEMO_NUMBER = "+15555550100"
GUEST = "+12125550123"
PATH = "/twilio/sms"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class SmsStack:
    client: httpx.AsyncClient
    sim: TwilioSim
    database: TestDatabase

    def opted_out(self, phone: str = GUEST) -> bool:
        return bool(self.database.scalar(
            "SELECT count(*) FROM sms_opt_outs o JOIN restaurants r ON r.id = o.restaurant_id"
            " WHERE r.slug = 'demo-bistro' AND o.phone = %s", [phone]))


@pytest.fixture
async def stack(database: TestDatabase, redis_prefix: str) -> AsyncIterator[SmsStack]:
    settings = Settings(database_url=database.app_url, redis_url=REDIS_URL, redis_key_prefix=redis_prefix,
                        public_base_url=PUBLIC_BASE_URL, twilio_auth_token=AUTH_TOKEN, twilio_account_sid=ACCOUNT_SID)
    services = Services(settings)
    app = create_app(routers=[sms.router], services=services)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    try:
        yield SmsStack(client, TwilioSim(client), database)
    finally:
        await client.aclose()
        edge = getattr(app.state, "twilio_edge", None)
        if edge is not None:
            edge.close()
        services.close()


def inbound(body: str, *, from_: str = GUEST, to: str = DEMO_NUMBER, **extra: str) -> list[tuple[str, str]]:
    params = {"ToCountry": "US", "SmsMessageSid": "SM" + "a" * 32, "NumMedia": "0", "SmsSid": "SM" + "a" * 32,
              "SmsStatus": "received", "Body": body, "To": to, "NumSegments": "1", "MessageSid": "SM" + "a" * 32,
              "AccountSid": ACCOUNT_SID, "From": from_, "ApiVersion": "2010-04-01", **extra}
    return list(params.items())


def assert_empty_twiml(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)  # noqa: S314 - our own TwiML under test
    assert root.tag == "Response" and list(root) == []


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"])
async def test_a_signed_stop_word_opts_the_guest_out(stack: SmsStack, word: str) -> None:
    assert_empty_twiml(await stack.sim.post(PATH, inbound(word)))
    assert stack.opted_out()


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
async def test_a_signed_start_word_opts_the_guest_back_in(stack: SmsStack, word: str) -> None:
    await stack.sim.post(PATH, inbound("STOP"))
    assert_empty_twiml(await stack.sim.post(PATH, inbound(word)))
    assert not stack.opted_out()
    kinds = stack.database.rows("SELECT kind, actor FROM event_log WHERE kind LIKE 'sms.%%' ORDER BY id")
    assert [k for k, _ in kinds] == ["sms.opted_out", "sms.opted_in"]
    assert all(actor == "sms:SM" + "a" * 32 for _, actor in kinds)


@pytest.mark.parametrize("text", ["Stop by at 8?", "Thanks!", "", "STOP STOP", "🙂"])
async def test_an_ordinary_message_changes_nothing(stack: SmsStack, text: str) -> None:
    assert_empty_twiml(await stack.sim.post(PATH, inbound(text)))
    assert not stack.opted_out()


async def test_stop_to_a_number_no_restaurant_owns_is_answered_and_ignored(stack: SmsStack) -> None:
    assert_empty_twiml(await stack.sim.post(PATH, inbound("STOP", to="+15555559999")))
    assert stack.database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


async def test_stop_from_a_short_code_sender_is_answered_and_ignored(stack: SmsStack) -> None:
    assert_empty_twiml(await stack.sim.post(PATH, inbound("STOP", from_="12345")))
    assert stack.database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


async def test_an_unsigned_stop_is_refused_and_changes_nothing(stack: SmsStack) -> None:
    response = await stack.client.post(PATH, content=form_body(inbound("STOP")), headers={"Content-Type": FORM})
    assert_refused(response, 403, "invalid_signature")
    assert not stack.opted_out()


async def test_a_stop_signed_with_another_token_or_for_another_url_is_refused(stack: SmsStack) -> None:
    assert_refused(await stack.sim.post(PATH, inbound("STOP"), token="f" * 32), 403, "invalid_signature")
    assert_refused(await stack.sim.post(PATH, inbound("STOP"), sign_url=PUBLIC_BASE_URL + "/twilio/voice"),
                   403, "invalid_signature")
    assert not stack.opted_out()


async def test_a_signed_form_whose_fields_were_changed_after_signing_is_refused(stack: SmsStack) -> None:
    headers = stack.sim.headers(PATH, inbound("START"))
    response = await stack.client.post(PATH, content=form_body(inbound("STOP")), headers=headers)
    assert_refused(response, 403, "invalid_signature")


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
async def test_a_body_that_is_not_a_form_is_refused_with_415(stack: SmsStack, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert_refused(await stack.client.post(PATH, content=b'{"Body": "STOP"}', headers=headers), 415)


@pytest.mark.parametrize("body", [b"Body=%ff%fe", b"\xff\xfe", b"a=1&&&b", b"Body=STOP%00"])
async def test_a_form_that_does_not_parse_is_refused_with_400(stack: SmsStack, body: bytes) -> None:
    assert_refused(await stack.client.post(PATH, content=body, headers={"Content-Type": FORM}), 400)


@pytest.mark.parametrize("change", [
    {"MessageSid": None}, {"MessageSid": "CA" + "a" * 32}, {"From": None}, {"To": ""}, {"Body": "x" * 1601},
    {"MessageSid": "SMshort"},
])
async def test_a_signed_form_missing_or_mangling_twilios_fields_is_refused_with_422(
        stack: SmsStack, change: dict[str, Any]) -> None:
    params = [(k, v) for k, v in inbound("STOP") if not (k in change and change[k] is None)]
    params = [(k, change.get(k, v)) if change.get(k) is not None else (k, v) for k, v in params]
    assert_refused(await stack.sim.post(PATH, params), 422, "validation_failed")
    assert not stack.opted_out()


async def test_a_repeated_body_field_is_refused(stack: SmsStack) -> None:
    params = [*inbound("START"), ("Body", "STOP")]
    assert_refused(await stack.sim.post(PATH, params), 422, "validation_failed")


async def test_the_webhook_is_served_by_the_default_app_and_the_twilio_lambda() -> None:
    from frontdesk.api.app import default_routers

    paths = {route.path for router in default_routers() for route in router.routes}  # type: ignore[attr-defined]
    assert PATH in paths
