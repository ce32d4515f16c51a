"""Correctness under concurrency, across DST and midnight, with blackouts and with Redis gone."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time as _time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import pytest

from frontdesk.adapters.postgres import PostgresBookingStore
from frontdesk.adapters.redis_holds import RedisHoldStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import (
    FrontDeskError,
    HoldsUnavailable,
    NonexistentLocalTime,
    SlotUnavailable,
    WouldStrandBookings,
)
from frontdesk.core.model import Channel, Guest, SpecialDay
from tests.support.databases import TestDatabase
from tests.support.dates import next_dst_changes, next_weekday

OVER_CAP = """
SELECT count(*) FROM (
  SELECT b.bucket
    FROM reservations r0
    CROSS JOIN LATERAL bucket_state_v1(r0.restaurant_id, r0.service_date, fd_bucket_floor(lower(r0.during)),
                                       fd_bucket_ceil(upper(r0.during)), NULL) b
   WHERE r0.status IN ('confirmed', 'seated')
     AND (b.covers_present > b.max_covers_present OR b.parties_present > b.max_parties_present
          OR b.covers_starting > b.max_covers_starting)
) over_cap
"""


DRIFT = "SELECT count(*) FROM restaurants r CROSS JOIN LATERAL bucket_loads_drift_v1(r.id)"


def assert_never_oversold(database: TestDatabase) -> None:
    """No bucket over a cap, and the load counters equal the bookings they summarise."""
    assert database.scalar(OVER_CAP) == 0
    assert database.scalar(DRIFT) == 0


def guest(n: int) -> Guest:
    return Guest(f"Guest {n}", f"+1212555{n:04d}")


def test_fifty_concurrent_commits_for_the_last_four_covers_never_exceed_any_cap(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(max_covers_present=40, max_parties_present=40, max_covers_starting=40)
    day = next_weekday(4)
    start = SlotRequest(6, local_date=day, local_time=time(19))
    for n in range(6):  # 36 covers booked: 4 left
        booking.commit_slot(restaurant, start, guest(n), channel=Channel.STAFF)
    store = booking.store
    start_ts = start.resolve(booking.restaurant(restaurant))
    barrier = threading.Barrier(50)

    def race(n: int) -> str:
        barrier.wait()
        try:  # straight at the locked SQL path: no hold stands in the way
            store.commit(restaurant_id=restaurant, start=start_ts + timedelta(minutes=15 * (n % 3)),
                         party_size=1 + n % 3, guest=guest(100 + n), channel=Channel.API, hold_id=None,
                         idempotency_key=None, hold_expires_at=None, actor="race")
            return "booked"
        except SlotUnavailable as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(race, range(50)))
    assert set(outcomes) <= {"booked", "full"}
    assert_never_oversold(database)
    booked_covers = database.scalar(
        "SELECT sum(party_size) FROM reservations WHERE restaurant_id = %s AND status = 'confirmed'", [restaurant])
    assert 37 <= booked_covers <= 40


def test_fifty_callers_racing_through_holds_for_one_slot_never_oversell(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(max_covers_present=10, max_parties_present=5, max_covers_starting=10)
    request = SlotRequest(2, local_date=next_weekday(5), local_time=time(19, 30))
    barrier = threading.Barrier(50)

    def caller(n: int) -> str:
        barrier.wait()
        try:
            held = booking.check_and_hold(restaurant, request)
            booking.commit(held.hold.hold_id, guest(n))
            return "booked"
        except SlotUnavailable as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(caller, range(50)))
    assert outcomes["booked"] == 5 and outcomes["full"] == 45
    assert_never_oversold(database)


def test_two_multi_bucket_modifications_in_opposite_orders_never_deadlock(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(turn_minutes=150)
    day = next_weekday(2)
    early = booking.commit_slot(restaurant, SlotRequest(4, local_date=day, local_time=time(17)), guest(1))
    late = booking.commit_slot(restaurant, SlotRequest(4, local_date=day, local_time=time(19, 30)), guest(2))
    errors: list[BaseException] = []

    def swap(reservation_id: UUID, times: list[time], barrier: threading.Barrier) -> None:
        for wall in times:
            barrier.wait()
            try:
                booking.store.modify(reservation_id, start=SlotRequest(4, local_date=day, local_time=wall)
                                     .resolve(booking.restaurant(restaurant)), party_size=None,
                                     actor="swap", enforce_notice=True)
            except FrontDeskError as exc:
                errors.append(exc)

    barrier = threading.Barrier(2)
    rounds = 15
    threads = [
        threading.Thread(target=swap, args=(early.id, [time(19, 30), time(17)] * rounds, barrier)),
        threading.Thread(target=swap, args=(late.id, [time(17), time(19, 30)] * rounds, barrier)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []  # a deadlock would surface as DatabaseUnavailable here
    assert_never_oversold(database)
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'reservation.modified'") == 4 * rounds


def test_new_york_keeps_its_wall_clock_hours_on_both_dst_change_days(
    booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant(timezone="America/New_York")  # open 17:00–22:00 every day
    spring, fall = next_dst_changes()
    for day in (spring, fall):
        first = booking.check_and_hold(restaurant, SlotRequest(2, local_date=day, local_time=time(17)))
        assert first.local_start.time() == time(17) and first.local_start.date() == day
        last = booking.check_and_hold(restaurant, SlotRequest(2, local_date=day, local_time=time(21, 45)))
        assert last.local_start.time() == time(21, 45)
        with pytest.raises(SlotUnavailable) as closed:
            booking.check_and_hold(restaurant, SlotRequest(2, local_date=day, local_time=time(22)))
        assert closed.value.reason == "closed"
        assert all(time(17) <= a.local_time <= time(21, 45) for a in closed.value.alternates
                   if a.local_date == day)


def test_half_past_two_on_spring_forward_day_is_refused(booking: BookingService) -> None:
    spring, _ = next_dst_changes()
    with pytest.raises(NonexistentLocalTime, match="does not exist"):
        booking.check_and_hold("demo-bistro", SlotRequest(2, local_date=spring, local_time=time(2, 30)))


def test_half_past_one_on_fall_back_day_books_the_first_occurrence(
    booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    late_night = {d: [(time(22), time(3))] for d in range(1, 8)}
    restaurant = make_restaurant(hours=late_night, turn_minutes=60)
    _, fall = next_dst_changes()
    reservation = booking.commit_slot(restaurant, SlotRequest(2, local_date=fall, local_time=time(1, 30)),
                                      guest(1))
    assert reservation.start == datetime(fall.year, fall.month, fall.day, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert reservation.service_date == fall - timedelta(days=1)  # the night that opened the day before


def test_a_half_past_midnight_booking_counts_in_fridays_pacing(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    hours = {d: [(time(17), time(1) if d == 5 else time(22))] for d in range(1, 8)}
    restaurant = make_restaurant(hours=hours)
    friday = next_weekday(5)
    with database.connect() as conn:  # Fridays are paced tighter than Saturdays
        conn.execute("INSERT INTO capacity_rules (restaurant_id, weekday, max_covers_present, max_parties_present,"
                     " max_covers_starting) VALUES (%s, 5, 2, 1, 2)", [restaurant])
    saturday = friday + timedelta(days=1)
    first = booking.commit_slot(restaurant, SlotRequest(2, local_date=saturday, local_time=time(0, 30)), guest(1))
    assert first.service_date == friday
    with pytest.raises(SlotUnavailable) as refused:  # Friday's cap (1 party) applies, not Saturday's (10)
        booking.check_and_hold(restaurant, SlotRequest(2, local_date=saturday, local_time=time(0, 30)))
    assert refused.value.reason == "full"


def test_cancels_and_opposite_moves_racing_on_the_same_buckets_neither_deadlock_nor_drift(
    booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(turn_minutes=150, max_covers_present=400, max_parties_present=200,
                                 max_covers_starting=400)
    day = next_weekday(2)
    at = {wall: SlotRequest(2, local_date=day, local_time=wall).resolve(booking.restaurant(restaurant))
          for wall in (time(17), time(19, 30))}
    movers = [booking.commit_slot(restaurant, SlotRequest(2, local_date=day, local_time=time(19, 30)), guest(n))
              for n in range(10)]
    cancelled = [booking.commit_slot(restaurant, SlotRequest(2, local_date=day, local_time=time(17)), guest(50 + n))
                 for n in range(10)]
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def move(reservation_id: UUID) -> None:
        barrier.wait()
        try:
            booking.store.modify(reservation_id, start=at[time(17)], party_size=None, actor="t", enforce_notice=True)
        except FrontDeskError as exc:
            errors.append(exc)

    def cancel(reservation_id: UUID) -> None:
        barrier.wait()
        try:
            booking.cancel(reservation_id)
        except FrontDeskError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(r.id,)) for r in movers]
    threads += [threading.Thread(target=cancel, args=(r.id,)) for r in cancelled]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert database.scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()") == 0
    assert_never_oversold(database)


def test_a_half_past_midnight_booking_falls_under_fridays_blackout(
    booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    hours = {d: [(time(17), time(1) if d == 5 else time(22))] for d in range(1, 8)}
    restaurant = make_restaurant(hours=hours)
    friday = next_weekday(5)
    booking.add_special_day(restaurant, SpecialDay(friday, friday, closed=True, reason="private event"),
                            actor="owner")
    with pytest.raises(SlotUnavailable) as refused:
        booking.check_and_hold(restaurant, SlotRequest(2, local_date=friday + timedelta(days=1),
                                                       local_time=time(0, 30)))
    assert refused.value.reason == "blackout" and "private event" in refused.value.detail


def test_a_blackout_over_existing_bookings_lists_them_and_needs_force(
    booking: BookingService, database: TestDatabase
) -> None:
    day = next_weekday(3)
    other_day = day + timedelta(days=1)
    affected = [booking.commit_slot("demo-bistro", SlotRequest(2, local_date=day, local_time=time(h)), guest(h))
                for h in (18, 20)]
    booking.commit_slot("demo-bistro", SlotRequest(2, local_date=other_day, local_time=time(19)), guest(99))
    closure = SpecialDay(day, day, closed=True, reason="burst pipe")
    with pytest.raises(WouldStrandBookings) as refused:
        booking.add_special_day("demo-bistro", closure, actor="owner")
    assert sorted(r.id for r in refused.value.affected) == sorted(r.id for r in affected)
    assert database.scalar("SELECT count(*) FROM special_days") == 0
    _, stranded = booking.add_special_day("demo-bistro", closure, actor="owner", force=True)
    assert sorted(r.id for r in stranded) == sorted(r.id for r in affected)
    assert database.scalar("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == "owner"


def test_shorter_hours_strand_only_the_bookings_they_no_longer_cover(booking: BookingService) -> None:
    day = next_weekday(3)
    early = booking.commit_slot("demo-bistro", SlotRequest(2, local_date=day, local_time=time(17, 30)), guest(1))
    booking.commit_slot("demo-bistro", SlotRequest(2, local_date=day, local_time=time(20)), guest(2))
    _, stranded = booking.add_special_day(
        "demo-bistro", SpecialDay(day, day, closed=False, opens=time(19), closes=time(23), reason="late opening"),
        actor="owner", force=True)
    assert [r.id for r in stranded] == [early.id]


# -- Redis going away ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A private redis-server this test may stop and restart (the shared one is never touched)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required on PATH for this test")
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL))
        deadline = _time.monotonic() + 10
        while _time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            _time.sleep(0.05)

    def stop() -> None:
        procs[-1].terminate()
        procs[-1].wait(10)

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", stop, start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_with_redis_stopped_mid_test_bookings_stay_safe_and_nothing_is_lost(
    database: TestDatabase, make_restaurant: Callable[..., UUID], own_redis
) -> None:
    url, stop, start = own_redis
    holds = RedisHoldStore.from_url(url, prefix="fd:", timeout=0.2)
    holds._cooldown = 0.0  # let the test see recovery at once
    service = BookingService(PostgresBookingStore(database.app_url), holds)
    restaurant = make_restaurant(max_covers_present=4, max_parties_present=4, max_covers_starting=4)
    request = SlotRequest(2, local_date=next_weekday(2), local_time=time(19))

    held = service.check_and_hold(restaurant, request)
    assert held.hold is not None
    stop()
    # A hold placed before the outage: the commit cannot read it and says how to proceed.
    with pytest.raises(HoldsUnavailable):
        service.commit(held.hold.hold_id, guest(1))
    # Availability still answers, flagged degraded, and commits go through the locked SQL path.
    degraded = service.check_and_hold(restaurant, request)
    assert degraded.degraded and degraded.hold is None
    service.commit_slot(restaurant, request, guest(2))
    service.commit_slot(restaurant, request, guest(3))
    with pytest.raises(SlotUnavailable) as full:
        service.commit_slot(restaurant, request, guest(4))
    assert full.value.reason == "full"
    assert_never_oversold(database)
    assert database.scalar("SELECT count(*) FROM reservations") == 2
    start()
    with pytest.raises(SlotUnavailable):
        service.check_and_hold(restaurant, request)  # Redis is back and PostgreSQL still says full
    assert service.check_and_hold(restaurant, SlotRequest(2, local_date=next_weekday(3), local_time=time(19))).hold


def test_an_unreachable_redis_answers_fast_once_it_is_known_to_be_down(database: TestDatabase) -> None:
    holds = RedisHoldStore.from_url(f"redis://127.0.0.1:{_free_port()}/0", timeout=0.2)
    service = BookingService(PostgresBookingStore(database.app_url), holds)
    request = SlotRequest(2, local_date=next_weekday(2), local_time=time(19))
    assert service.check_and_hold("demo-bistro", request).degraded
    assert service.check_and_hold("demo-bistro", request).degraded
    # The cooldown means Redis is not even tried again for a while: no caller waits on a dead socket.
    assert _time.monotonic() < holds._down_until


def test_hold_keys_expire_with_their_holds(booking: BookingService, redis_prefix: str) -> None:
    from tests.support.databases import redis_client

    held = booking.check_and_hold("demo-bistro", SlotRequest(2, local_date=next_weekday(2), local_time=time(19)))
    client = redis_client()
    ttl_ms = client.pttl(f"{redis_prefix}hold:{held.hold.hold_id}")
    assert 0 < ttl_ms <= 300_000
    bucket_keys = list(client.scan_iter(match=f"{redis_prefix}load:*"))
    assert bucket_keys and all(0 < client.pttl(k) <= 300_000 for k in bucket_keys)
    booking.commit(held.hold.hold_id, guest(5))
    assert client.exists(f"{redis_prefix}hold:{held.hold.hold_id}") == 0
    assert all(client.zcard(k) == 0 for k in bucket_keys)
    client.close()
