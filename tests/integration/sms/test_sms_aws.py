"""The AWS path: the API publishes to SQS after a change committed (moto), the notifier Lambda delivers from
the queue (Powertools batch, partial failures), the scheduled sweep delivers what the queue lost. Real
PostgreSQL, the real twilio REST client against the fake Twilio REST server."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.config import Settings
from frontdesk.wiring import Services
from tests.doubles.fake_twilio_rest import FakeTwilioRest
from tests.integration.sms.conftest import book, outbox_rows
from tests.support.databases import REDIS_URL, TestDatabase

DEAD_POSTGRES = "postgresql://app_user@127.0.0.1:1/nowhere?connect_timeout=1"


class Context:
    function_name = "frontdesk-dev-notifier"
    aws_request_id = "5e0f3c4b-6f5a-4c1e-9d0b-0a1b2c3d4e5f"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:frontdesk-dev-notifier"
    memory_limit_in_mb = 512

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def lambda_logging() -> Iterator[None]:
    """The handlers route ``frontdesk.*`` logs through Powertools as in Lambda: put them back afterwards."""
    from frontdesk.handlers import notifier

    app_logger = logging.getLogger("frontdesk")
    saved = (list(app_logger.handlers), app_logger.level, app_logger.propagate)
    yield
    app_logger.handlers, app_logger.level, app_logger.propagate = saved
    notifier._logs_structured = False


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName=f"notifications-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        yield client, url


@pytest.fixture
def make_services(database: TestDatabase, redis_prefix: str, fake_twilio: FakeTwilioRest,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Services as a Lambda builds them from its settings, installed as the process's services."""
    from frontdesk import wiring

    built: list[Services] = []

    def make(**overrides: Any) -> Services:
        values: dict[str, Any] = {
            "database_url": database.app_url, "redis_url": REDIS_URL, "redis_key_prefix": redis_prefix,
            "twilio_account_sid": fake_twilio.account_sid, "twilio_auth_token": fake_twilio.auth_token,
            "twilio_api_base_url": fake_twilio.url}
        values.update(overrides)
        services = Services(Settings(**values))
        built.append(services)
        monkeypatch.setattr(wiring, "_services", services)
        return services

    yield make
    for services in built:
        services.close()


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": f"handle-{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764240000000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764240000001"},
        "messageAttributes": {}, "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notifications",
        "awsRegion": "us-east-1"} for i, body in enumerate(bodies)]}


def received(client: Any, url: str) -> list[str]:
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return [m["Body"] for m in messages]


def test_a_commit_publishes_to_sqs_and_the_notifier_lambda_delivers_it(
        sqs: tuple[Any, str], make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest) -> None:
    from frontdesk.handlers import notifier

    client, url = sqs
    services = make_services(notifications_queue_url=url)
    reservation = book(services.booking)
    bodies = received(client, url)
    assert [json.loads(b) for b in bodies] == [{"reservation_id": str(reservation.id)}]
    result = notifier.handler(sqs_event(bodies), Context())
    assert result == {"batchItemFailures": []}
    assert len(fake_twilio.messages) == 1 and fake_twilio.messages[0].form["To"] == "+12125550101"
    assert outbox_rows(database)[0]["status"] == "sent"
    # SQS delivers at least once: the same record again sends nothing more.
    assert notifier.handler(sqs_event(bodies), Context()) == {"batchItemFailures": []}
    assert len(fake_twilio.messages) == 1


def test_modify_and_cancel_publish_too_and_a_replayed_commit_does_not(
        sqs: tuple[Any, str], make_services: Any) -> None:
    from datetime import time

    from frontdesk.core.booking import SlotRequest
    from frontdesk.core.model import Guest
    from tests.support.dates import next_weekday

    client, url = sqs
    services = make_services(notifications_queue_url=url)
    request = SlotRequest(2, local_date=next_weekday(4), local_time=time(19))
    first = services.booking.commit_slot("demo-bistro", request, Guest("Ana", "+12125550101"), idempotency_key="k1")
    again = services.booking.commit_slot("demo-bistro", request, Guest("Ana", "+12125550101"), idempotency_key="k1")
    assert again.replayed
    services.booking.modify(first.id, party_size=3)
    services.booking.cancel(first.id)
    bodies = received(client, url)
    assert [json.loads(b)["reservation_id"] for b in bodies] == [str(first.id)] * 3


def test_a_failed_publish_never_fails_the_booking_and_the_sweep_delivers_what_the_queue_lost(
        sqs: tuple[Any, str], make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest,
        caplog: pytest.LogCaptureFixture) -> None:
    from frontdesk.handlers import notifier

    _, url = sqs
    services = make_services(notifications_queue_url=url + "-deleted")
    with caplog.at_level(logging.WARNING):
        reservation = book(services.booking)
    assert reservation.id is not None
    assert any("not published" in r.getMessage() for r in caplog.records)
    assert outbox_rows(database)[0]["status"] == "pending"
    summary = notifier.sweep({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    assert summary["sent"] == 1 and len(fake_twilio.messages) == 1
    assert outbox_rows(database)[0]["status"] == "sent"


def test_garbage_messages_do_not_poison_the_batch(
        sqs: tuple[Any, str], make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest) -> None:
    from frontdesk.handlers import notifier

    services = make_services()
    reservation = book(services.booking)
    good = json.dumps({"reservation_id": str(reservation.id)})
    garbage = ["", "{", "null", "[]", '{"reservation_id": "not-a-uuid"}', '{"reservation_id": 7}',
               json.dumps({"reservation_id": str(uuid.uuid4())}), "\x00\xff", "x" * 10_000]
    result = notifier.handler(sqs_event([*garbage, good]), Context())
    assert result == {"batchItemFailures": []}
    assert len(fake_twilio.messages) == 1 and outbox_rows(database)[0]["status"] == "sent"


def test_a_record_is_reported_failed_for_redelivery_only_when_delivery_could_not_be_tried(
        sqs: tuple[Any, str], make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest) -> None:
    from frontdesk.handlers import notifier

    reservation = book(make_services().booking)
    make_services(database_url=DEAD_POSTGRES)
    event = sqs_event(["garbage", json.dumps({"reservation_id": str(reservation.id)})])
    result = notifier.handler(event, Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert fake_twilio.messages == [] and outbox_rows(database)[0]["status"] == "pending"


def test_the_sweep_stops_starting_batches_near_the_lambda_timeout(
        make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest) -> None:
    from frontdesk.handlers import notifier

    services = make_services()
    for i in range(25):
        book(services.booking, f"+1212555{2000 + i:04d}", hour=17 + i % 5, weeks=1 + i // 5)
    summary = notifier.sweep({}, Context(remaining_ms=5_000))
    assert summary["sent"] == 20  # one batch (of 20), then it stopped
    assert notifier.sweep({}, Context())["sent"] == 5
    assert len({m.form["To"] for m in fake_twilio.messages}) == 25


def test_after_a_failed_publish_the_api_stops_trying_for_a_while_then_tries_again(sqs: tuple[Any, str]) -> None:
    import boto3

    from frontdesk.adapters.sqs_changes import SqsChangePublisher

    client, url = sqs
    calls: list[str] = []
    counting = boto3.client("sqs", region_name="us-east-1")
    counting.meta.events.register("before-call.sqs.SendMessage", lambda **kw: calls.append("send"))
    now = [1000.0]
    publisher = SqsChangePublisher(url + "-missing", client=counting, cooldown=30, clock=lambda: now[0])
    publisher.reservation_changed(uuid.uuid4())  # fails: the queue does not exist
    publisher.reservation_changed(uuid.uuid4())  # skipped: an outage must not slow every booking
    assert calls == ["send"]
    now[0] += 31
    publisher._queue_url = url  # the queue is back
    rid = uuid.uuid4()
    publisher.reservation_changed(rid)
    assert calls == ["send", "send"]
    assert [json.loads(b) for b in received(client, url)] == [{"reservation_id": str(rid)}]


def test_the_sweep_lambda_configured_as_cdk_configures_it_reads_its_secrets_and_delivers(
        sqs: tuple[Any, str], database: TestDatabase, booking: Any, fake_twilio: FakeTwilioRest,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Environment as CDK sets it: secrets by ARN (the Twilio one as the JSON form), nothing plain."""
    import boto3
    from aws_lambda_powertools.utilities import parameters

    from frontdesk import config, wiring
    from frontdesk.handlers import notifier

    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    db_arn = secrets.create_secret(Name=f"frontdesk/test/{database.name}/db", SecretString=json.dumps({
        "engine": "postgres", "host": "127.0.0.1", "port": 5432, "dbname": database.name,
        "username": "app_user", "password": ""}))["ARN"]
    twilio_arn = secrets.create_secret(Name=f"frontdesk/test/{database.name}/twilio", SecretString=json.dumps(
        {"auth_token": fake_twilio.auth_token, "secondary_auth_token": "next-token"}))["ARN"]
    for name in ("DATABASE_URL", "TWILIO_AUTH_TOKEN", "NOTIFICATIONS_QUEUE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"STAGE": "dev", "DATABASE_SECRET_ARN": db_arn, "DATABASE_SSLMODE": "disable",
                        "TWILIO_SECRET_ARN": twilio_arn, "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
                        "TWILIO_API_BASE_URL": fake_twilio.url, "POWERTOOLS_SERVICE_NAME": "notifier"}.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    parameters.clear_caches()
    monkeypatch.setattr(wiring, "_services", None)
    try:
        book(booking)
        summary = notifier.sweep({"source": "aws.events"}, Context())
        assert summary["sent"] == 1 and fake_twilio.messages[0].form["To"] == "+12125550101"
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        done = [entry for entry in logged if entry.get("message") == "sweep done"]
        assert done and done[0]["service"] == "notifier" and done[0]["sent"] == 1
    finally:
        if wiring._services is not None:
            wiring._services.close()
        config.get_settings.cache_clear()
        parameters.clear_caches()


# -- metrics: what the SMS alarms and the dashboard watch ---------------------------------------------------

def _emf(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF documents printed to stdout."""
    return [doc for doc in (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
            if "_aws" in doc]


def _only_document(stdout: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The one EMF document's {metric: unit} and its values, after checking its namespace and dimensions."""
    (doc,) = _emf(stdout)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "FrontDesk" and directive["Dimensions"] == [["service"]]
    assert doc["service"] == "notifier"
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert all(len(doc[name]) == 1 for name in units)  # one value per metric per invocation
    return units, {name: doc[name][0] for name in units}


OUTCOMES = {"SmsSent", "SmsRetrying", "SmsFailed", "SmsSuppressed", "SmsClaimLost"}


def test_the_sweep_reports_its_outcomes_and_the_backlog_it_left_as_one_emf_document(
        make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest,
        capsys: pytest.CaptureFixture[str]) -> None:
    from frontdesk.handlers import notifier

    services = make_services()
    book(services.booking, "+12125550101", hour=18)
    book(services.booking, "+12125550102", hour=19)
    fake_twilio.fail_next(1, status=400, code=21211, message="Invalid 'To' Phone Number")
    capsys.readouterr()
    summary = notifier.sweep({}, Context())
    units, values = _only_document(capsys.readouterr().out)
    assert units == {**dict.fromkeys(OUTCOMES, "Count"), "SmsDue": "Count", "SmsUnsent": "Count",
                     "SmsOldestUnsentAge": "Seconds"}
    assert values == {"SmsSent": 1, "SmsFailed": 1, "SmsRetrying": 0, "SmsSuppressed": 0, "SmsClaimLost": 0,
                      "SmsDue": 0, "SmsUnsent": 0, "SmsOldestUnsentAge": 0}
    assert (summary["sent"], summary["failed"], summary["unsent"]) == (1, 1, 0)

    # Twilio unavailable for a change written 11 minutes ago: the message waits out its backoff, unsent, and
    # the sweep says how long its guest has been waiting (what the sms-backlog-age alarm compares with 600 s).
    late = book(services.booking, "+12125550103", hour=20)
    database.scalar("UPDATE notification_outbox SET created_at = now() - interval '11 minutes'"
                    " WHERE reservation_id = %s RETURNING 1", [late.id])
    fake_twilio.fail_next(1, status=503)
    notifier.sweep({}, Context())
    _, values = _only_document(capsys.readouterr().out)
    assert (values["SmsRetrying"], values["SmsDue"], values["SmsUnsent"]) == (1, 0, 1)
    assert 11 * 60 <= values["SmsOldestUnsentAge"] < 12 * 60


def test_without_twilio_credentials_the_sweep_still_reports_the_backlog_that_grows(
        make_services: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from frontdesk.handlers import notifier

    services = make_services(twilio_account_sid=None)
    book(services.booking)
    capsys.readouterr()
    summary = notifier.sweep({}, Context())
    assert summary["unconfigured"] is True
    _, values = _only_document(capsys.readouterr().out)
    assert (values["SmsSent"], values["SmsDue"], values["SmsUnsent"]) == (0, 1, 1)


def test_the_notifier_lambda_reports_the_outcomes_of_a_whole_batch_as_one_emf_document(
        sqs: tuple[Any, str], make_services: Any, fake_twilio: FakeTwilioRest,
        capsys: pytest.CaptureFixture[str]) -> None:
    from frontdesk.handlers import notifier

    client, url = sqs
    services = make_services(notifications_queue_url=url)
    for i, phone in enumerate(("+12125550101", "+12125550102", "+12125550103")):
        book(services.booking, phone, hour=18 + i)
    bodies = received(client, url)
    fake_twilio.fail_next(1, status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    capsys.readouterr()
    assert notifier.handler(sqs_event([*bodies, "garbage"]), Context()) == {"batchItemFailures": []}
    units, values = _only_document(capsys.readouterr().out)
    assert set(units) == OUTCOMES  # the backlog is the sweep's to measure
    assert values == {"SmsSent": 2, "SmsSuppressed": 1, "SmsFailed": 0, "SmsRetrying": 0, "SmsClaimLost": 0}


def test_a_batch_that_could_not_be_delivered_still_reports_its_zero_outcomes(
        make_services: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from frontdesk.handlers import notifier

    reservation = book(make_services().booking)
    make_services(database_url=DEAD_POSTGRES)
    capsys.readouterr()
    event = sqs_event(["garbage", json.dumps({"reservation_id": str(reservation.id)})])
    assert len(notifier.handler(event, Context())["batchItemFailures"]) == 1
    _, values = _only_document(capsys.readouterr().out)
    assert values == dict.fromkeys(OUTCOMES, 0)


def test_the_sweep_lambda_prunes_old_settled_messages_and_sends_with_a_receipt_callback(
        make_services: Any, database: TestDatabase, fake_twilio: FakeTwilioRest) -> None:
    from frontdesk.handlers import notifier

    services = make_services(public_base_url="https://abc.execute-api.us-east-1.amazonaws.com",
                             sms_retention_days=30)
    book(services.booking, "+12125552101")
    assert notifier.sweep({}, Context())["sent"] == 1
    database.scalar("UPDATE notification_outbox SET created_at = now() - interval '31 days',"
                    " next_attempt_at = now() - interval '31 days', sent_at = now() - interval '31 days'"
                    " RETURNING 1")
    book(services.booking, "+12125552102")
    summary = notifier.sweep({}, Context())
    assert summary["sent"] == 1 and summary["pruned"] == 1
    assert [r["to_phone"] for r in outbox_rows(database)] == ["+12125552102"]
    assert {m.form["StatusCallback"] for m in fake_twilio.messages} == {
        "https://abc.execute-api.us-east-1.amazonaws.com/twilio/sms-status"}
