"""`frontdesk serve` / `make dev` deliver SMS in-process: a booking wakes the sweeper thread at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from frontdesk.config import Settings
from frontdesk.sms_sweeper import start_local_sweeper
from frontdesk.wiring import Services
from tests.doubles.fake_twilio_rest import FakeTwilioRest
from tests.integration.sms.conftest import book, outbox_rows
from tests.support.databases import REDIS_URL, TestDatabase


def eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def make_services(database: TestDatabase, redis_prefix: str) -> Iterator[Callable[..., Services]]:
    built: list[Services] = []

    def make(**overrides: Any) -> Services:
        values: dict[str, Any] = {"database_url": database.app_url, "redis_url": REDIS_URL,
                                  "redis_key_prefix": redis_prefix, **overrides}
        services = Services(Settings(**values))
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


def test_a_booking_wakes_the_local_sweeper_which_sends_its_sms(
        make_services: Callable[..., Services], fake_twilio: FakeTwilioRest, database: TestDatabase) -> None:
    services = make_services(twilio_account_sid=fake_twilio.account_sid, twilio_auth_token=fake_twilio.auth_token,
                             twilio_api_base_url=fake_twilio.url, sms_sweep_interval_seconds=3600)
    sweeper = start_local_sweeper(services)
    assert sweeper is not None
    try:
        book(services.booking)  # an hour-long interval: only the wake-up can deliver this quickly
        assert eventually(lambda: len(fake_twilio.messages) == 1)
        assert eventually(lambda: outbox_rows(database)[0]["status"] == "sent")
    finally:
        sweeper.stop()


def test_without_credentials_the_local_sweeper_leaves_messages_pending_and_says_why_once(
        make_services: Callable[..., Services], database: TestDatabase, caplog: pytest.LogCaptureFixture) -> None:
    services = make_services(sms_sweep_interval_seconds=0.2)
    with caplog.at_level(logging.WARNING):
        sweeper = start_local_sweeper(services)
        assert sweeper is not None
        try:
            book(services.booking)
            time.sleep(1.0)  # several rounds
            assert sweeper._thread is not None and sweeper._thread.is_alive()
        finally:
            sweeper.stop()
    (row,) = outbox_rows(database)
    assert row["status"] == "pending" and row["attempts"] == 0
    assert sum("no Twilio credentials" in r.getMessage() for r in caplog.records) == 1


def test_a_failing_round_is_logged_and_the_sweeper_keeps_going(
        make_services: Callable[..., Services], caplog: pytest.LogCaptureFixture) -> None:
    services = make_services(database_url="postgresql://app_user@127.0.0.1:1/nowhere?connect_timeout=1",
                             twilio_account_sid="AC" + "0" * 32, twilio_auth_token="token",
                             sms_sweep_interval_seconds=0.2)
    with caplog.at_level(logging.ERROR):
        sweeper = start_local_sweeper(services)
        assert sweeper is not None
        try:
            assert eventually(lambda: sum("SMS sweep failed" in r.getMessage() for r in caplog.records) >= 2, 20)
            assert sweeper._thread is not None and sweeper._thread.is_alive()
        finally:
            sweeper.stop()


@pytest.mark.parametrize("overrides", [{"sms_local_sweeper": False},
                                       {"notifications_queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"}])
def test_no_local_sweeper_when_turned_off_or_when_sqs_delivers(
        make_services: Callable[..., Services], overrides: dict[str, Any]) -> None:
    assert start_local_sweeper(make_services(**overrides)) is None
