"""A restaurant's day, end to end, through the real entry points: the owner sets up with the ``frontdesk`` CLI,
a guest books by phone (Twilio caller simulator -> bridge -> fake Realtime model -> the REAL booking API on
PostgreSQL and Redis), the confirmation SMS leaves the outbox through the real sender to the fake Twilio REST
server, the guest is welcomed back on the next call, staff seat and complete the booking from the CLI, and a
closure that would strand a booking is refused until forced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.adapters.sms_twilio import TwilioSmsGateway
from frontdesk.core.notifications import NotificationSender, RetryPolicy
from tests.doubles.bridge_harness import BridgeHarness, run
from tests.doubles.fake_twilio_rest import FakeTwilioRest, serve_in_thread
from tests.support.cli import CliResult, run_cli
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.slow

SLUG = "chez-ana"
RESTAURANT_NUMBER = "+12125550100"
CALLER = "+15551230000"  # what the Twilio caller simulator presents as caller id
TEMPLATE = "{restaurant}: see you {date} at {time}, {guest_name}! Table for {party_size}."


def a_zone_where_it_is_about_noon() -> ZoneInfo:
    """A fixed-offset zone in which it is now between 12:00 and 13:00, so today's booking a few minutes ahead
    never crosses midnight or the opening hours, whenever the suite runs."""
    hours = (12 - datetime.now(UTC).hour) % 24
    hours = hours - 24 if hours > 14 else hours
    return ZoneInfo("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}")  # Etc/GMT-2 is UTC+2


def the_next_quarter_hour(zone: ZoneInfo) -> datetime:
    """The first quarter hour at least five minutes from now, at the restaurant."""
    soon = datetime.now(zone) + timedelta(minutes=5)
    return (soon + timedelta(minutes=-soon.minute % 15)).replace(second=0, microsecond=0)


def its_start_comes(database: TestDatabase, reservation_id: str, minutes_ago: int = 30) -> None:
    """Time passes: the booking now started ``minutes_ago`` minutes ago, same length (the floor may complete a
    booking only once it has started). A plain UPDATE as the admin role, so the triggers move its load and its
    table with it; the SMS trigger is held off, as time passing is no change a guest hears about."""
    with database.connect() as conn, conn.transaction():
        conn.execute("ALTER TABLE reservations DISABLE TRIGGER reservations_enqueue_sms")
        moved = conn.execute(
            "UPDATE reservations SET during = tstzrange(s.start, s.start + (upper(during) - lower(during)))"
            "  FROM (SELECT clock_timestamp() - make_interval(mins => %s) AS start) s"
            " WHERE id = %s RETURNING id", (minutes_ago, UUID(reservation_id))).fetchone()
        conn.execute("ALTER TABLE reservations ENABLE TRIGGER reservations_enqueue_sms")
    assert moved is not None


def cli(database: TestDatabase, *args: str, actor: str = "owner") -> CliResult:
    result = run_cli(*args, database=database, actor=actor)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, (result.stdout, result.stderr)
    return result


def set_up_the_restaurant(database: TestDatabase, zone: ZoneInfo) -> str:
    """What an owner types on day one; returns the restaurant's id."""
    created = ok(cli(database, "restaurants", "create", SLUG, "--name", "Chez Ana", "--timezone",
                     zone.key, "--covers", "30", "--twilio-number", RESTAURANT_NUMBER,
                     "--failover-number", "+12125550111", "--notice-minutes", "0", "--json")).json()
    restaurant_id = str(created["restaurant"]["id"])
    ok(cli(database, "hours", "set", SLUG, "daily", "08:00-22:00"))
    ok(cli(database, "tables", "add", SLUG, "T1", "--max", "2"))
    ok(cli(database, "tables", "add", SLUG, "T2", "--min", "3", "--max", "4"))
    ok(cli(database, "tables", "combine", SLUG, "T1+T2", "--tables", "T1,T2", "--min", "5", "--max", "6"))
    ok(cli(database, "sms", "template", "set", SLUG, "confirmed", TEMPLATE))
    return restaurant_id


def phone_booking(booking_url: str, restaurant_id: str, day: str, at: str) -> tuple[str, list[dict[str, Any]]]:
    """A caller books a table for four on ``day`` ``at``; returns the reservation id and the model's
    tool outputs."""

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        async with BridgeHarness(booking_url=booking_url) as h:
            caller, model = await h.call(restaurant_id=restaurant_id, caller_number=CALLER)
            instructions = model.session_config["instructions"]
            assert "Chez Ana" in instructions and "Welcome back" not in instructions
            await model.respond(function_call=("check_availability", {"date": day, "time": at,
                                                                      "party_size": 4}))
            await model.wait_for("response.create", count=2)
            await model.respond(function_call=("book_reservation", {"guest_name": "Ana Lopez"}))
            await model.wait_for("response.create", count=3)
            outputs = model.outputs()
            assert h.model.violations == [] and caller.violations == []
            await caller.stop()
            return outputs[1].get("reservation_id", ""), outputs

    return run(scenario(), timeout=30)


def instructions_of_a_second_call(booking_url: str, restaurant_id: str) -> str:
    async def scenario() -> str:
        async with BridgeHarness(booking_url=booking_url) as h:
            caller, model = await h.call(restaurant_id=restaurant_id, caller_number=CALLER)
            instructions: str = model.session_config["instructions"]
            assert h.model.violations == [] and caller.violations == []
            await caller.stop()
            return instructions

    return run(scenario(), timeout=30)


def deliver_sms(database: TestDatabase, fake: FakeTwilioRest) -> Any:
    """The real sender, as the notifier Lambda and the local sweeper build it, as the least-privileged login."""
    outbox = PostgresOutboxStore(database.app_url, max_size=2)
    try:
        gateway = TwilioSmsGateway(account_sid=fake.account_sid, auth_token=lambda: fake.auth_token,
                                   base_url=fake.url, timeout=5.0)
        sender = NotificationSender(outbox, gateway, lease=timedelta(seconds=30), retry=RetryPolicy(max_attempts=3))
        return sender.deliver_due()
    finally:
        outbox.close()


def tables_of(database: TestDatabase, reservation_id: str) -> list[str]:
    return [name for (name,) in database.rows(
        "SELECT t.name FROM reservation_tables rt JOIN dining_tables t ON t.id = rt.table_id"
        " WHERE rt.reservation_id = %s ORDER BY t.name", (UUID(reservation_id),))]


def test_an_owner_sets_up_a_guest_books_by_phone_gets_a_text_is_welcomed_back_and_a_closure_needs_force(
        booking_api: Any, database: TestDatabase) -> None:
    # 1. The owner sets the restaurant up from the command line.
    zone = a_zone_where_it_is_about_noon()
    restaurant_id = set_up_the_restaurant(database, zone)
    start = the_next_quarter_hour(zone)
    day, at = start.date().isoformat(), f"{start:%H:%M}"

    # 2. A caller books lunch for today by phone; the engine gives the party of four the smallest table that fits.
    reservation_id, outputs = phone_booking(booking_api.url, restaurant_id, day, at)
    held, booked = outputs
    assert held["available"] is True, held
    assert booked["booked"] is True and booked["reservation_id"] == reservation_id, booked
    row = database.rows(
        "SELECT guest_name, guest_phone, party_size, status, channel, service_date::text,"
        " to_char(lower(during) AT TIME ZONE %s, 'HH24:MI'), restaurant_id::text"
        " FROM reservations WHERE id = %s", (zone.key, UUID(reservation_id)))
    assert row == [("Ana Lopez", CALLER, 4, "confirmed", "phone_agent", day, at, restaurant_id)]
    assert tables_of(database, reservation_id) == ["T2"]

    # 3. The outbox row written with the booking goes out through the real sender, in the owner's words.
    (outbox_row,) = database.rows("SELECT reservation_id::text, kind, to_phone, status FROM notification_outbox")
    assert outbox_row == (reservation_id, "confirmed", CALLER, "pending")
    with serve_in_thread(FakeTwilioRest()) as fake_twilio:
        report = deliver_sms(database, fake_twilio)
        assert (report.sent, report.failed, report.retrying) == (1, 0, 0)
        (sms,) = fake_twilio.messages
    assert sms.form["To"] == CALLER and sms.form["From"] == RESTAURANT_NUMBER
    assert sms.form["Body"] == (f"Chez Ana: see you {start:%a} {start.day} {start:%b} at {at}, Ana Lopez! "
                                "Table for 4.")
    assert database.rows("SELECT status, provider_sid FROM notification_outbox") == [("sent", report.sids[0])]

    # 4. The same number calls again and the model is told to welcome them back by name.
    instructions = instructions_of_a_second_call(booking_api.url, restaurant_id)
    assert '"Thanks for calling Chez Ana. Welcome back, Ana! How can I help?"' in instructions
    assert "Lopez" not in instructions

    # 5. Staff seat the party (early: they arrived early), then complete it once its time has come: one visit
    # remembered, and T2 is free again for the same time.
    ben = ("reservations", "book", SLUG, "--date", day, "--time", at, "--party", "4", "--name", "Ben Okafor",
           "--phone", "+12125550177")
    ok(cli(database, "reservations", "seat", reservation_id, actor="maria"))
    while_seated = cli(database, *ben, actor="maria")  # T2 is taken and T1+T2 needs T2: no table fits
    assert (while_seated.code, while_seated.stderr.strip()) == (1, f"frontdesk: no table for 4 at {at}")
    its_start_comes(database, reservation_id)  # it still holds T2 over the time Ben asks for
    assert tables_of(database, reservation_id) == ["T2"]
    assert cli(database, *ben, actor="maria").code == 1
    done = ok(cli(database, "reservations", "complete", reservation_id, "--json", actor="maria")).json()
    assert done["status"] == "completed"
    guest = ok(cli(database, "guests", "show", SLUG, CALLER, "--json")).json()
    assert (guest["name"], guest["visit_count"], guest["no_show_count"]) == ("Ana Lopez", 1, 0)
    again = ok(cli(database, *ben, "--json", actor="maria")).json()
    second_id = str(again["id"])
    assert tables_of(database, second_id) == ["T2"]
    assert database.rows("SELECT kind, actor FROM event_log WHERE reservation_id = %s ORDER BY id",
                         (UUID(reservation_id),)) == [("reservation.confirmed", "api"),
                                                      ("reservation.seated", "cli:maria"),
                                                      ("reservation.completed", "cli:maria")]

    # 6. Closing that date while Ben's booking stands is refused, listing it, and changes nothing ...
    log_before = database.scalar("SELECT count(*) FROM event_log")
    refused = cli(database, "special-days", "add", SLUG, day, "--closed", "--reason", "private event")
    assert refused.code == 1, (refused.stdout, refused.stderr)
    assert refused.stderr.startswith("frontdesk: the change would strand 1 booking(s)"), refused.stderr
    assert second_id in refused.stderr and "Ben Okafor" in refused.stderr and "--force" in refused.stderr
    assert reservation_id not in refused.stderr  # a completed booking is not stranded
    assert database.scalar("SELECT count(*) FROM special_days") == 0
    assert database.scalar("SELECT count(*) FROM event_log") == log_before
    # ... and with --force it applies, the booking still listed, and the log names the owner.
    forced = ok(cli(database, "special-days", "add", SLUG, day, "--closed", "--reason", "private event",
                    "--force"))
    assert "Applied with --force: 1 booking(s)" in forced.stdout and "Ben Okafor" in forced.stdout
    assert database.rows("SELECT starts_on::text, ends_on::text, closed FROM special_days") == [(day, day, True)]
    assert database.rows("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == [("cli:owner",)]
    assert database.rows("SELECT status FROM reservations WHERE id = %s", (UUID(second_id),)) == [("confirmed",)]
