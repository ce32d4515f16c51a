"""Delivery receipts: every text carries a StatusCallback; ``POST /twilio/sms-status`` records what Twilio
reports on the outbox row, only ever forward, on real PostgreSQL. Receipts come from the fake Twilio REST
server, signed with the ``twilio`` package's own RequestValidator for the URL the message was sent with."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.adapters.sms_twilio import STATUS_CALLBACK_PATH, status_callback_url
from frontdesk.api import sms
from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.core.booking import BookingService
from frontdesk.core.notifications import NotificationSender, RetryPolicy
from frontdesk.wiring import Services
from tests.doubles.fake_twilio_rest import FakeTwilioRest, SignedCallback, serve_in_thread
from tests.integration.sms.conftest import book, gateway_for, outbox_rows
from tests.integration.twilio.twilio_sim import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FORM,
    PUBLIC_BASE_URL,
    TwilioSim,
    assert_refused,
    form_body,
    replace,
)
from tests.support.databases import REDIS_URL, TestDatabase

GUEST = "+12125550101"


@pytest.fixture
def twilio() -> Iterator[FakeTwilioRest]:
    with serve_in_thread(FakeTwilioRest(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)) as fake:
        yield fake


@pytest.fixture
def sender(outbox: PostgresOutboxStore, twilio: FakeTwilioRest) -> NotificationSender:
    callback = status_callback_url(PUBLIC_BASE_URL)
    return NotificationSender(outbox, gateway_for(twilio, status_callback=callback), lease=timedelta(seconds=30),
                              retry=RetryPolicy(max_attempts=3))


@dataclass
class Receipts:
    client: httpx.Client
    database: TestDatabase
    twilio: FakeTwilioRest

    def post(self, callback: SignedCallback) -> httpx.Response:
        return self.client.post(callback.path, content=callback.body, headers=callback.headers)

    def send(self, status: str, *, message: int = 0, error_code: int | None = None) -> httpx.Response:
        response = self.post(self.twilio.receipt(self.twilio.messages[message], status, error_code=error_code))
        assert response.status_code == 200, response.text
        return response

    def row(self, message: int = 0) -> dict[str, Any]:
        sid = self.twilio.messages[message].sid
        (row,) = [r for r in outbox_rows(self.database) if r["provider_sid"] == sid]
        return row


@pytest.fixture
def receipts(database: TestDatabase, redis_prefix: str, twilio: FakeTwilioRest) -> Iterator[Receipts]:
    settings = Settings(database_url=database.app_url, redis_url=REDIS_URL, redis_key_prefix=redis_prefix,
                        public_base_url=PUBLIC_BASE_URL, twilio_auth_token=AUTH_TOKEN, twilio_account_sid=ACCOUNT_SID)
    services = Services(settings)
    app = create_app(routers=[sms.router], services=services)
    # A synchronous client over the ASGI app, so threads can post receipts at once.
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        yield Receipts(client, database, twilio)  # type: ignore[arg-type]
    edge = getattr(app.state, "twilio_edge", None)
    if edge is not None:
        edge.close()
    services.close()


@pytest.fixture
def sent(booking: BookingService, sender: NotificationSender) -> None:
    book(booking, GUEST)
    assert sender.deliver_due().sent == 1


# -- the callback is on every message ------------------------------------------------------------------

def test_each_text_is_sent_with_the_receipt_webhook_as_its_status_callback(
        booking: BookingService, sender: NotificationSender, twilio: FakeTwilioRest) -> None:
    book(booking, GUEST)
    sender.deliver_due()
    (message,) = twilio.messages
    assert message.form["StatusCallback"] == "https://frontdesk.example.com/twilio/sms-status"


def test_no_status_callback_is_given_when_twilio_could_not_reach_the_public_url() -> None:
    assert status_callback_url("http://127.0.0.1:8000") is None
    assert status_callback_url("https://abc.execute-api.eu-west-1.amazonaws.com/") == \
        "https://abc.execute-api.eu-west-1.amazonaws.com" + STATUS_CALLBACK_PATH


def test_a_sent_message_has_no_delivery_status_until_twilio_reports_one(sent: None, receipts: Receipts) -> None:
    row = receipts.row()
    assert row["status"] == "sent" and row["delivery_status"] is None and row["delivered_at"] is None


# -- the state machine ---------------------------------------------------------------------------------

@pytest.mark.usefixtures("sent")
def test_receipts_in_order_end_with_the_message_delivered(receipts: Receipts) -> None:
    receipts.send("queued")
    assert receipts.row()["delivery_status"] == "queued"
    receipts.send("sent")
    assert receipts.row()["delivery_status"] == "sent"
    receipts.send("delivered")
    row = receipts.row()
    assert row["delivery_status"] == "delivered" and row["delivered_at"] is not None
    assert row["delivery_error"] is None


@pytest.mark.usefixtures("sent")
def test_a_late_sent_or_queued_receipt_never_moves_a_delivered_message_back(receipts: Receipts) -> None:
    receipts.send("delivered")
    delivered_at = receipts.row()["delivered_at"]
    receipts.send("sent")
    receipts.send("queued")
    row = receipts.row()
    assert row["delivery_status"] == "delivered" and row["delivered_at"] == delivered_at


@pytest.mark.usefixtures("sent")
def test_a_repeated_receipt_is_answered_and_changes_nothing(receipts: Receipts) -> None:
    receipts.send("delivered")
    first = receipts.row()
    for _ in range(3):
        receipts.send("delivered")
    assert receipts.row() == first


@pytest.mark.parametrize(("final", "later"), [("undelivered", "delivered"), ("failed", "delivered"),
                                              ("delivered", "failed"), ("undelivered", "failed")])
@pytest.mark.usefixtures("sent")
def test_a_final_state_is_never_replaced(receipts: Receipts, final: str, later: str) -> None:
    receipts.send(final, error_code=30003 if final != "delivered" else None)
    receipts.send(later, error_code=30008 if later != "delivered" else None)
    row = receipts.row()
    assert row["delivery_status"] == final
    assert row["delivery_error"] == (None if final == "delivered" else "Twilio error 30003")


@pytest.mark.parametrize(("twilio_status", "recorded"), [("accepted", "queued"), ("scheduled", "queued"),
                                                         ("sending", "sent"), ("read", "delivered"),
                                                         ("canceled", "failed")])
@pytest.mark.usefixtures("sent")
def test_twilios_other_statuses_map_onto_the_five_delivery_states(
        receipts: Receipts, twilio_status: str, recorded: str) -> None:
    receipts.send(twilio_status)
    assert receipts.row()["delivery_status"] == recorded


@pytest.mark.usefixtures("sent")
def test_an_undelivered_receipt_keeps_the_error_and_the_message_stays_sent(receipts: Receipts) -> None:
    receipts.send("undelivered", error_code=30003)
    row = receipts.row()
    assert row["status"] == "sent" and row["delivery_status"] == "undelivered"
    assert row["delivery_error"] == "Twilio error 30003"
    assert receipts.database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


def test_receipts_racing_in_random_order_always_end_in_the_final_state(
        booking: BookingService, sender: NotificationSender, receipts: Receipts) -> None:
    for i in range(4):
        book(booking, f"+1212555020{i}", hour=18 + i % 3, weeks=1 + i)
    assert sender.deliver_due().sent == 4
    work = [(m, s) for m in range(4) for s in ("queued", "sent", "delivered", "sent", "queued", "delivered")]
    random.Random(7).shuffle(work)
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def post(chunk: list[tuple[int, str]]) -> None:
        barrier.wait()
        for message, status in chunk:
            callback = receipts.twilio.receipt(receipts.twilio.messages[message], status)
            statuses.append(receipts.post(callback).status_code)

    threads = [threading.Thread(target=post, args=(work[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * len(work)
    assert [receipts.row(m)["delivery_status"] for m in range(4)] == ["delivered"] * 4


# -- opt-outs reported by a receipt ----------------------------------------------------------------------

@pytest.mark.parametrize("code", [21610, 30004])
@pytest.mark.usefixtures("sent")
def test_an_unsubscribed_or_blocked_error_opts_the_guest_out_like_the_send_path(
        receipts: Receipts, booking: BookingService, sender: NotificationSender, code: int) -> None:
    receipts.send("undelivered", error_code=code)
    database = receipts.database
    assert database.rows("SELECT phone, source FROM sms_opt_outs") == [(GUEST, f"twilio:{code}")]
    assert database.rows("SELECT kind, actor FROM event_log WHERE kind = 'sms.opted_out'") == [
        ("sms.opted_out", f"twilio:{code}")]
    receipts.send("undelivered", error_code=code)  # repeated: one opt-out, one audit line
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'sms.opted_out'") == 1
    book(booking, GUEST, weeks=3)
    report = sender.deliver_due()
    assert report.sent == 0 and len(receipts.twilio.messages) == 1
    assert outbox_rows(database)[-1]["status"] == "suppressed"


# -- who may post, and what ------------------------------------------------------------------------------

def test_a_receipt_for_a_message_we_do_not_know_is_answered_and_ignored(
        sent: None, receipts: Receipts) -> None:
    callback = receipts.twilio.receipt(receipts.twilio.messages[0], "delivered")
    other = "SM" + "f" * 32
    params = [(k, other if k in ("MessageSid", "SmsSid") else v) for k, v in callback.params]
    from twilio.request_validator import RequestValidator

    headers = {**callback.headers,
               "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(callback.url, dict(params))}
    response = receipts.post(SignedCallback(callback.url, params, headers))
    assert response.status_code == 200
    assert receipts.row()["delivery_status"] is None


@pytest.mark.usefixtures("sent")
def test_an_unsigned_or_wrongly_signed_receipt_is_refused_and_changes_nothing(receipts: Receipts) -> None:
    callback = receipts.twilio.receipt(receipts.twilio.messages[0], "delivered")
    unsigned = {"Content-Type": FORM}
    assert_refused(receipts.client.post(callback.path, content=callback.body, headers=unsigned),
                   403, "invalid_signature")
    forged = {**callback.headers, "X-Twilio-Signature": "A" * 28}
    assert_refused(receipts.client.post(callback.path, content=callback.body, headers=forged),
                   403, "invalid_signature")
    tampered = form_body(replace(callback.params, MessageStatus="undelivered", ErrorCode="21610"))
    assert_refused(receipts.client.post(callback.path, content=tampered, headers=callback.headers),
                   403, "invalid_signature")
    assert receipts.row()["delivery_status"] is None
    assert receipts.database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


@pytest.mark.parametrize(("content_type", "body", "status"), [
    ("application/json", b'{"MessageStatus": "delivered"}', 415),
    (FORM, b"MessageStatus=%ff%fe", 400),
    (FORM, b"\xff\xfe", 400),
    (FORM, b"a=1&&&b", 400),
    (FORM, b"MessageSid=SM%00", 400),
])
def test_a_receipt_that_is_not_a_readable_form_is_refused_without_a_traceback(
        receipts: Receipts, content_type: str, body: bytes, status: int) -> None:
    assert_refused(receipts.client.post(STATUS_CALLBACK_PATH, content=body,
                                        headers={"Content-Type": content_type}), status)


@pytest.mark.parametrize("change", [
    {"MessageStatus": "exploded"}, {"MessageStatus": None}, {"MessageSid": None}, {"MessageSid": "CA" + "a" * 32},
    {"ErrorCode": "abc"}, {"ErrorCode": "-1"}, {"ErrorCode": "1" * 30}, {"MessageStatus": "delivered\n"},
])
@pytest.mark.usefixtures("sent")
def test_a_signed_receipt_with_garbage_fields_is_refused_and_changes_nothing(
        receipts: Receipts, change: dict[str, str | None]) -> None:
    callback = receipts.twilio.receipt(receipts.twilio.messages[0], "delivered")
    params = replace(callback.params, **change)
    sim = TwilioSim(receipts.client)  # type: ignore[arg-type]
    headers = sim.headers(STATUS_CALLBACK_PATH, params)
    response = receipts.client.post(STATUS_CALLBACK_PATH, content=form_body(params), headers=headers)
    assert_refused(response, 422, "validation_failed")
    assert receipts.row()["delivery_status"] is None


@pytest.mark.usefixtures("sent")
def test_a_receipt_with_a_repeated_status_field_is_refused(receipts: Receipts) -> None:
    callback = receipts.twilio.receipt(receipts.twilio.messages[0], "delivered")
    params = [*callback.params, ("MessageStatus", "failed")]
    headers = TwilioSim(receipts.client).headers(STATUS_CALLBACK_PATH, params)  # type: ignore[arg-type]
    assert_refused(receipts.client.post(STATUS_CALLBACK_PATH, content=form_body(params), headers=headers),
                   422, "validation_failed")


def test_the_receipt_webhook_is_served_by_the_default_app() -> None:
    from frontdesk.api.app import default_routers

    paths = {route.path for router in default_routers() for route in router.routes}  # type: ignore[attr-defined]
    assert STATUS_CALLBACK_PATH in paths

