"""`frontdesk sms` as staff use it, against real PostgreSQL (and the fake Twilio REST server for `sweep`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.model import Guest
from tests.doubles.fake_twilio_rest import FakeTwilioRest, serve_in_thread
from tests.support.cli import run_cli
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

ANA = "+12125550101"


def book(booking: BookingService, phone: str = ANA, name: str = "Ana") -> None:
    booking.commit_slot("demo-bistro", SlotRequest(2, local_date=next_weekday(4), local_time=time(19)),
                        Guest(name, phone))


@pytest.fixture
def fake_twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilioRest]:
    """Twilio credentials as an operator's shell would have them, aimed at the fake REST server."""
    with serve_in_thread(FakeTwilioRest()) as fake:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
        monkeypatch.setenv("TWILIO_API_BASE_URL", fake.url)
        yield fake


@pytest.fixture
def no_twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SECRET_ARN", "TWILIO_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_template_show_lists_each_kind_with_its_default_wording_and_a_preview(database: TestDatabase) -> None:
    result = run_cli("sms", "template", "show", "demo-bistro", database=database)
    assert result.code == 0, result.stderr
    assert "Demo Bistro — SMS templates" in result.stdout
    for kind in ("confirmed", "modified", "cancelled"):
        assert kind in result.stdout
    assert "Ana, your table for 4 is booked for Thu 10 Dec at 19:30" in result.stdout
    rows = run_cli("sms", "template", "show", "demo-bistro", "--json", database=database).json()
    assert [(r["kind"], r["custom"]) for r in rows] == [("confirmed", False), ("modified", False),
                                                         ("cancelled", False)]


def test_template_set_saves_the_wording_audits_it_and_delivery_uses_it(
        database: TestDatabase, booking: BookingService, fake_twilio: FakeTwilioRest) -> None:
    result = run_cli("sms", "template", "set", "demo-bistro", "confirmed",
                     "{guest_name}: table for {party_size}, {date} {time}. {restaurant}", database=database)
    assert result.code == 0, result.stderr
    assert "Preview: Ana: table for 4, Thu 10 Dec 19:30. Demo Bistro" in result.stdout
    shown = run_cli("sms", "template", "show", "demo-bistro", "confirmed", "--json", database=database).json()
    assert shown == [{"kind": "confirmed", "source": "custom", "custom": True,
                      "text": "{guest_name}: table for {party_size}, {date} {time}. {restaurant}",
                      "preview": "Ana: table for 4, Thu 10 Dec 19:30. Demo Bistro"}]
    assert database.rows("SELECT actor, payload->>'kind' FROM event_log WHERE kind = 'sms_template.set'") == [
        ("cli:tester", "confirmed")]
    book(booking)
    swept = run_cli("sms", "sweep", "--json", database=database)
    assert swept.code == 0, swept.stderr
    assert swept.json()["sent"] == 1
    assert fake_twilio.messages[0].form["Body"].startswith("Ana: table for 2, ")
    back = run_cli("sms", "template", "set", "demo-bistro", "confirmed", "--default", database=database)
    assert back.code == 0 and "default wording" in back.stdout
    assert database.scalar("SELECT count(*) FROM sms_templates") == 0


@pytest.mark.parametrize(("args", "says"), [
    (("confirmed", "Hi {name}"), "unknown placeholder {name}"),
    (("confirmed", "Was {previous_time}"), "unknown placeholder {previous_time}"),
    (("confirmed", "{restaurant}" * 9), "could reach"),
    (("confirmed", "x" * 481), "limit is 480"),
    (("confirmed", "oops {"), "not valid"),
    (("confirmed", "   "), "empty"),
    (("reminder", "Hi"), "unknown message kind 'reminder'"),
    (("confirmed",), "give the new TEXT, or --default"),
    (("confirmed", "Hi", "--default"), "give the new TEXT, or --default"),
])
def test_a_bad_template_is_refused_in_one_line_and_nothing_is_saved(
        database: TestDatabase, args: tuple[str, ...], says: str) -> None:
    result = run_cli("sms", "template", "set", "demo-bistro", *args, database=database)
    assert result.code == 1
    assert result.stderr.startswith("frontdesk: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert database.scalar("SELECT count(*) FROM sms_templates") == 0


def test_outbox_lists_messages_newest_first_and_filters_by_status(
        database: TestDatabase, booking: BookingService) -> None:
    book(booking, ANA, "Ana")
    book(booking, "+12125550102", "Ben")
    run_cli("sms", "opt-out", "demo-bistro", "+12125550102", database=database)
    database.scalar("UPDATE notification_outbox SET status = 'failed', last_error = 'Twilio 400 error 21211'"
                    " WHERE to_phone = %s RETURNING 1", [ANA])
    table = run_cli("sms", "outbox", "demo-bistro", database=database)
    assert table.code == 0, table.stderr
    assert "SMS outbox" in table.stdout and "Twilio 400 error 21211" in table.stdout
    rows = run_cli("sms", "outbox", "demo-bistro", "--json", database=database).json()
    assert [r["to_phone"] for r in rows] == ["+12125550102", ANA]
    failed = run_cli("sms", "outbox", "demo-bistro", "--status", "failed", "--json", database=database).json()
    assert [r["to_phone"] for r in failed] == [ANA]
    empty = run_cli("sms", "outbox", "demo-bistro", "--status", "sent", database=database)
    assert empty.code == 0 and "no messages" in empty.stdout


def test_opt_out_suppresses_at_sweep_and_opt_in_resumes(
        database: TestDatabase, booking: BookingService, fake_twilio: FakeTwilioRest) -> None:
    out = run_cli("sms", "opt-out", "demo-bistro", ANA, database=database)
    assert out.code == 0 and f"{ANA} gets no texts from Demo Bistro." in out.stdout
    again = run_cli("sms", "opt-out", "demo-bistro", ANA, "--json", database=database)
    assert again.json() == {"restaurant": "demo-bistro", "phone": ANA, "opted_out": True, "changed": False}
    book(booking)
    assert run_cli("sms", "sweep", database=database).code == 0
    assert fake_twilio.messages == []
    assert database.scalar("SELECT status FROM notification_outbox") == "suppressed"
    back = run_cli("sms", "opt-in", "demo-bistro", ANA, database=database)
    assert back.code == 0 and "gets texts from Demo Bistro." in back.stdout
    assert database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


def test_sweep_without_twilio_credentials_says_what_to_set_and_sends_nothing(
        database: TestDatabase, booking: BookingService, no_twilio: None) -> None:
    book(booking)
    result = run_cli("sms", "sweep", database=database)
    assert result.code == 1
    assert result.stderr.strip() == ("frontdesk: no Twilio credentials: set TWILIO_ACCOUNT_SID and "
                                     "TWILIO_AUTH_TOKEN, then sweep again (nothing was sent; the messages are "
                                     "still pending)")
    assert database.scalar("SELECT status FROM notification_outbox") == "pending"


@pytest.mark.parametrize("args", [
    ("sms", "opt-out", "demo-bistro", "2125550101"),
    ("sms", "opt-out", "demo-bistro", "+1 212 555 0101"),
    ("sms", "opt-in", "demo-bistro", "'; DROP TABLE sms_opt_outs; --"),
    ("sms", "opt-out", "no-such-place", ANA),
    ("sms", "template", "show", "no-such-place"),
    ("sms", "template", "show", "demo-bistro", "reminder"),
    ("sms", "outbox", "demo-bistro", "--status", "lost"),
    ("sms", "outbox", "00000000-0000-0000-0000-000000000000"),
])
def test_garbage_arguments_fail_in_one_line_without_a_traceback(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = run_cli(*args, database=database)
    assert result.code == 1, result.stdout
    assert result.stderr.startswith("frontdesk: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert database.scalar("SELECT count(*) FROM sms_opt_outs") == 0


@pytest.mark.parametrize("args", [
    ("sms",), ("sms", "template"), ("sms", "explode"), ("sms", "opt-out", "demo-bistro"),
    ("sms", "outbox", "demo-bistro", "--limit", "0"), ("sms", "outbox", "demo-bistro", "--limit", "many"),
    ("sms", "template", "set"),
])
def test_bad_usage_exits_2(database: TestDatabase, args: tuple[str, ...]) -> None:
    result = run_cli(*args, database=database)
    assert result.code == 2
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("args", [("sms",), ("sms", "template"), ("sms", "template", "show"),
                                  ("sms", "template", "set"), ("sms", "outbox"), ("sms", "sweep"),
                                  ("sms", "opt-out"), ("sms", "opt-in")])
def test_every_sms_command_explains_itself(args: tuple[str, ...]) -> None:
    result = run_cli(*args, "--help")
    assert result.code == 0 and "usage: frontdesk" in result.stdout.lower()


def test_the_least_privileged_api_role_can_run_the_staff_commands_through_the_functions(
        database: TestDatabase) -> None:
    assert run_cli("sms", "opt-out", "demo-bistro", ANA, database=database, admin=False).code == 0
    assert run_cli("sms", "template", "set", "demo-bistro", "cancelled", "Sorry {guest_name}",
                   database=database, admin=False).code == 0


# -- delivery receipts and retention ------------------------------------------------------------------------

def _receipt(database: TestDatabase, phone: str, status: str, error: str | None = None) -> None:
    assert database.scalar("SELECT record_sms_delivery_v1(provider_sid, %s, %s, false, 'test')"
                           "  FROM notification_outbox WHERE to_phone = %s", [status, error, phone]) == "recorded"


def test_outbox_shows_what_twilio_reported_and_filters_on_it(
        database: TestDatabase, booking: BookingService, fake_twilio: FakeTwilioRest) -> None:
    ben, cleo = "+12125550102", "+12125550103"
    for phone, name in ((ANA, "Ana"), (ben, "Ben"), (cleo, "Cleo")):
        book(booking, phone, name)
    assert run_cli("sms", "sweep", database=database).code == 0
    _receipt(database, ANA, "delivered")
    _receipt(database, ben, "undelivered", "Twilio error 30003")
    table = run_cli("sms", "outbox", "demo-bistro", database=database)
    assert table.code == 0, table.stderr
    assert "Delivery" in table.stdout and "undelivered" in table.stdout and "delivered " in table.stdout
    assert "Twilio error 30003" in table.stdout
    rows = run_cli("sms", "outbox", "demo-bistro", "--json", database=database).json()
    assert {r["to_phone"]: r["delivery_status"] for r in rows} == {ANA: "delivered", ben: "undelivered", cleo: None}

    def phones(*args: str) -> list[str]:
        result = run_cli("sms", "outbox", "demo-bistro", *args, "--json", database=database)
        assert result.code == 0, result.stderr
        return [r["to_phone"] for r in result.json()]

    assert phones("--delivery", "undelivered") == [ben]
    assert phones("--status", "undelivered") == [ben]  # a delivery-only word means the delivery filter
    assert phones("--status", "delivered") == [ANA]
    assert phones("--delivery", "none") == [cleo]
    assert phones("--status", "sent", "--delivery", "delivered") == [ANA]
    assert phones("--delivery", "failed") == []


@pytest.mark.parametrize(("args", "says"), [
    (("--delivery", "lost"), "--delivery must be one of none, queued, sent, delivered, undelivered, failed"),
    (("--status", "delivered", "--delivery", "failed"), "contradict"),
    (("--status", "read"), "--status must be one of"),
])
def test_a_bad_delivery_filter_is_refused_in_one_line(
        database: TestDatabase, args: tuple[str, ...], says: str) -> None:
    result = run_cli("sms", "outbox", "demo-bistro", *args, database=database)
    assert result.code == 1
    assert result.stderr.startswith("frontdesk: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_sweep_deletes_settled_messages_past_the_retention_period_and_keeps_the_rest(
        database: TestDatabase, booking: BookingService, fake_twilio: FakeTwilioRest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    book(booking, ANA, "Ana")
    assert run_cli("sms", "sweep", database=database).code == 0  # sent now
    database.scalar("UPDATE notification_outbox SET created_at = now() - interval '120 days',"
                    " next_attempt_at = now() - interval '120 days', sent_at = now() - interval '120 days'"
                    " RETURNING 1")
    book(booking, "+12125550102", "Ben")
    database.scalar("UPDATE notification_outbox SET created_at = now() - interval '200 days'"
                    " WHERE status = 'pending' RETURNING 1")  # written long ago, sent only now: not old
    monkeypatch.setenv("SMS_RETENTION_DAYS", "150")
    kept = run_cli("sms", "sweep", "--json", database=database).json()
    assert kept["sent"] == 1 and kept["pruned"] == 0  # 120 days < 150: kept
    monkeypatch.setenv("SMS_RETENTION_DAYS", "100")
    result = run_cli("sms", "sweep", database=database)
    assert result.code == 0, result.stderr
    assert "pruned 1 older than 100 days" in result.stdout
    assert database.rows("SELECT to_phone, status FROM notification_outbox") == [("+12125550102", "sent")]
