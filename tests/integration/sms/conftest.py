"""SMS on real PostgreSQL: the outbox written by the reservation trigger, delivered through the real ``twilio``
REST client to the fake Twilio REST server (tests/doubles/fake_twilio_rest.py) over HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.adapters.sms_twilio import TwilioSmsGateway
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest, Reservation
from frontdesk.core.notifications import NotificationSender, RetryPolicy
from tests.doubles.fake_twilio_rest import FakeTwilioRest, serve_in_thread
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

DEMO_NUMBER = "+15555550100"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilioRest]:
    with serve_in_thread(FakeTwilioRest()) as fake:
        yield fake


@pytest.fixture
def outbox(database: TestDatabase) -> Iterator[PostgresOutboxStore]:
    store = PostgresOutboxStore(database.app_url, max_size=8)  # as app_user, like the Lambdas
    try:
        yield store
    finally:
        store.close()


def gateway_for(fake: FakeTwilioRest, **overrides: Any) -> TwilioSmsGateway:
    options: dict[str, Any] = {"account_sid": fake.account_sid, "auth_token": lambda: fake.auth_token,
                               "base_url": fake.url, "timeout": 5.0}
    options.update(overrides)
    return TwilioSmsGateway(**options)


@pytest.fixture
def sender(outbox: PostgresOutboxStore, fake_twilio: FakeTwilioRest) -> NotificationSender:
    return NotificationSender(outbox, gateway_for(fake_twilio), lease=timedelta(seconds=30),
                              retry=RetryPolicy(max_attempts=3))


def book(booking: BookingService, phone: str = "+12125550101", *, name: str = "Ana", party: int = 2,
         hour: int = 19, weeks: int = 1) -> Reservation:
    day = next_weekday(4, at_least_days=7 * weeks)
    return booking.commit_slot("demo-bistro", SlotRequest(party, local_date=day, local_time=time(hour)),
                               Guest(name, phone))


def outbox_rows(database: TestDatabase) -> list[dict[str, Any]]:
    with database.connect() as conn:
        cur = conn.execute("SELECT * FROM notification_outbox ORDER BY created_at, id")
        assert cur.description is not None
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def make_due(database: TestDatabase) -> None:
    """Skip the backoff wait (what the clock would do)."""
    database.scalar("UPDATE notification_outbox SET next_attempt_at = now() - interval '1 second'"
                    " WHERE status = 'pending' RETURNING 1")
