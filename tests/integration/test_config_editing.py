"""Editing hours, special days, capacity and settings on real PostgreSQL, as app_user: a change that would
strand live bookings is refused and lists them, force applies it and still lists them, nothing is ever
half-written, and every change is in event_log with who made it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from frontdesk.adapters.restaurant_admin_pg import PostgresRestaurantAdminStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import (
    InvalidRequest,
    NotFound,
    RestaurantNotFound,
    SlotUnavailable,
    TimezoneChangeBlocked,
    WouldStrandBookings,
)
from frontdesk.core.model import Caps, Channel, Guest, Reservation
from frontdesk.core.restaurant_admin import CapacityRule, RestaurantAdmin, TurnTime, Window
from tests.support.databases import TestDatabase
from tests.support.dates import next_dst_changes, next_weekday

OWNER = "owner:ana"
OVER_CAP = """
SELECT count(*) FROM reservations r0
 CROSS JOIN LATERAL bucket_state_v1(r0.restaurant_id, r0.service_date, fd_bucket_floor(lower(r0.during)),
                                    fd_bucket_ceil(upper(r0.during)), NULL) b
 WHERE r0.restaurant_id = %s AND r0.status IN ('confirmed', 'seated')
   AND (b.covers_present > b.max_covers_present OR b.parties_present > b.max_parties_present)
"""


@pytest.fixture
def admin(database: TestDatabase) -> Iterator[RestaurantAdmin]:
    store = PostgresRestaurantAdminStore(database.app_url, max_size=8)
    try:
        yield RestaurantAdmin(store)
    finally:
        store.close()


def guest(n: int) -> Guest:
    return Guest(f"Guest {n}", f"+1212556{n:04d}")


def book(booking: BookingService, restaurant: UUID | str, day: date, at: time, party: int = 2,
         n: int = 0) -> Reservation:
    return booking.commit_slot(restaurant, SlotRequest(party, local_date=day, local_time=at), guest(n),
                               channel=Channel.STAFF)


def config_events(database: TestDatabase) -> list[tuple[Any, ...]]:
    return database.rows("SELECT kind, actor, payload FROM event_log WHERE reservation_id IS NULL ORDER BY id")


# -- special days ---------------------------------------------------------------------------------------

def test_closing_a_day_with_bookings_is_refused_and_lists_them_and_writes_nothing(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(3)
    stranded = [book(booking, restaurant, day, time(h), n=h) for h in (18, 20)]
    book(booking, restaurant, day + timedelta(days=1), time(19), n=99)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.add_special_day(restaurant, starts_on=day, closed=True, reason="burst pipe", actor=OWNER)
    assert [r.id for r in refused.value.affected] == [r.id for r in stranded]
    assert refused.value.forceable and refused.value.timezone == "America/New_York"
    assert "2 booking(s)" in refused.value.detail and "force" in refused.value.detail
    assert database.scalar("SELECT count(*) FROM special_days WHERE restaurant_id = %s", [restaurant]) == 0
    assert config_events(database) == []

    forced = admin.add_special_day(restaurant, starts_on=day, closed=True, reason="burst pipe", actor=OWNER,
                                   force=True)
    assert [r.id for r in forced.affected] == [r.id for r in stranded]
    assert forced.value.closed and forced.value.reason == "burst pipe" and forced.value.created_by == OWNER
    ((kind, actor, payload),) = config_events(database)
    assert (kind, actor) == ("special_day.added", OWNER)
    assert payload["forced"] is True and payload["before"] is None and payload["after"]["closed"] is True
    assert sorted(a["id"] for a in payload["affected"]) == sorted(str(r.id) for r in stranded)
    with pytest.raises(SlotUnavailable) as closed:
        book(booking, restaurant, day, time(19), n=5)
    assert closed.value.reason == "blackout"


def test_a_closure_that_strands_nobody_needs_no_force(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(2)
    book(booking, restaurant, day + timedelta(days=1), time(19))
    change = admin.add_special_day(restaurant, starts_on=day, closed=True, actor=OWNER)
    assert change.affected == ()
    assert [d.id for d in admin.special_days(restaurant)] == [change.value.id]


def test_only_bookings_that_have_not_ended_count_as_stranded(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    # A fixed-offset zone where it is about noon now, so "earlier today" never crosses midnight.
    now = datetime.now(UTC)
    offset = 12 - now.hour
    tz = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    restaurant = make_restaurant(timezone=tz, hours={d: [(time(0, 0), time(23, 45))] for d in range(1, 8)})
    today = now.astimezone(ZoneInfo(tz)).date()
    with database.connect() as conn:  # written as the owner: the API would refuse a start in the past
        ids = [conn.execute(
            "INSERT INTO reservations (restaurant_id, service_date, during, party_size, guest_name, guest_phone,"
            " channel) VALUES (%s, %s, tstzrange(%s, %s), 2, %s, %s, 'staff') RETURNING id",
            [restaurant, today, start, end, name, phone]).fetchone()[0]
            for start, end, name, phone in [
                (now - timedelta(hours=2), now - timedelta(hours=1), "Finished", "+12125550001"),
                (now - timedelta(minutes=30), now + timedelta(hours=1), "Still eating", "+12125550002")]]
    change = admin.add_special_day(restaurant, starts_on=today, closed=True, reason="done for the day",
                                   actor=OWNER, force=True)
    assert [r.id for r in change.affected] == [ids[1]]


def test_changed_hours_strand_only_the_bookings_they_no_longer_cover(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(4)
    early = book(booking, restaurant, day, time(17, 30), n=1)
    book(booking, restaurant, day, time(20), n=2)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.add_special_day(restaurant, starts_on=day, closed=False, opens=time(19), closes=time(23),
                              reason="late opening", actor=OWNER)
    assert [r.id for r in refused.value.affected] == [early.id]


def test_changing_a_special_day_checks_the_dates_it_leaves_and_the_dates_it_takes(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(2)
    closure = admin.add_special_day(restaurant, starts_on=day, closed=True, reason="painting", actor=OWNER).value
    target = book(booking, restaurant, day + timedelta(days=2), time(19), n=3)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.change_special_day(restaurant, closure.id, {"starts_on": day + timedelta(days=2)}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [target.id]
    assert admin.special_days(restaurant)[0].starts_on == day  # unchanged

    reopened = admin.change_special_day(restaurant, closure.id, {"opens": time(12), "closes": time(15)},
                                        actor=OWNER)
    assert not reopened.value.closed and reopened.value.opens == time(12) and reopened.affected == ()
    (_, changed) = [p for k, _, p in config_events(database)]
    assert changed["before"]["closed"] is True and changed["after"]["opens"] == "12:00"


def test_removing_special_hours_reverts_to_the_weekly_hours_and_may_strand(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()  # weekly 17:00-22:00
    day = next_weekday(7)
    lunch = admin.add_special_day(restaurant, starts_on=day, closed=False, opens=time(11), closes=time(22),
                                  reason="holiday lunch", actor=OWNER).value
    at_noon = book(booking, restaurant, day, time(12), n=4)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.remove_special_day(restaurant, lunch.id, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [at_noon.id]
    assert len(admin.special_days(restaurant)) == 1

    removed = admin.remove_special_day(restaurant, lunch.id, actor="owner:ben", force=True)
    assert [r.id for r in removed.affected] == [at_noon.id]
    assert admin.special_days(restaurant) == []
    kind, actor, payload = config_events(database)[-1]
    assert (kind, actor, payload["after"], payload["before"]["id"]) == ("special_day.removed", "owner:ben", None,
                                                                         lunch.id)


def test_a_forced_closure_is_not_reported_again_by_later_edits_of_it(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(3)
    book(booking, restaurant, day, time(19))
    closure = admin.add_special_day(restaurant, starts_on=day, closed=True, actor=OWNER, force=True).value
    renamed = admin.change_special_day(restaurant, closure.id, {"reason": "staff training"}, actor=OWNER)
    assert renamed.affected == () and renamed.value.reason == "staff training"


def test_overlapping_special_days_are_refused_with_the_one_in_the_way(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(1)
    first = admin.add_special_day(restaurant, starts_on=day, ends_on=day + timedelta(days=3), closed=True,
                                  actor=OWNER).value
    with pytest.raises(InvalidRequest, match=f"overlaps special day {first.id}"):
        admin.add_special_day(restaurant, starts_on=day + timedelta(days=2), closed=True, actor=OWNER)


# -- weekly hours, midnight and DST ---------------------------------------------------------------------

def test_weekly_hours_that_strand_bookings_are_refused_and_listed(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()
    monday = next_weekday(1)
    early = book(booking, restaurant, monday, time(17, 15), n=1)
    book(booking, restaurant, monday, time(19), n=2)
    book(booking, restaurant, monday + timedelta(days=1), time(17, 15), n=3)  # a Tuesday: untouched
    with pytest.raises(WouldStrandBookings) as refused:
        admin.set_weekly_hours(restaurant, {"mon": [Window(time(18), time(23))]}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [early.id]
    assert [(w.weekday, w.opens) for w in admin.weekly_hours(restaurant) if w.weekday == 1] == [(1, time(17))]

    change = admin.set_weekly_hours(restaurant, {"mon": [Window(time(18), time(23))], "sun": []}, actor=OWNER,
                                    force=True)
    assert [r.id for r in change.affected] == [early.id]
    assert {w.weekday for w in change.value} == {1, 2, 3, 4, 5, 6}
    kind, actor, payload = config_events(database)[-1]
    assert (kind, actor, payload["weekdays"]) == ("hours.changed", OWNER, [1, 7])
    assert len(payload["before"]) == 7 and len(payload["after"]) == 6


def test_hours_past_midnight_keep_their_early_bookings_on_the_service_date_they_belong_to(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    friday = next_weekday(5)
    admin.set_weekly_hours(restaurant, {"fri": [Window(time(18), time(2))]}, actor=OWNER)
    late = book(booking, restaurant, friday + timedelta(days=1), time(1), n=7)  # Saturday 01:00
    assert late.service_date == friday
    # Saturday's own hours do not touch a Friday booking.
    assert admin.set_weekly_hours(restaurant, {"sat": [Window(time(19), time(23))]}, actor=OWNER).affected == ()
    with pytest.raises(WouldStrandBookings) as refused:
        admin.set_weekly_hours(restaurant, {"fri": [Window(time(18), time(0, 30))]}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [late.id]
    # A Thursday window spilling into Friday morning may not overlap Friday's own.
    with pytest.raises(InvalidRequest, match="Thu 20:00-02:00 and Fri 01:00-03:00 overlap"):
        admin.set_weekly_hours(restaurant, {"fri": [Window(time(1), time(3)), Window(time(18), time(2))],
                                            "thu": [Window(time(20), time(2))]}, actor=OWNER)


def test_special_hours_on_clock_change_dates_strand_by_wall_clock(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    spring, fall = next_dst_changes("America/New_York")
    night = admin.add_special_day(restaurant, starts_on=fall, closed=False, opens=time(0, 30), closes=time(4),
                                  reason="late party", actor=OWNER).value
    in_the_fold = book(booking, restaurant, fall, time(1, 30), n=11)  # the first 01:30 (still daylight time)
    after = book(booking, restaurant, fall, time(2, 30), n=12)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.change_special_day(restaurant, night.id, {"opens": time(2)}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [in_the_fold.id]
    assert after.id not in {r.id for r in refused.value.affected}

    gap = admin.add_special_day(restaurant, starts_on=spring, closed=False, opens=time(1), closes=time(5),
                                actor=OWNER).value
    before_gap = book(booking, restaurant, spring, time(1, 30), n=13)
    after_gap = book(booking, restaurant, spring, time(3, 30), n=14)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.change_special_day(restaurant, gap.id, {"opens": time(3)}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [before_gap.id]
    assert after_gap.id not in {r.id for r in refused.value.affected}


def test_a_late_saturday_running_into_the_fall_back_night_strands_by_wall_clock(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    _, fall = next_dst_changes("America/New_York")  # a Sunday: Saturday's late service runs into it
    saturday = fall - timedelta(days=1)
    assert saturday.isoweekday() == 6
    admin.set_weekly_hours(restaurant, {"sat": [Window(time(18), time(3))]}, actor=OWNER)
    half_past_midnight = book(booking, restaurant, fall, time(0, 30), n=21)
    in_the_fold = book(booking, restaurant, fall, time(1, 30), n=22)  # the first 01:30, still daylight time
    assert half_past_midnight.service_date == saturday == in_the_fold.service_date
    with pytest.raises(WouldStrandBookings) as refused:
        admin.set_weekly_hours(restaurant, {"sat": [Window(time(18), time(1))]}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [in_the_fold.id]


# -- capacity -------------------------------------------------------------------------------------------

def test_lowering_a_cap_below_what_is_booked_is_refused_and_raising_it_is_not(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(max_covers_present=40, max_parties_present=10, max_covers_starting=16)
    day = next_weekday(6)
    at_seven = [book(booking, restaurant, day, time(19), party=4, n=n) for n in range(3)]  # 12 covers
    elsewhere = book(booking, restaurant, day, time(17), party=2, n=9)  # ends 19:00: not present at 19:00
    (default,) = admin.capacity_rules(restaurant)

    with pytest.raises(WouldStrandBookings) as refused:
        admin.change_capacity_rule(restaurant, default.id, {"max_covers_present": 10}, actor=OWNER)
    assert sorted(r.id for r in refused.value.affected) == sorted(r.id for r in at_seven)
    assert elsewhere.id not in {r.id for r in refused.value.affected}
    assert admin.capacity_rules(restaurant)[0].max_covers_present == 40

    assert admin.change_capacity_rule(restaurant, default.id, {"max_covers_present": 12}, actor=OWNER).affected == ()
    assert admin.change_capacity_rule(restaurant, default.id, {"max_covers_present": 60}, actor=OWNER).affected == ()
    # A Saturday evening rule with room for two parties strands the bookings in the buckets it governs.
    saturday = CapacityRule(None, None, 6, time(18, 30), time(23), 40, 2, 16)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.add_capacity_rule(restaurant, saturday, actor=OWNER)
    assert sorted(r.id for r in refused.value.affected) == sorted(r.id for r in at_seven)
    forced = admin.add_capacity_rule(restaurant, saturday, actor=OWNER, force=True)
    assert sorted(r.id for r in forced.affected) == sorted(r.id for r in at_seven)
    with pytest.raises(SlotUnavailable):
        book(booking, restaurant, day, time(19, 15), n=20)
    kinds = [(k, a) for k, a, _ in config_events(database)]
    assert kinds == [("capacity_rule.changed", OWNER)] * 2 + [("capacity_rule.added", OWNER)]


def test_removing_the_only_capacity_rule_strands_every_booking_ahead(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(2)
    bookings = [book(booking, restaurant, day + timedelta(days=d), time(19), n=d) for d in range(2)]
    (default,) = admin.capacity_rules(restaurant)
    with pytest.raises(WouldStrandBookings) as refused:
        admin.remove_capacity_rule(restaurant, default.id, actor=OWNER)
    assert sorted(r.id for r in refused.value.affected) == sorted(r.id for r in bookings)
    assert len(admin.capacity_rules(restaurant)) == 1


def test_a_cap_change_racing_bookings_never_overbooks_and_reports_exactly_what_landed_first(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    outcomes: list[str] = []
    for attempt in range(4):
        restaurant = make_restaurant(max_covers_present=40, max_parties_present=40, max_covers_starting=40)
        day = next_weekday(3, at_least_days=7 + attempt)
        (default,) = admin.capacity_rules(restaurant)
        start = SlotRequest(2, local_date=day, local_time=time(19)).resolve(booking.restaurant(restaurant))
        barrier = threading.Barrier(13)

        def commit(n: int, restaurant: UUID = restaurant, start: datetime = start,
                   barrier: threading.Barrier = barrier, attempt: int = attempt) -> UUID | None:
            barrier.wait()
            try:
                return booking.store.commit(
                    restaurant_id=restaurant, start=start, party_size=2, guest=guest(100 * attempt + n),
                    channel=Channel.STAFF, hold_id=None, idempotency_key=None, hold_expires_at=None,
                    actor="race").id
            except SlotUnavailable:
                return None

        def lower(restaurant: UUID = restaurant, rule: int = default.id or 0,
                  barrier: threading.Barrier = barrier) -> WouldStrandBookings | None:
            barrier.wait()
            try:
                admin.change_capacity_rule(restaurant, rule, {"max_covers_present": 8}, actor=OWNER)
                return None
            except WouldStrandBookings as exc:
                return exc

        with ThreadPoolExecutor(max_workers=13) as pool:
            changed = pool.submit(lower)
            booked = {f.result() for f in [pool.submit(commit, n) for n in range(12)]} - {None}
            refusal = changed.result()

        assert database.scalar(OVER_CAP, [restaurant]) == 0
        cap = admin.capacity_rules(restaurant)[0].max_covers_present
        if refusal is None:
            # Applied: it ran before more than four parties had landed, and every later commit saw the new cap.
            assert cap == 8 and len(booked) <= 4
            outcomes.append("applied")
        else:
            # Refused: the bookings it listed had all committed before it, and nothing is lost.
            reported = {r.id for r in refusal.affected}
            assert cap == 40 and len(reported) > 4 and reported <= booked
            outcomes.append("refused")
    assert outcomes  # both outcomes are legitimate; what matters is the invariant above on every attempt


def test_a_rule_for_the_same_scope_twice_is_refused(admin: RestaurantAdmin,
                                                   make_restaurant: Callable[..., UUID]) -> None:
    restaurant = make_restaurant()
    rule = CapacityRule(None, None, 5, time(18), time(20), 10, 3, 8)
    added = admin.add_capacity_rule(restaurant, rule, actor=OWNER).value
    with pytest.raises(InvalidRequest, match=f"capacity rule {added.id} already covers"):
        admin.add_capacity_rule(restaurant, rule, actor=OWNER)


# -- turn times and settings ----------------------------------------------------------------------------

def test_new_turn_times_apply_to_new_bookings_and_existing_ones_keep_their_length(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant(turn_minutes=120)
    day = next_weekday(2)
    before = book(booking, restaurant, day, time(18), n=1)
    rows = admin.set_turn_times(restaurant, [TurnTime(3, 6, 150), TurnTime(1, 2, 90)], actor=OWNER)
    assert rows == [TurnTime(1, 2, 90), TurnTime(3, 6, 150)]
    after = book(booking, restaurant, day, time(18), n=2)
    assert before.end - before.start == timedelta(minutes=120)
    assert after.end - after.start == timedelta(minutes=90)
    kind, actor, payload = config_events(database)[-1]
    assert (kind, actor, payload["before"], len(payload["after"])) == ("turn_times.changed", OWNER, [], 2)


def test_a_new_restaurant_with_a_default_capacity_takes_bookings_once_it_has_hours(
    admin: RestaurantAdmin, booking: BookingService, database: TestDatabase
) -> None:
    created = admin.create_restaurant(
        {"slug": "chez-ana", "name": "Chez Ana", "timezone": "Europe/Paris", "twilio_number": "+33170000000",
         "min_notice_minutes": 0}, Caps(30, 8, 12), actor=OWNER)
    assert created.capacity_rule is not None and created.capacity_rule.max_covers_present == 30
    assert [r.slug for r in admin.list_restaurants()] == ["chez-ana", "demo-bistro"]
    day = next_weekday(5)
    with pytest.raises(SlotUnavailable) as closed:
        book(booking, "chez-ana", day, time(20))
    assert closed.value.reason == "closed"
    admin.set_weekly_hours("chez-ana", {d: [Window(time(19), time(23))] for d in range(1, 8)}, actor=OWNER)
    assert book(booking, "chez-ana", day, time(20)).party_size == 2
    kinds = [k for k, _, _ in config_events(database)]
    assert kinds == ["restaurant.created", "hours.changed"]


def test_the_timezone_cannot_change_while_bookings_lie_ahead(
    admin: RestaurantAdmin, booking: BookingService, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()
    ahead = book(booking, restaurant, next_weekday(3), time(19))
    with pytest.raises(TimezoneChangeBlocked) as refused:
        admin.update_restaurant(restaurant, {"timezone": "Europe/Paris", "name": "Renamed"}, actor=OWNER)
    assert [r.id for r in refused.value.affected] == [ahead.id] and not refused.value.forceable
    assert admin.settings(restaurant).name != "Renamed"
    booking.cancel(ahead.id)
    changed = admin.update_restaurant(restaurant, {"timezone": "Europe/Paris", "twilio_number": None,
                                                   "max_party_size": 6}, actor=OWNER)
    assert (changed.timezone, changed.twilio_number, changed.max_party_size) == ("Europe/Paris", None, 6)
    kind, actor, payload = config_events(database)[-1]
    assert (kind, actor) == ("restaurant.changed", OWNER)
    assert payload["before"]["timezone"] == "America/New_York" and payload["after"]["timezone"] == "Europe/Paris"


def test_settings_that_clash_with_another_restaurant_say_so(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    with pytest.raises(InvalidRequest, match="Twilio number already answers"):
        admin.update_restaurant(restaurant, {"twilio_number": "+15555550100"}, actor=OWNER)  # Demo Bistro's
    with pytest.raises(InvalidRequest, match="slug is taken"):
        admin.update_restaurant(restaurant, {"slug": "demo-bistro"}, actor=OWNER)


def test_every_kind_of_change_is_logged_with_its_actor_and_before_and_after(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID], database: TestDatabase
) -> None:
    restaurant = make_restaurant()
    day = next_weekday(2)
    actors = iter(f"staff:{n}" for n in range(100))
    admin.update_restaurant(restaurant, {"policies": "No dogs"}, actor=next(actors))
    admin.set_weekly_hours(restaurant, {"tue": [Window(time(12), time(14)), Window(time(18), time(22))]},
                           actor=next(actors))
    sd = admin.add_special_day(restaurant, starts_on=day, closed=True, actor=next(actors)).value
    admin.change_special_day(restaurant, sd.id, {"reason": "inventory"}, actor=next(actors))
    admin.remove_special_day(restaurant, sd.id, actor=next(actors))
    rule = admin.add_capacity_rule(restaurant, CapacityRule(None, day, None, None, None, 20, 5, 8),
                                   actor=next(actors)).value
    admin.change_capacity_rule(restaurant, rule.id or 0, {"max_parties_present": 6}, actor=next(actors))
    admin.remove_capacity_rule(restaurant, rule.id or 0, actor=next(actors))
    admin.set_turn_times(restaurant, [TurnTime(1, 4, 90)], actor=next(actors))
    events = config_events(database)
    assert [k for k, _, _ in events] == [
        "restaurant.changed", "hours.changed", "special_day.added", "special_day.changed", "special_day.removed",
        "capacity_rule.added", "capacity_rule.changed", "capacity_rule.removed", "turn_times.changed"]
    assert [a for _, a, _ in events] == [f"staff:{n}" for n in range(9)]
    assert all({"before", "after"} <= p.keys() for _, _, p in events)


# -- garbage --------------------------------------------------------------------------------------------

GARBAGE_CALLS: list[tuple[str, Callable[[RestaurantAdmin, UUID], object]]] = [
    ("backwards range", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), ends_on=date(2030, 1, 1),
                                                       closed=True, actor=OWNER)),
    ("closed with hours", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), closed=True,
                                                         opens=time(12), closes=time(14), actor=OWNER)),
    ("open without hours", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), closed=False,
                                                          actor=OWNER)),
    ("empty window", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), closed=False, opens=time(12),
                                                    closes=time(12), actor=OWNER)),
    ("past", lambda a, r: a.add_special_day(r, starts_on=date(2001, 1, 5), closed=True, actor=OWNER)),
    ("far future", lambda a, r: a.add_special_day(r, starts_on=date(9999, 1, 5), closed=True, actor=OWNER)),
    ("two years", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 1), ends_on=date(2032, 1, 1),
                                                 closed=True, actor=OWNER)),
    ("long reason", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), closed=True, reason="x" * 201,
                                                   actor=OWNER)),
    ("no actor", lambda a, r: a.add_special_day(r, starts_on=date(2030, 1, 5), closed=True, actor="  ")),
    ("bad weekday", lambda a, r: a.set_weekly_hours(r, {"funday": [Window(time(1), time(2))]}, actor=OWNER)),
    ("weekday 8", lambda a, r: a.set_weekly_hours(r, {8: []}, actor=OWNER)),
    ("no weekdays", lambda a, r: a.set_weekly_hours(r, {}, actor=OWNER)),
    ("same-day overlap", lambda a, r: a.set_weekly_hours(
        r, {"mon": [Window(time(12), time(15)), Window(time(14), time(18))]}, actor=OWNER)),
    ("same opening twice", lambda a, r: a.set_weekly_hours(
        r, {"mon": [Window(time(12), time(15)), Window(time(12), time(18))]}, actor=OWNER)),
    ("both scopes", lambda a, r: a.add_capacity_rule(r, CapacityRule(None, date(2030, 1, 1), 3, None, None, 1, 1, 1),
                                                     actor=OWNER)),
    ("half a window", lambda a, r: a.add_capacity_rule(r, CapacityRule(None, None, 3, time(1), None, 1, 1, 1),
                                                       actor=OWNER)),
    ("negative cap", lambda a, r: a.add_capacity_rule(r, CapacityRule(None, None, 3, None, None, -1, 1, 1),
                                                      actor=OWNER)),
    ("huge cap", lambda a, r: a.add_capacity_rule(r, CapacityRule(None, None, 3, None, None, 10**12, 1, 1),
                                                  actor=OWNER)),
    ("second default", lambda a, r: a.add_capacity_rule(r, CapacityRule(None, None, None, None, None, 1, 1, 1),
                                                        actor=OWNER)),
    ("unknown rule field", lambda a, r: a.change_capacity_rule(r, 1, {"colour": "red"}, actor=OWNER)),
    ("overlapping turns", lambda a, r: a.set_turn_times(r, [TurnTime(1, 4, 90), TurnTime(4, 6, 90)], actor=OWNER)),
    ("backwards turn", lambda a, r: a.set_turn_times(r, [TurnTime(6, 4, 90)], actor=OWNER)),
    ("short turn", lambda a, r: a.set_turn_times(r, [TurnTime(1, 4, 5)], actor=OWNER)),
    ("bad timezone", lambda a, r: a.update_restaurant(r, {"timezone": "Mars/Olympus"}, actor=OWNER)),
    ("bad phone", lambda a, r: a.update_restaurant(r, {"failover_number": "555-1234"}, actor=OWNER)),
    ("bad slug", lambda a, r: a.update_restaurant(r, {"slug": "Demo Bistro!"}, actor=OWNER)),
    ("bool party", lambda a, r: a.update_restaurant(r, {"max_party_size": True}, actor=OWNER)),
    ("unknown setting", lambda a, r: a.update_restaurant(r, {"colour": "red"}, actor=OWNER)),
    ("nothing", lambda a, r: a.update_restaurant(r, {}, actor=OWNER)),
    ("half agent hours", lambda a, r: a.update_restaurant(r, {"agent_opens": time(9)}, actor=OWNER)),
    ("create without tz", lambda a, r: a.create_restaurant({"slug": "x-y", "name": "X"}, None, actor=OWNER)),
]


@pytest.mark.parametrize(("name", "call"), GARBAGE_CALLS, ids=[n for n, _ in GARBAGE_CALLS])
def test_garbage_is_refused_with_a_message_and_writes_nothing(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID], database: TestDatabase, name: str,
    call: Callable[[RestaurantAdmin, UUID], object]
) -> None:
    restaurant = make_restaurant()
    snapshot = _snapshot(database, restaurant)
    with pytest.raises(InvalidRequest) as refused:
        call(admin, restaurant)
    assert refused.value.detail and "Traceback" not in refused.value.detail
    assert _snapshot(database, restaurant) == snapshot


def _snapshot(database: TestDatabase, restaurant: UUID) -> tuple[Any, ...]:
    return tuple(database.scalar(q, [restaurant]) for q in (
        "SELECT count(*) FROM event_log WHERE restaurant_id = %s",
        "SELECT string_agg(weekday || opens::text || closes::text, ',' ORDER BY weekday, opens)"
        "  FROM operating_hours WHERE restaurant_id = %s",
        "SELECT count(*) FROM special_days WHERE restaurant_id = %s",
        "SELECT string_agg(id || ':' || max_covers_present, ',' ORDER BY id) FROM capacity_rules"
        " WHERE restaurant_id = %s",
        "SELECT count(*) FROM turn_times WHERE restaurant_id = %s",
        "SELECT updated_at FROM restaurants WHERE id = %s",
    ))


def test_unknown_restaurants_special_days_and_rules_are_not_found(
    admin: RestaurantAdmin, make_restaurant: Callable[..., UUID]
) -> None:
    restaurant = make_restaurant()
    with pytest.raises(RestaurantNotFound):
        admin.special_days("no-such-place")
    with pytest.raises(NotFound, match="no special day 424242"):
        admin.remove_special_day(restaurant, 424242, actor=OWNER)
    with pytest.raises(NotFound, match="no capacity rule 424242"):
        admin.change_capacity_rule(restaurant, 424242, {"max_covers_present": 1}, actor=OWNER)
    other = admin.capacity_rules("demo-bistro")[0]  # another restaurant's rule is not this one's
    with pytest.raises(NotFound):
        admin.remove_capacity_rule(restaurant, other.id or 0, actor=OWNER)


def test_the_api_role_cannot_write_configuration_tables_directly(database: TestDatabase) -> None:
    import psycopg

    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for statement in ("INSERT INTO special_days (restaurant_id, starts_on, ends_on, closed)"
                          " SELECT id, '2030-01-01', '2030-01-01', true FROM restaurants",
                          "DELETE FROM capacity_rules", "UPDATE operating_hours SET opens = '01:00'",
                          "DELETE FROM turn_times"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
