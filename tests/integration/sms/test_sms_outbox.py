"""The transactional outbox and its sender, on real PostgreSQL (as app_user) and the fake Twilio REST server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import time, timedelta
from uuid import UUID

import psycopg
import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import SlotUnavailable
from frontdesk.core.model import Guest
from frontdesk.core.notifications import NotificationSender, RetryPolicy
from tests.doubles.fake_twilio_rest import FakeTwilioRest
from tests.integration.sms.conftest import DEMO_NUMBER, book, gateway_for, make_due, outbox_rows
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

# -- the outbox row is part of the reservation change ------------------------------------------------------

def test_a_commit_writes_one_confirmed_message_with_a_snapshot_of_what_it_needs(
        booking: BookingService, database: TestDatabase) -> None:
    reservation = book(booking, name="Ana", party=4)
    (row,) = outbox_rows(database)
    assert row["kind"] == "confirmed" and row["status"] == "pending" and row["attempts"] == 0
    assert row["reservation_id"] == reservation.id and row["to_phone"] == "+12125550101"
    payload = row["payload"]
    assert payload["restaurant"] == "Demo Bistro" and payload["guest_name"] == "Ana"
    assert payload["party_size"] == 4 and payload["local_time"] == "19:00"
    assert payload["local_date"] == reservation.service_date.isoformat()
    assert payload["restaurant_phone"] == DEMO_NUMBER


def test_a_refused_commit_leaves_no_message(booking: BookingService, database: TestDatabase) -> None:
    book(booking, "+12125550101")
    with pytest.raises(SlotUnavailable):  # the duplicate guard refuses inside commit_reservation_v1
        book(booking, "+12125550101")
    assert [r["kind"] for r in outbox_rows(database)] == ["confirmed"]


def test_a_rolled_back_commit_leaves_neither_reservation_nor_message(
        booking: BookingService, database: TestDatabase) -> None:
    restaurant = booking.restaurant("demo-bistro")
    first = book(booking)
    with psycopg.connect(database.app_url) as conn:  # one transaction, as app_user
        conn.execute("SELECT commit_reservation_v1(%s, %s, 2, 'Ben', '+12125550102', '', 'staff', NULL, NULL,"
                     " NULL, 'test')", [restaurant.id, first.start + timedelta(minutes=30)])
        assert conn.execute("SELECT count(*) FROM notification_outbox").fetchone() == (2,)
        conn.rollback()
    assert database.scalar("SELECT count(*) FROM reservations") == 1
    assert len(outbox_rows(database)) == 1


def test_modify_and_cancel_each_write_their_message_and_seating_writes_none(
        booking: BookingService, database: TestDatabase) -> None:
    reservation = book(booking, party=2)
    booking.modify(reservation.id, party_size=3)
    booking.modify(reservation.id, party_size=3)  # no change: no message
    other = book(booking, "+12125550102", hour=20)
    booking.cancel(reservation.id)
    booking.cancel(reservation.id)  # already cancelled: no second message
    database.scalar("UPDATE reservations SET status = 'seated' WHERE id = %s RETURNING 1", [other.id])
    database.scalar("UPDATE reservations SET status = 'completed' WHERE id = %s RETURNING 1", [other.id])
    kinds = [(r["reservation_id"], r["kind"]) for r in outbox_rows(database)]
    assert kinds == [(reservation.id, "confirmed"), (reservation.id, "modified"), (other.id, "confirmed"),
                     (reservation.id, "cancelled")]
    modified = outbox_rows(database)[1]["payload"]
    assert modified["party_size"] == 3 and modified["previous_party_size"] == 2


def test_app_user_cannot_write_the_outbox_directly(booking: BookingService, database: TestDatabase) -> None:
    book(booking)
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for statement in ("UPDATE notification_outbox SET status = 'sent'", "DELETE FROM notification_outbox",
                          "INSERT INTO sms_opt_outs (restaurant_id, phone, source)"
                          " SELECT id, '+12125550101', 'x' FROM restaurants"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


# -- delivery ------------------------------------------------------------------------------------------

def test_a_message_is_delivered_through_twilio_and_marked_sent_with_its_sid(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest) -> None:
    book(booking, name="Ana", party=4)
    report = sender.deliver_due()
    assert report.sent == 1
    (message,) = fake_twilio.messages
    assert message.form["To"] == "+12125550101" and message.form["From"] == DEMO_NUMBER
    assert message.form["Body"].startswith("Demo Bistro: Ana, your table for 4 is booked for ")
    assert "at 19:00" in message.form["Body"]
    (row,) = outbox_rows(database)
    assert row["status"] == "sent" and row["provider_sid"] == message.sid and row["sent_at"] is not None
    assert sender.deliver_due().handled == 0  # nothing left


def test_a_restaurants_own_template_is_used(booking: BookingService, sender: NotificationSender,
                                            outbox: PostgresOutboxStore, fake_twilio: FakeTwilioRest) -> None:
    restaurant = booking.restaurant("demo-bistro")
    outbox.set_template(restaurant.id, "confirmed", "See you {date} {time}, {guest_name}!", actor="test")
    book(booking, name="Ana")
    sender.deliver_due()
    assert fake_twilio.messages[0].form["Body"].startswith("See you ")
    assert fake_twilio.messages[0].form["Body"].endswith(" 19:00, Ana!")


def test_a_500_then_success_sends_once_with_one_sid(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    fake_twilio.fail_next(1, status=500)
    first = sender.deliver_due()
    assert first.retrying == 1 and first.sent == 0
    (row,) = outbox_rows(database)
    assert row["status"] == "pending" and row["last_error"] == "Twilio 500 error 20500"
    assert row["next_attempt_at"] > row["created_at"] + timedelta(seconds=20)  # backed off, not hammering
    assert sender.deliver_due().handled == 0  # not due yet
    make_due(database)
    assert sender.deliver_due().sent == 1
    (row,) = outbox_rows(database)
    assert len(fake_twilio.messages) == 1
    assert row["status"] == "sent" and row["attempts"] == 2 and row["provider_sid"] == fake_twilio.messages[0].sid


def test_429_retries_and_too_many_failures_end_as_failed(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    fake_twilio.fail_next(10, status=429, code=20429, message="Too Many Requests")
    for _ in range(3):  # max_attempts=3 in the fixture
        sender.deliver_due()
        make_due(database)
    (row,) = outbox_rows(database)
    assert row["status"] == "failed" and row["attempts"] == 3 and fake_twilio.messages == []


def test_a_permanent_4xx_fails_at_once(booking: BookingService, database: TestDatabase,
                                       sender: NotificationSender, fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    fake_twilio.fail_next(1, status=400, code=21211, message="Invalid 'To' Phone Number")
    assert sender.deliver_due().failed == 1
    (row,) = outbox_rows(database)
    assert row["status"] == "failed" and row["attempts"] == 1 and "21211" in row["last_error"]


def test_twilio_unsubscribed_error_records_the_opt_out_and_suppresses_without_retrying(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest, outbox: PostgresOutboxStore) -> None:
    reservation = book(booking)
    fake_twilio.fail_next(1, status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    assert sender.deliver_due().opted_out == 1
    assert outbox_rows(database)[0]["status"] == "suppressed"
    assert outbox.is_opted_out(reservation.restaurant_id, "+12125550101")
    booking.cancel(reservation.id)
    assert sender.deliver_due().sent == 0  # the cancellation is suppressed at claim time, never sent
    assert [r["status"] for r in outbox_rows(database)] == ["suppressed", "suppressed"]
    assert fake_twilio.messages == []


def test_an_opted_out_guest_gets_nothing_and_opting_in_again_resumes(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest, outbox: PostgresOutboxStore) -> None:
    restaurant = booking.restaurant("demo-bistro")
    assert outbox.set_opt_out(restaurant.id, "+12125550101", True, actor="test")
    assert not outbox.set_opt_out(restaurant.id, "+12125550101", True, actor="test")  # idempotent
    book(booking, "+12125550101")
    book(booking, "+12125550102", hour=20)  # someone else still hears from us
    sender.deliver_due()
    assert [m.form["To"] for m in fake_twilio.messages] == ["+12125550102"]
    assert outbox_rows(database)[0]["status"] == "suppressed"
    assert outbox.set_opt_out(restaurant.id, "+12125550101", False, actor="test")
    book(booking, "+12125550101", weeks=2)
    sender.deliver_due()
    assert [m.form["To"] for m in fake_twilio.messages] == ["+12125550102", "+12125550101"]
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind IN ('sms.opted_out', 'sms.opted_in')") == 2


def test_a_later_message_waits_until_the_earlier_one_of_its_reservation_is_settled(
        booking: BookingService, database: TestDatabase, sender: NotificationSender,
        fake_twilio: FakeTwilioRest) -> None:
    reservation = book(booking)
    fake_twilio.fail_next(1, status=503)
    sender.deliver_due()  # the confirmation now waits out its backoff
    booking.cancel(reservation.id)
    assert sender.deliver_due().handled == 0  # "cancelled" never overtakes "confirmed"
    make_due(database)
    sender.deliver_due()
    bodies = [m.form["Body"] for m in fake_twilio.messages]
    assert len(bodies) == 2 and "booked" in bodies[0] and "cancelled" in bodies[1]


def test_without_twilio_credentials_messages_stay_pending_and_nothing_is_claimed(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore,
        fake_twilio: FakeTwilioRest, caplog: pytest.LogCaptureFixture) -> None:
    book(booking)
    sender = NotificationSender(outbox, gateway_for(fake_twilio, account_sid=None))
    for _ in range(3):
        assert sender.deliver_due().skipped_unconfigured
    (row,) = outbox_rows(database)
    assert row["status"] == "pending" and row["attempts"] == 0
    assert sum("no Twilio credentials" in r.getMessage() for r in caplog.records) == 1  # said once, not spun


def test_no_sender_number_at_all_fails_the_message_with_a_reason(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore,
        fake_twilio: FakeTwilioRest) -> None:
    database.scalar("UPDATE restaurants SET twilio_number = NULL WHERE slug = 'demo-bistro' RETURNING 1")
    book(booking)
    assert NotificationSender(outbox, gateway_for(fake_twilio)).deliver_due().failed == 1
    assert "no sender" in outbox_rows(database)[0]["last_error"]


def test_a_messaging_service_is_used_instead_of_a_from_number_when_configured(
        booking: BookingService, outbox: PostgresOutboxStore, fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    service = "MG" + "0" * 32
    NotificationSender(outbox, gateway_for(fake_twilio, messaging_service_sid=service)).deliver_due()
    form = fake_twilio.messages[0].form
    assert form["MessagingServiceSid"] == service and "From" not in form


def test_twilio_unreachable_is_transient(booking: BookingService, database: TestDatabase,
                                        outbox: PostgresOutboxStore, fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    gateway = gateway_for(fake_twilio, base_url="http://127.0.0.1:1", timeout=1.0)
    assert NotificationSender(outbox, gateway).deliver_due().retrying == 1
    assert outbox_rows(database)[0]["last_error"].startswith("Twilio unreachable")


# -- concurrency: never two sends of one row ------------------------------------------------------------

def test_four_concurrent_senders_send_each_of_forty_messages_exactly_once(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore,
        fake_twilio: FakeTwilioRest) -> None:
    for i in range(40):
        book(booking, f"+1212555{1000 + i:04d}", hour=17 + i % 5, weeks=1 + i // 5)
    senders = [NotificationSender(outbox, gateway_for(fake_twilio), batch=3) for _ in range(4)]
    barrier = threading.Barrier(4)
    reports = []

    def run(s: NotificationSender) -> None:
        barrier.wait()
        reports.append(s.deliver_due())

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    sent_to = [m.form["To"] for m in fake_twilio.messages]
    assert len(sent_to) == 40 and len(set(sent_to)) == 40
    assert sum(r.sent for r in reports) == 40
    assert sum(1 for r in reports if r.sent) >= 2  # the work really was shared
    rows = outbox_rows(database)
    assert all(r["status"] == "sent" and r["attempts"] == 1 for r in rows)
    assert len({r["provider_sid"] for r in rows}) == 40


def test_a_sender_whose_lease_ran_out_cannot_record_over_the_one_that_took_over(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore,
        fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    (stale,) = outbox.claim(10, timedelta(seconds=30))
    database.scalar("UPDATE notification_outbox SET lease_until = now() - interval '1 second' RETURNING 1")
    assert NotificationSender(outbox, gateway_for(fake_twilio)).deliver_due().sent == 1  # took it over
    assert not outbox.finish(stale, "sent", provider_sid="SM" + "f" * 32)  # the slow one records nothing
    assert not outbox.finish(stale, "retry", error="late", retry_in=timedelta(seconds=1))
    (row,) = outbox_rows(database)
    assert row["status"] == "sent" and row["provider_sid"] == fake_twilio.messages[0].sid and row["attempts"] == 2


def test_a_live_lease_is_not_claimed_twice(booking: BookingService, outbox: PostgresOutboxStore) -> None:
    book(booking)
    assert len(outbox.claim(10, timedelta(seconds=30))) == 1
    assert outbox.claim(10, timedelta(seconds=30)) == []


def test_a_message_whose_senders_keep_dying_is_given_up(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore,
        fake_twilio: FakeTwilioRest) -> None:
    book(booking)
    for _ in range(3):
        outbox.claim(10, timedelta(seconds=30))  # a sender claims, then dies
        database.scalar("UPDATE notification_outbox SET lease_until = now() - interval '1 second' RETURNING 1")
    sender = NotificationSender(outbox, gateway_for(fake_twilio), retry=RetryPolicy(max_attempts=3))
    assert sender.deliver_due().failed == 1
    assert fake_twilio.messages == [] and outbox_rows(database)[0]["status"] == "failed"


@pytest.mark.parametrize(("limit", "lease"), [(0, 30), (501, 30), (10, 1), (10, 99999)])
def test_claims_outside_their_bounds_are_refused(outbox: PostgresOutboxStore, limit: int, lease: int) -> None:
    from frontdesk.core.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        outbox._all("SELECT * FROM claim_notifications_v1(%s, %s)", [limit, lease])


def test_an_unknown_outcome_is_refused(booking: BookingService, outbox: PostgresOutboxStore) -> None:
    from frontdesk.core.errors import InvalidRequest

    book(booking)
    (claimed,) = outbox.claim(1, timedelta(seconds=30))
    with pytest.raises(InvalidRequest):
        outbox.finish(claimed, "delivered", provider_sid="x")  # type: ignore[arg-type]


def test_guest_names_are_data_not_template_code(booking: BookingService, sender: NotificationSender,
                                                fake_twilio: FakeTwilioRest) -> None:
    book(booking, name="{restaurant.__class__} {0}")
    sender.deliver_due()
    assert "{restaurant.__class__} {0}, your table" in fake_twilio.messages[0].form["Body"]


# -- the wall clock in the text: midnight and DST ---------------------------------------------------------

def test_the_text_gives_the_guests_own_wall_clock_after_midnight_and_in_the_fall_back_hour(
        booking: BookingService, database: TestDatabase, make_restaurant: Callable[..., UUID],
        sender: NotificationSender, fake_twilio: FakeTwilioRest) -> None:
    from tests.support.dates import next_dst_changes

    late_bar = make_restaurant(twilio_number="+15555550177", hours={d: [(time(20), time(3))] for d in range(1, 8)})
    _, fall_back = next_dst_changes()
    saturday = next_weekday(6)
    # 00:30 after a Saturday service: counted on Saturday, but the guest comes on Sunday.
    late = booking.commit_slot(late_bar, SlotRequest(2, local_date=saturday + timedelta(days=1),
                                                        local_time=time(0, 30)), Guest("Ana", "+12125550101"))
    # 01:30 on the fall-back day means its first occurrence (still daylight time).
    fold = booking.commit_slot(late_bar, SlotRequest(2, local_date=fall_back, local_time=time(1, 30)),
                               Guest("Ben", "+12125550102"))
    assert late.service_date == saturday
    rows = {r["reservation_id"]: r["payload"] for r in outbox_rows(database)}
    assert (rows[late.id]["local_date"], rows[late.id]["local_time"]) == (
        (saturday + timedelta(days=1)).isoformat(), "00:30")
    assert (rows[fold.id]["local_date"], rows[fold.id]["local_time"]) == (fall_back.isoformat(), "01:30")
    sender.deliver_due()
    bodies = {m.form["To"]: m.form["Body"] for m in fake_twilio.messages}
    sunday = saturday + timedelta(days=1)
    assert f"Sun {sunday.day} {sunday.strftime('%b')} at 00:30" in bodies["+12125550101"]
    assert f"{fall_back.day} {fall_back.strftime('%b')} at 01:30" in bodies["+12125550102"]
