"""The reservation engine on real PostgreSQL and Redis: holds, commits, cancels, modifications."""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import time, timedelta
from uuid import UUID

import pytest

from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import (
    HoldExpired,
    InvalidRequest,
    InvalidStateTransition,
    NonexistentLocalTime,
    ReservationNotFound,
    RestaurantNotFound,
    SlotUnavailable,
)
from frontdesk.core.model import Channel, Guest, ReservationStatus
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday

ANA = Guest("Ana", "+12125550101")
BEN = Guest("Ben", "+12125550102")


def at(day, hh: int, mm: int = 0, party: int = 2) -> SlotRequest:
    return SlotRequest(party, local_date=day, local_time=time(hh, mm))


def test_a_hold_then_a_commit_makes_one_confirmed_reservation_and_an_audit_entry(
    booking: BookingService, database: TestDatabase
) -> None:
    day = next_weekday(2)
    held = booking.check_and_hold("demo-bistro", at(day, 19, party=4))
    assert held.hold is not None and not held.degraded
    assert held.slot.end - held.slot.start == timedelta(minutes=120)  # the 3–6 guests turn time
    assert held.capacity[0].covers_left == 36
    reservation = booking.commit(held.hold.hold_id, ANA)
    assert reservation.status is ReservationStatus.CONFIRMED and reservation.service_date == day
    assert database.scalar("SELECT count(*) FROM reservations") == 1
    assert database.rows("SELECT kind, reservation_id FROM event_log") == [("reservation.confirmed", reservation.id)]


def test_a_retried_commit_returns_the_same_reservation(booking: BookingService, database: TestDatabase) -> None:
    held = booking.check_and_hold("demo-bistro", at(next_weekday(3), 19))
    first = booking.commit(held.hold.hold_id, ANA)
    again = booking.commit(held.hold.hold_id, ANA)
    assert again.id == first.id and again.replayed and not first.replayed
    assert database.scalar("SELECT count(*) FROM reservations") == 1


def test_a_commit_retried_with_its_idempotency_key_makes_one_reservation(
    booking: BookingService, database: TestDatabase
) -> None:
    request = at(next_weekday(3), 18)
    first = booking.commit_slot("demo-bistro", request, ANA, idempotency_key="call-123/booking-1")
    again = booking.commit_slot("demo-bistro", request, ANA, idempotency_key="call-123/booking-1")
    assert first.id == again.id
    assert database.scalar("SELECT count(*) FROM reservations") == 1


def test_a_held_slot_is_never_offered_to_a_second_caller(
    booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=4, max_covers_starting=4)
    day = next_weekday(4)
    first = booking.check_and_hold(restaurant, at(day, 19, party=4))
    assert first.hold is not None
    with pytest.raises(SlotUnavailable) as refused:
        booking.check_and_hold(restaurant, at(day, 19, party=1))
    assert refused.value.reason == "full"
    # Every alternate offered is outside the held turn.
    assert refused.value.alternates
    for alternate in refused.value.alternates:
        assert not (first.slot.start - timedelta(minutes=120) < alternate.start < first.slot.end)


def test_an_expired_hold_cannot_be_committed(database: TestDatabase, redis_prefix: str) -> None:
    from frontdesk.adapters.postgres import PostgresBookingStore
    from frontdesk.adapters.redis_holds import RedisHoldStore
    from tests.support.databases import REDIS_URL

    store = PostgresBookingStore(database.app_url)
    short = BookingService(store, RedisHoldStore.from_url(REDIS_URL, prefix=redis_prefix),
                           hold_ttl=timedelta(seconds=1))
    held = short.check_and_hold("demo-bistro", at(next_weekday(2), 20))
    _time.sleep(1.2)
    with pytest.raises(HoldExpired):
        short.commit(held.hold.hold_id, ANA)
    # The capacity it promised is free again: a second caller gets the same time.
    assert short.check_and_hold("demo-bistro", at(next_weekday(2), 20)).hold is not None
    assert database.scalar("SELECT count(*) FROM reservations") == 0
    store.close()


def test_the_database_itself_refuses_a_hold_that_expired_before_the_commit_arrived(
    booking: BookingService, database: TestDatabase
) -> None:
    held = booking.check_and_hold("demo-bistro", at(next_weekday(2), 20))
    slot = held.slot
    with pytest.raises(HoldExpired):
        booking.store.commit(restaurant_id=slot.restaurant_id, start=slot.start, party_size=slot.party_size,
                             guest=ANA, channel=Channel.PHONE_AGENT, hold_id=held.hold.hold_id,
                             idempotency_key=None, hold_expires_at=booking.clock.now() - timedelta(seconds=1),
                             actor="test")
    assert database.scalar("SELECT count(*) FROM reservations") == 0


def test_an_unknown_hold_is_treated_as_expired(booking: BookingService) -> None:
    with pytest.raises(HoldExpired):
        booking.commit("h_never-issued", ANA)


def test_cancelling_frees_the_capacity_at_once(booking: BookingService, make_restaurant) -> None:
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=2, max_covers_starting=4)
    day = next_weekday(5)
    reservation = booking.commit_slot(restaurant, at(day, 19, party=4), ANA)
    with pytest.raises(SlotUnavailable):
        booking.check_and_hold(restaurant, at(day, 19, party=2))
    cancelled = booking.cancel(reservation.id)
    assert cancelled.status is ReservationStatus.CANCELLED
    assert booking.check_and_hold(restaurant, at(day, 19, party=4)).hold is not None


def test_cancelling_twice_is_harmless_and_seated_bookings_cannot_be_cancelled(
    booking: BookingService, database: TestDatabase
) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    assert booking.cancel(reservation.id).status is ReservationStatus.CANCELLED
    assert booking.cancel(reservation.id).replayed
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'reservation.cancelled'") == 1
    other = booking.commit_slot("demo-bistro", at(next_weekday(2), 20), BEN)
    database.scalar("UPDATE reservations SET status = 'seated' WHERE id = %s RETURNING 1", [other.id])
    with pytest.raises(InvalidStateTransition, match="seated"):
        booking.cancel(other.id)
    with pytest.raises(ReservationNotFound):
        booking.cancel(UUID(int=7))


def test_one_phone_cannot_hold_two_overlapping_bookings(booking: BookingService) -> None:
    day = next_weekday(2)
    booking.commit_slot("demo-bistro", at(day, 18), ANA)
    with pytest.raises(SlotUnavailable) as refused:
        booking.commit_slot("demo-bistro", at(day, 19), ANA)
    assert refused.value.reason == "duplicate_booking"
    assert booking.commit_slot("demo-bistro", at(day, 19, 30), ANA).guest_phone == ANA.phone  # back to back


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (lambda d: at(d, 12), "closed"),
        (lambda d: at(d, 22), "closed"),
        (lambda d: at(d, 19, party=13), "party_too_large"),
    ],
)
def test_requests_outside_the_rules_say_why(booking: BookingService, request_, reason: str) -> None:
    with pytest.raises(SlotUnavailable) as refused:
        booking.check_and_hold("demo-bistro", request_(next_weekday(2)))
    assert refused.value.reason == reason
    if reason == "party_too_large":
        assert refused.value.alternates == ()
    else:
        assert 0 < len(refused.value.alternates) <= 5


def test_too_soon_and_too_far_ahead_are_refused(booking: BookingService) -> None:
    now = booking.clock.now()
    with pytest.raises(SlotUnavailable, match="notice") as soon:
        booking.check_and_hold("demo-bistro", SlotRequest(2, start=now + timedelta(minutes=5)))
    assert soon.value.reason == "too_soon"
    with pytest.raises(SlotUnavailable) as far:
        booking.check_and_hold("demo-bistro", SlotRequest(2, start=now + timedelta(days=200)))
    assert far.value.reason == "too_far_ahead"


def test_staff_may_book_inside_the_notice_period_but_callers_may_not(
    booking: BookingService, make_restaurant
) -> None:
    always_open = {d: [(time(0), time(12)), (time(12), time(0))] for d in range(1, 8)}
    restaurant = make_restaurant(min_notice_minutes=600, hours=always_open, timezone="UTC")
    soon = SlotRequest(2, start=booking.clock.now() + timedelta(minutes=2))
    with pytest.raises(SlotUnavailable) as refused:
        booking.check_and_hold(restaurant, soon)
    assert refused.value.reason == "too_soon"
    assert booking.check_and_hold(restaurant, soon, Channel.STAFF).hold is not None


def test_unknown_restaurants_and_reservations_are_not_found(booking: BookingService) -> None:
    with pytest.raises(RestaurantNotFound):
        booking.check_and_hold("no-such-place", at(next_weekday(2), 19))
    with pytest.raises(RestaurantNotFound):
        booking.check_and_hold(UUID(int=1), at(next_weekday(2), 19))
    with pytest.raises(ReservationNotFound):
        booking.get(UUID(int=1))


def test_alternates_are_nearest_first_on_the_same_day_then_the_same_time_on_later_days(
    booking: BookingService, make_restaurant
) -> None:
    restaurant = make_restaurant(max_covers_present=2, max_parties_present=1, max_covers_starting=2,
                                 turn_minutes=60)
    day = next_weekday(3)
    booking.commit_slot(restaurant, at(day, 19), ANA)
    with pytest.raises(SlotUnavailable) as refused:
        booking.check_and_hold(restaurant, at(day, 19))
    alternates = refused.value.alternates
    assert len(alternates) == 5
    same_day = [a for a in alternates if a.local_date == day]
    assert [a.local_time for a in same_day] == [time(18), time(20), time(17, 45)]
    assert [(a.local_date, a.local_time) for a in alternates[3:]] == [
        (day + timedelta(days=1), time(19)), (day + timedelta(days=2), time(19))]


def test_a_modification_moves_the_booking_atomically_and_never_counts_itself(
    booking: BookingService, make_restaurant, database: TestDatabase
) -> None:
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=1, max_covers_starting=4)
    day = next_weekday(2)
    reservation = booking.commit_slot(restaurant, at(day, 19, party=2), ANA)
    grown = booking.modify(reservation.id, party_size=4)  # same buckets, only its own load there
    assert grown.party_size == 4
    moved = booking.modify(reservation.id, local_time=time(20, 30))
    assert moved.start - reservation.start == timedelta(minutes=90)
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'reservation.modified'") == 2


def test_a_modification_into_a_full_time_is_refused_with_alternates_and_changes_nothing(
    booking: BookingService, make_restaurant
) -> None:
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=1, max_covers_starting=4)
    day = next_weekday(2)
    booking.commit_slot(restaurant, at(day, 17), BEN)
    mine = booking.commit_slot(restaurant, at(day, 20), ANA)
    with pytest.raises(SlotUnavailable) as refused:
        booking.modify(mine.id, local_time=time(17, 30))
    assert refused.value.reason == "full" and refused.value.alternates
    assert booking.get(mine.id).start == mine.start


def test_a_modification_cannot_take_a_time_another_caller_is_holding(booking: BookingService, make_restaurant) -> None:
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=1, max_covers_starting=4)
    day = next_weekday(2)
    mine = booking.commit_slot(restaurant, at(day, 20), ANA)
    booking.check_and_hold(restaurant, at(day, 17))
    with pytest.raises(SlotUnavailable):
        booking.modify(mine.id, local_time=time(17))


def test_modifying_a_cancelled_reservation_is_refused(booking: BookingService) -> None:
    reservation = booking.commit_slot("demo-bistro", at(next_weekday(2), 19), ANA)
    booking.cancel(reservation.id)
    with pytest.raises((InvalidStateTransition, SlotUnavailable)):
        booking.modify(reservation.id, party_size=3)


def test_find_by_phone_lists_upcoming_bookings_first(booking: BookingService, database: TestDatabase) -> None:
    later = booking.commit_slot("demo-bistro", at(next_weekday(2, 14), 19), ANA)
    sooner = booking.commit_slot("demo-bistro", at(next_weekday(2, 7), 19), ANA)
    past = booking.commit_slot("demo-bistro", at(next_weekday(2, 21), 19), ANA)
    database.scalar("UPDATE reservations SET during = tstzrange(now() - interval '3 days', now() - interval '2 days'),"
                    " status = 'completed' WHERE id = %s RETURNING 1", [past.id])
    found = booking.find_by_phone("demo-bistro", ANA.phone)
    assert [r.id for r in found] == [sooner.id, later.id, past.id]
    with pytest.raises(InvalidRequest):
        booking.find_by_phone("demo-bistro", "555-0101")


def test_list_for_date_returns_one_service_date_in_time_order(booking: BookingService) -> None:
    day = next_weekday(2)
    second = booking.commit_slot("demo-bistro", at(day, 20), BEN)
    first = booking.commit_slot("demo-bistro", at(day, 18), ANA)
    booking.commit_slot("demo-bistro", at(day + timedelta(days=1), 18), Guest("Cy", "+12125550103"))
    assert [r.id for r in booking.list_for_date("demo-bistro", day)] == [first.id, second.id]


def test_a_nonexistent_local_time_is_an_invalid_request(booking: BookingService) -> None:
    from tests.support.dates import next_dst_changes

    spring, _ = next_dst_changes()
    with pytest.raises(NonexistentLocalTime):
        booking.check_and_hold("demo-bistro", at(spring, 2, 30))


def test_the_pool_recovers_when_the_server_drops_every_connection(
    booking: BookingService, database: TestDatabase
) -> None:
    booking.check_and_hold("demo-bistro", at(next_weekday(2), 19))
    killed = database.scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [database.name])
    assert killed >= 1
    assert booking.check_and_hold("demo-bistro", at(next_weekday(2), 20)).hold is not None
