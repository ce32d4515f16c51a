"""Guest memory and the floor's status changes on real PostgreSQL and Redis, connected as app_user."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import pytest

from frontdesk.adapters.guests_pg import PostgresGuestStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import (
    GuestNotFound,
    InvalidRequest,
    InvalidStateTransition,
    ReservationNotFound,
    RestaurantNotFound,
    SlotUnavailable,
)
from frontdesk.core.guests import GuestBook, GuestChanges
from frontdesk.core.model import Guest, ReservationStatus
from tests.support.databases import (
    TestDatabase,
    create_database,
    drop_database,
    start_in_the_past,
    unique_name,
)
from tests.support.dates import next_weekday

MIGRATIONS = Path(__file__).resolve().parents[2] / "sql" / "migrations"
ANA = Guest("Ana", "+12125550101")
BEN = Guest("Ben", "+12125550102")


def at(day, hh: int, mm: int = 0, party: int = 2) -> SlotRequest:
    return SlotRequest(party, local_date=day, local_time=time(hh, mm))


@pytest.fixture
def guests(booking: BookingService, database: TestDatabase):
    store = PostgresGuestStore(database.app_url)
    try:
        yield GuestBook(store, booking.store)
    finally:
        store.close()


def counters(database: TestDatabase, phone: str = ANA.phone) -> tuple[int, int]:
    return database.rows("SELECT visit_count, no_show_count FROM guests WHERE phone = %s", [phone])[0]


def test_a_first_booking_creates_the_guest_with_the_booking_name(booking: BookingService, guests: GuestBook) -> None:
    with pytest.raises(GuestNotFound):
        guests.lookup("demo-bistro", ANA.phone)
    booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    guest = guests.lookup("demo-bistro", ANA.phone)
    assert (guest.name, guest.visit_count, guest.no_show_count, guest.last_visit_on) == ("Ana", 0, 0, None)


def test_the_stored_name_wins_over_a_later_bookings_name_unless_it_is_empty(
    booking: BookingService, guests: GuestBook, database: TestDatabase
) -> None:
    day = next_weekday(2)
    booking.commit_slot("demo-bistro", at(day, 17), ANA)
    guests.update("demo-bistro", ANA.phone, GuestChanges(name="Ana María"), actor="maria")
    booking.commit_slot("demo-bistro", at(day, 20), Guest("Anna", ANA.phone))
    assert guests.lookup("demo-bistro", ANA.phone).name == "Ana María"
    # a guest staff noted by number alone takes the name of their first booking
    guests.update("demo-bistro", BEN.phone, GuestChanges(notes="regular, likes the window"), actor="maria")
    assert guests.lookup("demo-bistro", BEN.phone).name == ""
    booking.commit_slot("demo-bistro", at(day, 19), BEN)
    ben = guests.lookup("demo-bistro", BEN.phone)
    assert (ben.name, ben.notes) == ("Ben", "regular, likes the window")
    assert database.scalar("SELECT count(*) FROM guests") == 2


def test_seated_then_completed_counts_one_visit_and_a_no_show_counts_a_no_show(
    booking: BookingService, guests: GuestBook, database: TestDatabase
) -> None:
    first = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    second = booking.commit_slot("demo-bistro", at(next_weekday(3), 19), ANA)
    start_in_the_past(database, first.id, minutes_ago=300)
    start_in_the_past(database, second.id, minutes_ago=30)
    assert booking.set_status(first.id, "seated", actor="maria").status is ReservationStatus.SEATED
    assert counters(database) == (1, 0)
    assert booking.set_status(first.id, "completed", actor="maria").status is ReservationStatus.COMPLETED
    assert counters(database) == (1, 0)
    booking.set_status(second.id, "no_show", actor="maria")
    guest = guests.lookup("demo-bistro", ANA.phone)
    assert (guest.visit_count, guest.no_show_count) == (1, 1)
    assert guest.last_visit_on == booking.get(first.id).service_date  # the day it moved to
    assert database.rows("SELECT kind, actor, payload->>'from' FROM event_log WHERE kind <> 'reservation.confirmed'"
                         " ORDER BY id") == [("reservation.seated", "maria", "confirmed"),
                                             ("reservation.completed", "maria", "seated"),
                                             ("reservation.no_show", "maria", "confirmed")]


def test_completed_without_being_seated_still_counts_one_visit(
    booking: BookingService, database: TestDatabase
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    start_in_the_past(database, reservation.id)
    booking.set_status(reservation.id, "completed")
    assert counters(database) == (1, 0)


def test_a_no_show_corrected_to_seated_moves_the_count_instead_of_adding(
    booking: BookingService, database: TestDatabase
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    start_in_the_past(database, reservation.id)
    # the move took its capacity along: the counters still equal the bookings
    assert database.rows("SELECT * FROM bucket_loads_drift_v1(%s)", [reservation.restaurant_id]) == []
    booking.set_status(reservation.id, "no_show")
    assert counters(database) == (0, 1)
    assert database.scalar("SELECT parties_present FROM bucket_loads WHERE parties_present > 0 LIMIT 1") is None
    seated = booking.set_status(reservation.id, "seated")
    assert seated.status is ReservationStatus.SEATED
    assert counters(database) == (1, 0)
    # seated again counts for capacity; the counters still equal the bookings
    turn_buckets = (seated.end - seated.start) // timedelta(minutes=15)
    assert database.scalar("SELECT count(*) FROM bucket_loads WHERE parties_present = 1") == turn_buckets
    assert database.rows("SELECT * FROM bucket_loads_drift_v1(%s)", [reservation.restaurant_id]) == []


def test_marking_the_same_status_again_is_a_harmless_replay(booking: BookingService, database: TestDatabase) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    first = booking.set_status(reservation.id, "seated")
    again = booking.set_status(reservation.id, "seated")
    assert again.replayed and not first.replayed and again.updated_at == first.updated_at
    assert counters(database) == (1, 0)
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'reservation.seated'") == 1


@pytest.mark.parametrize(("path", "refused"), [
    (["cancelled"], "seated"), (["cancelled"], "no_show"), (["seated"], "no_show"),
    (["completed"], "seated"), (["completed"], "no_show"), (["no_show"], "completed"),
    (["seated", "completed"], "seated"),
])
def test_transitions_the_floor_does_not_allow_are_refused_and_change_nothing(
    booking: BookingService, database: TestDatabase, path: list[str], refused: str
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    start_in_the_past(database, reservation.id)  # so only the transition itself can be what is refused
    for status in path:
        if status == "cancelled":
            booking.cancel(reservation.id)
        else:
            booking.set_status(reservation.id, status)
    before = (booking.get(reservation.id), counters(database),
              database.scalar("SELECT count(*) FROM event_log"))
    with pytest.raises(InvalidStateTransition, match=f"cannot be marked {refused.replace('_', '-')}"):
        booking.set_status(reservation.id, refused)
    assert (booking.get(reservation.id), counters(database),
            database.scalar("SELECT count(*) FROM event_log")) == before


# -- no-show and completed only once the booking's start has come --------------------------------------------

def floor_state(database: TestDatabase, reservation_id: UUID) -> tuple[object, ...]:
    """Everything a status change touches: the booking, the guest, capacity, tables, the audit log."""
    return (database.rows("SELECT status, updated_at FROM reservations WHERE id = %s", [reservation_id]),
            database.rows("SELECT phone, visit_count, no_show_count, last_visit_on FROM guests ORDER BY phone"),
            database.rows("SELECT bucket, covers_present, parties_present, covers_starting FROM bucket_loads"
                          " WHERE covers_present <> 0 OR parties_present <> 0 OR covers_starting <> 0 ORDER BY bucket"),
            database.rows("SELECT reservation_id, table_id, live, during FROM reservation_tables ORDER BY table_id"),
            database.scalar("SELECT count(*) FROM event_log"))


def with_a_table(database: TestDatabase) -> None:
    database.scalar("SELECT add_dining_table_v1(id, 'T2', '', 1, 2, true, 'test') FROM restaurants"
                    " WHERE slug = 'demo-bistro'")


@pytest.mark.parametrize(("status", "words"), [("no_show", "no-show"), ("completed", "completed")])
def test_a_no_show_or_completed_before_the_start_is_refused_and_changes_nothing(
    booking: BookingService, database: TestDatabase, status: str, words: str
) -> None:
    with_a_table(database)
    day = next_weekday(2)
    reservation = booking.commit_slot("demo-bistro", at(day, 19, 30), ANA)
    assert reservation.tables == ("T2",)
    before = floor_state(database, reservation.id)
    with pytest.raises(InvalidStateTransition) as refused:
        booking.set_status(reservation.id, status, actor="maria")
    assert refused.value.detail == f"a reservation cannot be marked {words} before it starts on {day} at 19:30"
    assert floor_state(database, reservation.id) == before
    assert booking.get(reservation.id).status is ReservationStatus.CONFIRMED


def test_a_party_seated_early_can_leave_before_its_booked_start_and_frees_its_table(
    booking: BookingService, database: TestDatabase
) -> None:
    with_a_table(database)
    day = next_weekday(2)
    reservation = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    assert booking.set_status(reservation.id, "seated").status is ReservationStatus.SEATED  # guests arrive early
    assert booking.set_status(reservation.id, "completed").status is ReservationStatus.COMPLETED
    assert counters(database) == (1, 0)
    assert booking.commit_slot("demo-bistro", at(day, 19), BEN).tables == ("T2",)


def test_a_no_show_is_refused_until_the_start_today_and_taken_once_it_has_passed(
    booking: BookingService, database: TestDatabase
) -> None:
    with_a_table(database)
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    start_in_the_past(database, reservation.id, minutes_ago=-20)  # starts in 20 minutes
    start = booking.get(reservation.id).start.astimezone(ZoneInfo("America/New_York"))
    today = datetime.now(ZoneInfo("America/New_York")).date()
    when = f"at {start:%H:%M}" if start.date() == today else f"on {start:%Y-%m-%d} at {start:%H:%M}"
    with pytest.raises(InvalidStateTransition) as refused:
        booking.set_status(reservation.id, "no_show")
    assert refused.value.detail == f"a reservation cannot be marked no-show before it starts {when}"
    assert booking.get(reservation.id).status is ReservationStatus.CONFIRMED
    start_in_the_past(database, reservation.id, minutes_ago=1)
    missed = booking.set_status(reservation.id, "no_show", actor="maria")
    assert (missed.status, missed.replayed) == (ReservationStatus.NO_SHOW, False)
    assert counters(database) == (0, 1)
    assert database.rows("SELECT live FROM reservation_tables") == [(False,)]  # its table is free again
    assert database.rows("SELECT * FROM bucket_loads_drift_v1(%s)", [reservation.restaurant_id]) == []
    assert database.rows("SELECT kind, actor FROM event_log WHERE kind = 'reservation.no_show'") == [
        ("reservation.no_show", "maria")]


@pytest.mark.parametrize("status", ["confirmed", "cancelled", "SEATED", "", "seated; DROP TABLE guests", "x" * 500])
def test_a_status_that_is_not_a_floor_change_is_a_bad_request(booking: BookingService, status: str) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    with pytest.raises(InvalidRequest, match="seated"):
        booking.set_status(reservation.id, status)


def test_an_unknown_reservation_cannot_change_status(booking: BookingService) -> None:
    with pytest.raises(ReservationNotFound):
        booking.set_status(UUID(int=7), "seated")


def test_two_staff_seating_the_same_reservation_at_once_count_one_visit(
    booking: BookingService, database: TestDatabase
) -> None:
    reservations = [booking.commit_slot("demo-bistro", at(next_weekday(d), 19), ANA) for d in (2, 3, 4)]
    for n, r in enumerate(reservations):  # started, a turn and more apart (one phone)
        start_in_the_past(database, r.id, minutes_ago=30 + 300 * n)
    barrier = threading.Barrier(12)
    results: list[object] = []

    def mark(reservation_id: UUID, status: str) -> None:
        barrier.wait()
        try:
            results.append(booking.set_status(reservation_id, status, actor=threading.current_thread().name))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    # Four staff at once on each reservation: two seat it, two mark it a no-show.
    threads = [threading.Thread(target=mark, args=(r.id, s), name=f"staff-{i}-{s}")
               for r in reservations for i, s in enumerate(["seated", "seated", "no_show", "no_show"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    errors = [r for r in results if isinstance(r, Exception)]
    # whoever came first won; a seat after a no-show is the allowed correction, a no-show after a seat is refused
    assert all(isinstance(e, InvalidStateTransition) for e in errors), errors
    finals = [booking.get(r.id).status for r in reservations]
    visits = sum(s is ReservationStatus.SEATED for s in finals)
    no_shows = sum(s is ReservationStatus.NO_SHOW for s in finals)
    assert counters(database) == (visits, no_shows)
    assert visits + no_shows == 3
    assert database.rows("SELECT * FROM guest_counters_drift_v1(%s)", [reservations[0].restaurant_id]) == []
    changes = database.scalar("SELECT count(*) FROM event_log WHERE kind IN ('reservation.seated',"
                              " 'reservation.no_show')")
    assert changes == 3 + database.scalar("SELECT count(*) FROM event_log WHERE payload->>'from' = 'no_show'")


def test_many_staff_seating_one_reservation_at_once_count_it_once(
    booking: BookingService, database: TestDatabase
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    barrier = threading.Barrier(8)
    replays: list[bool] = []

    def seat() -> None:
        barrier.wait()
        replays.append(booking.set_status(reservation.id, "seated").replayed)

    threads = [threading.Thread(target=seat) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(replays) == [False] + [True] * 7
    assert counters(database) == (1, 0)
    assert database.rows("SELECT * FROM guest_counters_drift_v1(%s)", [reservation.restaurant_id]) == []
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'reservation.seated'") == 1


def test_seating_a_no_show_refuses_when_the_same_phone_has_booked_over_it_since(
    booking: BookingService, database: TestDatabase
) -> None:
    day = next_weekday(2)
    missed = booking.commit_slot("demo-bistro", at(day, 18), ANA)
    start_in_the_past(database, missed.id, minutes_ago=60)
    booking.set_status(missed.id, "no_show")
    since = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    start_in_the_past(database, since.id, minutes_ago=15)  # over the missed one: it no longer blocks the phone
    with pytest.raises(SlotUnavailable) as refused:
        booking.set_status(missed.id, "seated")
    assert refused.value.reason == "duplicate_booking"
    assert booking.get(missed.id).status is ReservationStatus.NO_SHOW
    assert counters(database) == (0, 1)


def test_staff_edits_are_validated_logged_with_the_actor_and_kept_to_what_changed(
    booking: BookingService, guests: GuestBook, database: TestDatabase
) -> None:
    booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    updated = guests.update("demo-bistro", ANA.phone, GuestChanges(notes="anniversary in June",
                                                                   allergies="shellfish"), actor="maria")
    assert (updated.name, updated.notes, updated.allergies) == ("Ana", "anniversary in June", "shellfish")
    guests.update("demo-bistro", ANA.phone, GuestChanges(allergies="shellfish"), actor="maria")  # no change
    cleared = guests.update("demo-bistro", ANA.phone, GuestChanges(notes=""), actor="tom")
    assert (cleared.notes, cleared.allergies) == ("", "shellfish")
    assert database.rows("SELECT actor, payload FROM event_log WHERE kind = 'guest.updated' ORDER BY id") == [
        ("maria", {"phone": ANA.phone, "changed": {"notes": "anniversary in June", "allergies": "shellfish"}}),
        ("tom", {"phone": ANA.phone, "changed": {"notes": ""}}),
    ]
    for bad in (GuestChanges(), GuestChanges(name="  "), GuestChanges(name="A\nB"), GuestChanges(name="x" * 121),
                GuestChanges(notes="x" * 1001), GuestChanges(allergies="nuts\x00"), GuestChanges(notes="\x00")):
        with pytest.raises(InvalidRequest):
            guests.update("demo-bistro", ANA.phone, bad, actor="maria")
    with pytest.raises(InvalidRequest, match="E.164"):
        guests.update("demo-bistro", "12125550101", GuestChanges(notes="x"), actor="maria")
    with pytest.raises(RestaurantNotFound):
        guests.update("no-such-place", ANA.phone, GuestChanges(notes="x"), actor="maria")
    assert guests.lookup("demo-bistro", ANA.phone).notes == ""


def test_guests_are_listed_most_recent_visitor_first_and_found_by_name_or_digits(
    booking: BookingService, guests: GuestBook
) -> None:
    day = next_weekday(2)
    ana = booking.commit_slot("demo-bistro", at(day, 17), ANA)
    booking.commit_slot("demo-bistro", at(day, 19), BEN)
    booking.commit_slot("demo-bistro", at(day, 20), Guest("Ana Lopez", "+442071234567"))
    booking.set_status(ana.id, "seated")
    assert guests.list("demo-bistro")[0].phone == ANA.phone
    assert {g.name for g in guests.list("demo-bistro", "ana")} == {"Ana", "Ana Lopez"}
    assert [g.name for g in guests.list("demo-bistro", "20 7123")] == ["Ana Lopez"]
    assert [g.name for g in guests.list("demo-bistro", "%")] == []  # no wildcard in a search
    assert len(guests.list("demo-bistro", limit=1)) == 1
    for bad in ({"limit": 0}, {"limit": 10_000}, {"search": "x" * 101}, {"search": "a\x00"}):
        with pytest.raises(InvalidRequest):
            guests.list("demo-bistro", **bad)  # type: ignore[arg-type]


def test_guests_belong_to_one_restaurant(
    booking: BookingService, guests: GuestBook, make_restaurant: Callable[..., UUID]
) -> None:
    other = make_restaurant()
    booking.commit_slot(other, at(next_weekday(2), 19), Guest("Ana at the other place", ANA.phone))
    with pytest.raises(GuestNotFound):
        guests.lookup("demo-bistro", ANA.phone)
    assert guests.lookup(other, ANA.phone).name == "Ana at the other place"


def test_app_user_cannot_write_guests_directly(booking: BookingService, database: TestDatabase) -> None:
    booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for statement in ("UPDATE guests SET visit_count = 99", "DELETE FROM guests",
                          "INSERT INTO guests (restaurant_id, phone) SELECT id, '+12125550199' FROM restaurants"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert counters(database) == (0, 0)


# -- the duplicate guard (one live booking per phone at a time, FD016) ----------------------------------------

def test_the_same_phone_cannot_book_an_overlapping_time_but_back_to_back_is_fine(booking: BookingService) -> None:
    day = next_weekday(2)
    first = booking.commit_slot("demo-bistro", at(day, 17), ANA)
    with pytest.raises(SlotUnavailable) as refused:
        booking.commit_slot("demo-bistro", SlotRequest(2, start=first.end - timedelta(minutes=15)), ANA)
    assert refused.value.reason == "duplicate_booking" and refused.value.alternates == ()
    assert booking.commit_slot("demo-bistro", SlotRequest(2, start=first.end), ANA).start == first.end


def test_the_same_phone_may_book_the_same_time_at_another_restaurant(
    booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    day = next_weekday(2)
    booking.commit_slot("demo-bistro", at(day, 19), ANA)
    assert booking.commit_slot(make_restaurant(), at(day, 19), ANA).status is ReservationStatus.CONFIRMED


def test_a_cancelled_or_no_show_booking_does_not_block_the_phone(
    booking: BookingService, database: TestDatabase
) -> None:
    day = next_weekday(2)
    cancelled = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    booking.cancel(cancelled.id)
    missed = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    start_in_the_past(database, missed.id)
    booking.set_status(missed.id, "no_show")
    again = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    assert again.status is ReservationStatus.CONFIRMED
    start_in_the_past(database, again.id)  # onto the no-show's time: the duplicate guard lets it overlap
    moved, no_show = booking.get(again.id), booking.get(missed.id)
    assert moved.start < no_show.end and no_show.start < moved.end
    assert (moved.status, no_show.status) == (ReservationStatus.CONFIRMED, ReservationStatus.NO_SHOW)


def test_a_seated_booking_still_blocks_the_phone(booking: BookingService) -> None:
    day = next_weekday(2)
    seated = booking.commit_slot("demo-bistro", at(day, 19), ANA)
    booking.set_status(seated.id, "seated")
    with pytest.raises(SlotUnavailable) as refused:
        booking.commit_slot("demo-bistro", at(day, 20), ANA)
    assert refused.value.reason == "duplicate_booking"


def test_a_database_with_bookings_before_guest_memory_gets_its_guests_and_counters(tmp_path: Path) -> None:
    from frontdesk.db.migrate import migrate, seed

    name = unique_name("backfill")
    create_database(name)
    try:
        db = TestDatabase(name)
        earlier = tmp_path / "migrations"
        earlier.mkdir()
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name < "0005":
                shutil.copy(path, earlier / path.name)
        migrate(db.admin_url, tmp_path)
        seed(db.admin_url)
        rid = db.scalar("SELECT id FROM restaurants WHERE slug = 'demo-bistro'")
        day = next_weekday(2)
        with db.connect() as conn:
            for n, (phone, guest, status) in enumerate([
                (ANA.phone, "Ana", "completed"), (ANA.phone, "Ana Lima", "seated"), (ANA.phone, "Ana", "no_show"),
                (BEN.phone, "Ben", "confirmed"), (BEN.phone, "Ben", "cancelled"),
            ]):
                conn.execute(
                    "INSERT INTO reservations (restaurant_id, service_date, during, party_size, guest_name,"
                    " guest_phone, status, channel, created_at) VALUES (%s, %s + %s,"
                    " tstzrange(now() + make_interval(days => %s), now() + make_interval(days => %s, hours => 2)),"
                    " 2, %s, %s, %s, 'staff', now() + make_interval(secs => %s))",
                    [rid, day, n, n * 3 + 10, n * 3 + 10, guest, phone, status, n])
        migrate(db.admin_url)
        assert db.rows("SELECT phone, name, visit_count, no_show_count, last_visit_on FROM guests ORDER BY phone") == [
            (ANA.phone, "Ana", 2, 1, day + timedelta(days=1)), (BEN.phone, "Ben", 0, 0, None)]
        assert db.rows("SELECT * FROM guest_counters_drift_v1(%s)", [rid]) == []
    finally:
        drop_database(name)


def test_staff_editing_one_guest_at_once_lose_no_field_and_log_each_change(
    booking: BookingService, guests: GuestBook, database: TestDatabase
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    edits = [GuestChanges(notes="window seat"), GuestChanges(allergies="sesame"), GuestChanges(name="Ana Lima")] * 4
    barrier = threading.Barrier(len(edits) + 1)
    failures: list[BaseException] = []

    def edit(changes: GuestChanges) -> None:
        barrier.wait()
        try:
            guests.update("demo-bistro", ANA.phone, changes, actor="staff")
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    def seat() -> None:
        barrier.wait()
        booking.set_status(reservation.id, "seated")

    threads = [threading.Thread(target=edit, args=(c,)) for c in edits] + [threading.Thread(target=seat)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert failures == []
    guest = guests.lookup("demo-bistro", ANA.phone)
    assert (guest.name, guest.notes, guest.allergies, guest.visit_count) == ("Ana Lima", "window seat", "sesame", 1)
    # each field changed once; the repeats changed nothing and logged nothing
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'guest.updated'") == 3
