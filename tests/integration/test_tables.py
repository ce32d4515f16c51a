"""Tables and combinations on real PostgreSQL and Redis: assignment, races, status changes, admin."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta
from uuid import UUID

import psycopg
import pytest

from frontdesk.adapters.tables_pg import PostgresTableStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import SlotUnavailable
from frontdesk.core.model import Channel, Guest, Reservation, ReservationStatus
from frontdesk.core.tables import DiningTable, TableAdmin
from tests.support.databases import TestDatabase, start_in_the_past
from tests.support.dates import next_weekday


def guest(n: int) -> Guest:
    return Guest(f"Guest {n}", f"+1212555{n:04d}")


@pytest.fixture
def tables(database: TestDatabase) -> Iterator[TableAdmin]:
    """The admin use cases connected as app_user, as the API and CLI would be."""
    store = PostgresTableStore(database.app_url)
    try:
        yield TableAdmin(store)
    finally:
        store.close()


@pytest.fixture
def roomy(make_restaurant: Callable[..., UUID]) -> UUID:
    """Pacing generous enough that only the tables decide."""
    return make_restaurant(max_covers_present=200, max_parties_present=100, max_covers_starting=200)


def add(tables: TableAdmin, restaurant: UUID, name: str, low: int, high: int, **kw: object) -> None:
    tables.add_table(restaurant, DiningTable(name, low, high, **kw), actor="test")  # type: ignore[arg-type]


def book(booking: BookingService, restaurant: UUID, day: date, wall: time, party: int, n: int,
         channel: Channel = Channel.API) -> Reservation:
    return booking.commit_slot(restaurant, SlotRequest(party, local_date=day, local_time=wall), guest(n),
                               channel=channel)


def refused(booking: BookingService, restaurant: UUID, day: date, wall: time, party: int, n: int,
            channel: Channel = Channel.API) -> SlotUnavailable:
    with pytest.raises(SlotUnavailable) as caught:
        book(booking, restaurant, day, wall, party, n, channel)
    return caught.value


def assert_tables_follow_reservations(database: TestDatabase) -> None:
    """Every table row is live exactly when its booking is, over the booking's own time."""
    assert database.rows(
        "SELECT rt.reservation_id FROM reservation_tables rt JOIN reservations r ON r.id = rt.reservation_id"
        " WHERE rt.live <> (r.status IN ('confirmed', 'seated')) OR rt.during <> r.during") == []


def test_a_booking_takes_the_smallest_free_table_that_fits(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    for name, low, high in [("T2", 1, 2), ("T4", 1, 4), ("T6", 2, 6)]:
        add(tables, roomy, name, low, high)
    day = next_weekday(3)
    assert book(booking, roomy, day, time(19), 3, 1).tables == ("T4",)
    assert book(booking, roomy, day, time(19), 2, 2).tables == ("T2",)
    assert book(booking, roomy, day, time(19), 2, 3).tables == ("T6",)
    full = refused(booking, roomy, day, time(19), 1, 4)
    assert full.reason == "full" and full.detail == "no table for 1 at 19:00"
    assert booking.get(booking.list_for_date(roomy, day)[0].id).tables  # reads show the tables too
    assert_tables_follow_reservations(database)


def test_a_single_table_is_preferred_to_a_combination_of_equal_fit(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "A", 1, 2)
    add(tables, roomy, "B", 1, 2)
    add(tables, roomy, "Z4", 1, 4)
    tables.combine(roomy, "AB", ["A", "B"], actor="test", min_seats=3, max_seats=4)
    day = next_weekday(3)
    assert book(booking, roomy, day, time(19), 4, 1).tables == ("Z4",)
    assert book(booking, roomy, day, time(19), 4, 2).tables == ("A", "B")


def test_a_combination_and_one_of_its_tables_are_never_booked_at_once(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "A", 1, 2)
    add(tables, roomy, "B", 1, 2)
    tables.combine(roomy, "AB", ["A", "B"], actor="test", min_seats=3, max_seats=4)
    day = next_weekday(2)
    assert book(booking, roomy, day, time(19), 4, 1).tables == ("A", "B")
    assert refused(booking, roomy, day, time(19, 30), 2, 2).reason == "full"
    # The other way round: one member taken, the combination is not offered.
    assert book(booking, roomy, day, time(17), 2, 3).tables == ("A",)
    assert refused(booking, roomy, day, time(17, 15), 4, 4).detail == "no table for 4 at 17:15"
    assert_tables_follow_reservations(database)


def test_two_combinations_sharing_a_table_are_never_booked_at_once(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    for name in "ABC":
        add(tables, roomy, name, 1, 2)
    tables.combine(roomy, "AB", ["A", "B"], actor="test", min_seats=3, max_seats=4)
    tables.combine(roomy, "BC", ["B", "C"], actor="test", min_seats=3, max_seats=4)
    day = next_weekday(4)
    assert book(booking, roomy, day, time(19), 4, 1).tables == ("A", "B")
    assert refused(booking, roomy, day, time(19), 3, 2).reason == "full"  # BC needs B
    assert book(booking, roomy, day, time(19), 2, 3).tables == ("C",)


def test_a_short_booking_never_lands_inside_a_long_one_at_the_same_table(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    database.rows("INSERT INTO turn_times (restaurant_id, min_party, max_party, minutes)"
                  " VALUES (%s, 1, 2, 45), (%s, 3, 12, 180) RETURNING id", [roomy, roomy])
    add(tables, roomy, "T4", 1, 4)
    day = next_weekday(5)
    long = book(booking, roomy, day, time(17, 30), 4, 1)
    assert long.end - long.start == timedelta(minutes=180)
    assert refused(booking, roomy, day, time(19), 2, 2).reason == "full"  # 19:00–19:45 inside 17:30–20:30
    assert book(booking, roomy, day, time(20, 30), 2, 3).tables == ("T4",)


def test_back_to_back_turns_share_a_table(booking: BookingService, tables: TableAdmin, roomy: UUID) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(1)
    first = book(booking, roomy, day, time(17), 2, 1)
    assert first.end - first.start == timedelta(minutes=120)
    assert book(booking, roomy, day, time(19), 2, 2).tables == ("T2",)  # [17:00, 19:00) then [19:00, 21:00)
    assert refused(booking, roomy, day, time(18, 45), 2, 3).reason == "full"


def test_fifty_concurrent_commits_for_the_last_table_give_it_to_exactly_one(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "Last", 1, 4)
    start = SlotRequest(2, local_date=next_weekday(6), local_time=time(19)).resolve(booking.restaurant(roomy))
    barrier = threading.Barrier(50)

    def race(n: int) -> str:
        barrier.wait()
        try:  # straight at the locked SQL path, overlapping starts so the bucket sets differ
            booking.store.commit(restaurant_id=roomy, start=start + timedelta(minutes=15 * (n % 4)),
                                 party_size=1 + n % 4, guest=guest(100 + n), channel=Channel.API, hold_id=None,
                                 idempotency_key=None, hold_expires_at=None, actor="race")
            return "booked"
        except SlotUnavailable as exc:
            return f"{exc.reason}: {exc.detail.split(' at ')[0][:12]}"
        except Exception as exc:  # anything else is a leak of a raw error
            return f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(race, range(50)))
    assert outcomes == {"booked": 1, "full: no table for": 49}
    assert database.scalar("SELECT count(*) FROM reservation_tables WHERE live") == 1
    assert_tables_follow_reservations(database)


def test_two_callers_may_hold_the_last_table_but_the_second_commit_is_refused_with_alternates(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "Last", 1, 4)
    request = SlotRequest(2, local_date=next_weekday(2), local_time=time(19))
    first = booking.check_and_hold(roomy, request)
    second = booking.check_and_hold(roomy, request)  # holds are pacing-only promises
    assert first.hold is not None and second.hold is not None
    assert booking.commit(first.hold.hold_id, guest(1)).tables == ("Last",)
    with pytest.raises(SlotUnavailable) as caught:
        booking.commit(second.hold.hold_id, guest(2))
    assert caught.value.reason == "full"
    assert caught.value.alternates
    for alternate in caught.value.alternates:  # never inside the booked turn
        assert not (first.slot.start - timedelta(minutes=120) < alternate.start < first.slot.end)


def test_a_modification_moves_the_party_to_a_table_that_fits_and_keeps_it_when_it_still_does(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "T2", 1, 2)
    add(tables, roomy, "T4a", 1, 4)
    add(tables, roomy, "T4b", 1, 4)
    day = next_weekday(3)
    reservation = book(booking, roomy, day, time(19), 2, 1)
    assert reservation.tables == ("T2",)
    assert booking.modify(reservation.id, party_size=3).tables == ("T4a",)
    # T2 would fit 2 better, but a party is not moved without need.
    assert booking.modify(reservation.id, party_size=2).tables == ("T4a",)
    # Moving to a time when T4a is taken moves it to the best free table.
    other = book(booking, roomy, day, time(17), 4, 2)
    assert other.tables == ("T4a",)
    moved = booking.modify(reservation.id, local_time=time(17, 30))
    assert moved.tables == ("T2",)
    assert database.scalar("SELECT count(*) FROM reservation_tables WHERE reservation_id = %s",
                           [reservation.id]) == 1
    assert book(booking, roomy, day, time(19), 4, 3).tables == ("T4a",)  # its old table is free again
    assert_tables_follow_reservations(database)


def test_a_modification_with_no_table_free_is_refused_and_keeps_the_old_table(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(4)
    reservation = book(booking, roomy, day, time(19), 2, 1)
    with pytest.raises(SlotUnavailable) as caught:
        booking.modify(reservation.id, party_size=3)
    assert caught.value.reason == "full"
    assert booking.get(reservation.id).tables == ("T2",) and booking.get(reservation.id).party_size == 2


def test_cancelling_frees_the_table(booking: BookingService, tables: TableAdmin, roomy: UUID,
                                    database: TestDatabase) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(5)
    first = book(booking, roomy, day, time(19), 2, 1)
    refused(booking, roomy, day, time(19), 2, 2)
    cancelled = booking.cancel(first.id)
    assert cancelled.tables == ("T2",)  # where it would have sat, kept as a record
    assert book(booking, roomy, day, time(19), 2, 2).tables == ("T2",)
    assert_tables_follow_reservations(database)


def test_a_seated_party_keeps_its_table_and_a_completed_one_frees_it(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(6)
    first = book(booking, roomy, day, time(19), 2, 1)
    # As app_user, the way a plain status change (UPDATE reservations SET status) would run.
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        conn.execute("UPDATE reservations SET status = 'seated' WHERE id = %s", [first.id])
        assert refused(booking, roomy, day, time(19), 2, 2).reason == "full"
        conn.execute("UPDATE reservations SET status = 'completed' WHERE id = %s", [first.id])
    assert book(booking, roomy, day, time(19), 2, 2).tables == ("T2",)
    assert_tables_follow_reservations(database)


def test_a_no_show_frees_the_table(booking: BookingService, tables: TableAdmin, roomy: UUID,
                                   database: TestDatabase) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(6)
    first = book(booking, roomy, day, time(19), 2, 1)
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        conn.execute("UPDATE reservations SET status = 'no_show' WHERE id = %s", [first.id])
    assert book(booking, roomy, day, time(19), 2, 2).tables == ("T2",)


def test_a_no_show_who_turns_up_after_all_is_seated_at_another_free_table_or_none_never_refused(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "T2", 1, 2)
    add(tables, roomy, "T4", 3, 4)
    day = next_weekday(6)
    late = book(booking, roomy, day, time(19), 2, 1)
    start_in_the_past(database, late.id, minutes_ago=30)  # a no-show only once its time has come
    booking.store.set_status(late.id, ReservationStatus.NO_SHOW, actor="floor")
    walk_in = book(booking, roomy, day, time(19), 2, 2)
    assert walk_in.tables == ("T2",)
    start_in_the_past(database, walk_in.id, minutes_ago=30)  # its table was given away over the same time
    seated = booking.store.set_status(late.id, ReservationStatus.SEATED, actor="floor")
    assert seated.status is ReservationStatus.SEATED and seated.tables == ()  # nothing else fits two
    assert_tables_follow_reservations(database)
    other = book(booking, roomy, day, time(17), 2, 3)
    start_in_the_past(database, other.id, minutes_ago=330)  # well clear of the two above
    booking.store.set_status(other.id, ReservationStatus.NO_SHOW, actor="floor")
    start_in_the_past(database, book(booking, roomy, day, time(17), 2, 4).id, minutes_ago=330)
    database.rows("UPDATE dining_tables SET min_seats = 1 WHERE name = 'T4' RETURNING id")
    assert booking.store.set_status(other.id, ReservationStatus.SEATED, actor="floor").tables == ("T4",)
    assert_tables_follow_reservations(database)


def test_a_restaurant_without_tables_books_by_pacing_alone(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(max_covers_present=8, max_parties_present=4, max_covers_starting=8)
    day = next_weekday(2)
    made = [book(booking, restaurant, day, time(19), 2, n) for n in range(4)]
    assert all(r.tables == () for r in made)
    assert refused(booking, restaurant, day, time(19), 1, 9).detail == "no room for 1 at 19:00"
    assert database.scalar("SELECT count(*) FROM reservation_tables") == 0


def test_a_restaurant_whose_tables_are_all_removed_books_by_pacing_again(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "T2", 1, 2)
    tables.remove_table(roomy, "T2", actor="test")
    assert book(booking, roomy, next_weekday(2), time(19), 8, 1).tables == ()


def test_pacing_still_applies_on_top_of_free_tables(
    booking: BookingService, tables: TableAdmin, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant(max_covers_present=40, max_parties_present=1, max_covers_starting=40)
    add(tables, restaurant, "T2", 1, 2)
    add(tables, restaurant, "T4", 1, 4)
    day = next_weekday(3)
    assert book(booking, restaurant, day, time(19), 2, 1).tables == ("T2",)
    assert refused(booking, restaurant, day, time(19), 2, 2).detail == "no room for 2 at 19:00"


def test_the_phone_agent_only_gets_agent_bookable_tables(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "Bar", 1, 2, agent_bookable=False)
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(4)
    assert book(booking, roomy, day, time(19), 2, 1, Channel.PHONE_AGENT).tables == ("T2",)
    with pytest.raises(SlotUnavailable) as caught:
        booking.check_and_hold(roomy, SlotRequest(2, local_date=day, local_time=time(19)), Channel.PHONE_AGENT)
    assert caught.value.reason == "full"
    assert refused(booking, roomy, day, time(19), 2, 2, Channel.PHONE_AGENT).reason == "full"
    assert book(booking, roomy, day, time(19), 2, 3, Channel.STAFF).tables == ("Bar",)


def test_availability_says_full_when_no_table_would_fit_and_offers_only_times_with_a_table(
    booking: BookingService, tables: TableAdmin, roomy: UUID
) -> None:
    add(tables, roomy, "T4", 1, 4)
    day = next_weekday(5)
    with pytest.raises(SlotUnavailable) as too_big:
        booking.check_and_hold(roomy, SlotRequest(6, local_date=day, local_time=time(19)))
    assert too_big.value.reason == "full" and too_big.value.detail == "no table for 6 at 19:00"
    taken = book(booking, roomy, day, time(19), 4, 1)
    with pytest.raises(SlotUnavailable) as busy:
        booking.check_and_hold(roomy, SlotRequest(2, local_date=day, local_time=time(19, 30)))
    assert busy.value.reason == "full" and busy.value.alternates
    for alternate in busy.value.alternates:
        assert alternate.start >= taken.end or alternate.start + timedelta(minutes=120) <= taken.start
        booking.check_and_hold(roomy, SlotRequest(2, start=alternate.start))  # each one really is bookable


def test_the_api_shows_the_tables_of_a_reservation(booking_api: object, database: TestDatabase) -> None:
    import httpx

    api = booking_api
    store = PostgresTableStore(database.app_url)
    try:
        TableAdmin(store).add_table("demo-bistro", DiningTable("Window", 1, 4), actor="test")
    finally:
        store.close()
    body = {"restaurant_id": "demo-bistro", "local_date": next_weekday(3).isoformat(), "local_time": "19:00",
            "party_size": 2, "guest_name": "Ana", "guest_phone": "+12125550101"}
    made = httpx.post(f"{api.url}/api/v1/reservations/commit", json=body)  # type: ignore[attr-defined]
    assert made.status_code == 201, made.text
    assert made.json()["tables"] == ["Window"]
    again = httpx.post(f"{api.url}/api/v1/reservations/commit",  # type: ignore[attr-defined]
                       json={**body, "guest_phone": "+12125550102"})
    assert again.status_code == 409 and again.json()["reason"] == "full"


def test_table_rows_follow_a_modification_to_a_restaurant_with_no_tables_left(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    add(tables, roomy, "T2", 1, 2)
    day = next_weekday(1)
    reservation = book(booking, roomy, day, time(19), 2, 1)
    assert tables.remove_table(roomy, "T2", actor="test", force=True).unassigned[0].id == reservation.id
    assert booking.get(reservation.id).tables == ()
    assert booking.modify(reservation.id, local_time=time(20)).tables == ()
    assert_tables_follow_reservations(database)



def test_modifications_and_commits_racing_for_the_same_tables_never_share_one_or_leak_errors(
    booking: BookingService, tables: TableAdmin, roomy: UUID, database: TestDatabase
) -> None:
    for name in ("A", "B", "C"):
        add(tables, roomy, name, 1, 4)
    day = next_weekday(2)
    early = [book(booking, roomy, day, time(17), 2, n) for n in range(3)]  # every table taken at 17:00
    target = SlotRequest(2, local_date=day, local_time=time(19)).resolve(booking.restaurant(roomy))
    barrier = threading.Barrier(12)

    def race(n: int) -> str:
        barrier.wait()
        try:
            if n < 3:  # move an early booking onto 19:00 (and back off its own table's future)
                booking.store.modify(early[n].id, start=target + timedelta(minutes=15 * n), party_size=None,
                                     actor="race", enforce_notice=False)
            else:
                booking.store.commit(restaurant_id=roomy, start=target + timedelta(minutes=15 * (n % 3)),
                                     party_size=2, guest=guest(200 + n), channel=Channel.API, hold_id=None,
                                     idempotency_key=None, hold_expires_at=None, actor="race")
            return "ok"
        except SlotUnavailable as exc:
            return exc.reason
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = Counter(pool.map(race, range(12)))
    assert set(outcomes) <= {"ok", "full"} and outcomes["ok"] >= 3
    assert database.scalar(
        "SELECT count(*) FROM reservation_tables a JOIN reservation_tables b ON a.table_id = b.table_id"
        " AND a.reservation_id < b.reservation_id AND a.during && b.during WHERE a.live AND b.live") == 0
    live_at_1930 = database.scalar(
        "SELECT count(*) FROM reservations WHERE restaurant_id = %s AND status = 'confirmed'"
        " AND during && tstzrange(%s, %s)", [roomy, target + timedelta(minutes=30), target + timedelta(minutes=31)])
    assert live_at_1930 == 3  # every 19:00–19:30 start is still there at 19:30: three tables, whoever won
    assert_tables_follow_reservations(database)


def test_app_user_cannot_assign_a_table_to_another_restaurants_booking(
    booking: BookingService, tables: TableAdmin, roomy: UUID, make_restaurant: Callable[..., UUID],
    database: TestDatabase
) -> None:
    add(tables, roomy, "T2", 1, 2)
    elsewhere = book(booking, make_restaurant(), next_weekday(2), time(19), 2, 1)
    with psycopg.connect(database.app_url, autocommit=True) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT fd_assign_tables_v1(%s, %s, tstzrange(now(), now() + interval '1 hour'), 2, 'api')",
                     [elsewhere.id, roomy])
    assert caught.value.sqlstate == "FD002"
    assert database.scalar("SELECT count(*) FROM reservation_tables") == 0
