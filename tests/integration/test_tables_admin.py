"""Editing tables and combinations: stranded bookings, the audit trail, privileges and garbage input."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from frontdesk.adapters.tables_pg import PostgresTableStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import (
    InvalidRequest,
    NotFound,
    RestaurantNotFound,
    SlotUnavailable,
    TableNotFound,
    WouldStrandBookings,
)
from frontdesk.core.model import Guest
from frontdesk.core.tables import DiningTable, TableAdmin, TableCombination
from tests.support.databases import TestDatabase
from tests.support.dates import next_weekday


@pytest.fixture
def tables(database: TestDatabase) -> Iterator[TableAdmin]:
    store = PostgresTableStore(database.app_url)
    try:
        yield TableAdmin(store)
    finally:
        store.close()


@pytest.fixture
def restaurant(make_restaurant: Callable[..., UUID]) -> UUID:
    return make_restaurant(max_covers_present=200, max_parties_present=100, max_covers_starting=200)


def snapshot(database: TestDatabase) -> tuple[Any, ...]:
    return (database.rows("SELECT * FROM dining_tables ORDER BY id"),
            database.rows("SELECT * FROM table_combinations ORDER BY id"),
            database.rows("SELECT * FROM table_combination_members ORDER BY 1, 2"),
            database.scalar("SELECT count(*) FROM event_log"))


def test_adding_a_table_and_a_combination_is_logged_with_the_actor(
    tables: TableAdmin, restaurant: UUID, database: TestDatabase
) -> None:
    made = tables.add_table(restaurant, DiningTable(" T1 ", 1, 4, area="Patio"), actor="maria@bistro")
    assert made.item == DiningTable("T1", 1, 4, "Patio", True, True) and made.unassigned == ()
    tables.add_table(restaurant, DiningTable("T2", 2, 4), actor="maria@bistro")
    combo = tables.combine(restaurant, "T1+T2", ["T1", "T2"], actor="maria@bistro").item
    assert isinstance(combo, TableCombination)
    assert combo.tables == ("T1", "T2") and (combo.min_seats, combo.max_seats) == (1, 8) and combo.usable
    plan = tables.floor_plan(restaurant)
    assert [t.name for t in plan.tables] == ["T1", "T2"] and [c.name for c in plan.combinations] == ["T1+T2"]
    assert database.rows("SELECT kind, actor FROM event_log ORDER BY id") == [
        ("table.added", "maria@bistro"), ("table.added", "maria@bistro"), ("combination.added", "maria@bistro")]


def test_removing_a_table_with_a_future_booking_is_refused_listing_it_unless_forced(
    tables: TableAdmin, restaurant: UUID, booking: BookingService, database: TestDatabase
) -> None:
    tables.add_table(restaurant, DiningTable("T2", 1, 2), actor="test")
    made = booking.commit_slot(restaurant, SlotRequest(2, local_date=next_weekday(3), local_time=time(19)),
                               Guest("Ana", "+12125550101"))
    before = snapshot(database)
    with pytest.raises(WouldStrandBookings) as refused:
        tables.remove_table(restaurant, "T2", actor="test")
    assert [r.id for r in refused.value.affected] == [made.id]
    assert snapshot(database) == before  # nothing half-written
    change = tables.remove_table(restaurant, "T2", actor="owner", force=True)
    assert not change.item.active and [r.id for r in change.affected] == [made.id]  # type: ignore[union-attr]
    # No other table: the booking stands, without a table, and is listed for staff to seat by hand.
    assert [r.id for r in change.unassigned] == [made.id] and booking.get(made.id).tables == ()
    assert database.rows("SELECT kind, actor, payload->'forced' FROM event_log WHERE kind LIKE 'table.%%'"
                         " ORDER BY id") == [("table.added", "test", None), ("table.removed", "owner", True)]
    # And it comes back.
    assert tables.update_table(restaurant, "T2", active=True, actor="owner").item.active  # type: ignore[union-attr]


def test_shrinking_a_table_below_a_booking_seated_at_it_is_refused_unless_forced(
    tables: TableAdmin, restaurant: UUID, booking: BookingService
) -> None:
    tables.add_table(restaurant, DiningTable("T4", 1, 4), actor="test")
    booking.commit_slot(restaurant, SlotRequest(4, local_date=next_weekday(3), local_time=time(19)),
                        Guest("Ana", "+12125550101"))
    with pytest.raises(WouldStrandBookings):
        tables.update_table(restaurant, "T4", max_seats=3, actor="test")
    tables.update_table(restaurant, "T4", max_seats=4, area="Terrace", actor="test")  # no strand: fine
    assert tables.update_table(restaurant, "T4", max_seats=3, actor="test", force=True).item.max_seats == 3  # type: ignore[union-attr]


def test_a_combination_with_an_inactive_table_is_never_offered(
    tables: TableAdmin, restaurant: UUID, booking: BookingService
) -> None:
    for name in ("A", "B", "C"):
        tables.add_table(restaurant, DiningTable(name, 1, 2), actor="test")
    tables.combine(restaurant, "AB", ["A", "B"], actor="test", min_seats=3, max_seats=4)
    tables.remove_table(restaurant, "B", actor="test")
    assert not tables.floor_plan(restaurant).combinations[0].usable
    with pytest.raises(SlotUnavailable) as full:
        booking.commit_slot(restaurant, SlotRequest(4, local_date=next_weekday(2), local_time=time(19)),
                            Guest("Ana", "+12125550101"))
    assert full.value.reason == "full"


def test_uncombining_with_a_booking_seated_through_it_is_refused_unless_forced(
    tables: TableAdmin, restaurant: UUID, booking: BookingService, database: TestDatabase
) -> None:
    for name in ("A", "B"):
        tables.add_table(restaurant, DiningTable(name, 1, 2), actor="test")
    tables.combine(restaurant, "AB", ["A", "B"], actor="test", min_seats=3, max_seats=4)
    made = booking.commit_slot(restaurant, SlotRequest(4, local_date=next_weekday(2), local_time=time(19)),
                               Guest("Ana", "+12125550101"))
    with pytest.raises(WouldStrandBookings) as refused:
        tables.uncombine(restaurant, "AB", actor="test")
    assert [r.id for r in refused.value.affected] == [made.id]
    change = tables.uncombine(restaurant, "AB", actor="owner", force=True)
    assert [r.id for r in change.affected] == [made.id] == [r.id for r in change.unassigned]
    assert tables.floor_plan(restaurant).combinations == ()
    assert booking.get(made.id).tables == ()  # neither table seats four alone
    assert database.scalar("SELECT count(*) FROM event_log WHERE kind = 'combination.removed'") == 1


def test_a_forced_removal_moves_the_booking_to_another_free_table_that_fits(
    tables: TableAdmin, restaurant: UUID, booking: BookingService
) -> None:
    tables.add_table(restaurant, DiningTable("T2", 1, 2), actor="test")
    made = booking.commit_slot(restaurant, SlotRequest(2, local_date=next_weekday(3), local_time=time(19)),
                               Guest("Ana", "+12125550101"))
    tables.add_table(restaurant, DiningTable("T4", 1, 4), actor="test")
    change = tables.remove_table(restaurant, "T2", actor="test", force=True)
    assert [r.id for r in change.affected] == [made.id] and change.unassigned == ()
    assert booking.get(made.id).tables == ("T4",)


def test_bookings_made_before_the_restaurant_had_tables_get_one_when_tables_are_added(
    tables: TableAdmin, restaurant: UUID, booking: BookingService
) -> None:
    day = next_weekday(4)
    made = [booking.commit_slot(restaurant, SlotRequest(2, local_date=day, local_time=time(19, 15 * n)),
                                Guest(f"G{n}", f"+1212555010{n}")) for n in range(3)]
    assert all(r.tables == () for r in made)
    first = tables.add_table(restaurant, DiningTable("T2", 1, 2), actor="test")
    # In start order: the 19:00 booking gets T2; the others overlap it and are listed.
    assert booking.get(made[0].id).tables == ("T2",)
    assert [r.id for r in first.unassigned] == [made[1].id, made[2].id]
    second = tables.add_table(restaurant, DiningTable("T4", 1, 4), actor="test")
    assert [r.id for r in second.unassigned] == [made[2].id]
    assert booking.get(made[1].id).tables == ("T4",)
    # A new booking only gets what the earlier ones left.
    with pytest.raises(SlotUnavailable):
        booking.commit_slot(restaurant, SlotRequest(2, local_date=day, local_time=time(19, 45)),
                            Guest("Late", "+12125550199"))


def test_tables_of_another_restaurant_cannot_be_combined(
    tables: TableAdmin, restaurant: UUID, make_restaurant: Callable[..., UUID]
) -> None:
    other = make_restaurant()
    tables.add_table(restaurant, DiningTable("A", 1, 2), actor="test")
    tables.add_table(other, DiningTable("B", 1, 2), actor="test")
    with pytest.raises(TableNotFound, match="B"):
        tables.combine(restaurant, "AB", ["A", "B"], actor="test")


@pytest.mark.parametrize("call", [
    lambda t, r: t.add_table(r, DiningTable("", 1, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("   ", 1, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1,T2", 1, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T\n1", 1, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("x" * 41, 1, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable(None, 1, 2), actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.add_table(r, DiningTable("T1", 0, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1", 3, 2), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1", 1, 101), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1", -5, -1), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1", True, 2), actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.add_table(r, DiningTable("T1", "2", "4"), actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.add_table(r, DiningTable("T1", 1, 2, area="a" * 61), actor="x"),
    lambda t, r: t.add_table(r, DiningTable("T1", 1, 2, agent_bookable="yes"), actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.add_table(r, DiningTable("T1", 1, 2), actor=""),
    lambda t, r: t.add_table(r, DiningTable("Taken", 1, 2), actor="x"),
    lambda t, r: t.update_table(r, "Taken", actor="x"),
    lambda t, r: t.update_table(r, "Taken", min_seats=5, actor="x"),
    lambda t, r: t.update_table(r, "Taken", min_seats=3, max_seats=2, actor="x"),
    lambda t, r: t.update_table(r, "Taken", new_name="Other", actor="x"),
    lambda t, r: t.update_table(r, "Taken", new_name="a,b", actor="x"),
    lambda t, r: t.update_table(r, "Taken", active="no", actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.combine(r, "C", ["Taken"], actor="x"),
    lambda t, r: t.combine(r, "C", ["Taken", "Taken"], actor="x"),
    lambda t, r: t.combine(r, "C", "Taken,Other", actor="x"),  # type: ignore[arg-type]
    lambda t, r: t.combine(r, "C", ["Taken", "Other"], actor="x", min_seats=9, max_seats=4),
    lambda t, r: t.combine(r, "C", ["Taken", "Other"], actor="x", min_seats=0),
    lambda t, r: t.combine(r, "Pair", ["Taken", "Other"], actor="x"),
    lambda t, r: t.combine(r, "", ["Taken", "Other"], actor="x"),
], ids=lambda _: "")
def test_garbage_admin_input_is_refused_with_a_clear_message_and_changes_nothing(
    call: Callable[[TableAdmin, UUID], object], tables: TableAdmin, restaurant: UUID, database: TestDatabase
) -> None:
    tables.add_table(restaurant, DiningTable("Taken", 1, 4), actor="setup")
    tables.add_table(restaurant, DiningTable("Other", 1, 2), actor="setup")
    tables.combine(restaurant, "Pair", ["Taken", "Other"], actor="setup")
    before = snapshot(database)
    with pytest.raises(InvalidRequest) as refused:
        call(tables, restaurant)
    assert refused.value.detail and "violates" not in refused.value.detail and "\n" not in refused.value.detail
    assert snapshot(database) == before


@pytest.mark.parametrize("call", [
    lambda t, r: t.update_table(r, "Ghost", max_seats=2, actor="x"),
    lambda t, r: t.remove_table(r, "Ghost", actor="x"),
    lambda t, r: t.uncombine(r, "Ghost", actor="x"),
    lambda t, r: t.combine(r, "C", ["Taken", "Ghost"], actor="x"),
    lambda t, r: t.floor_plan("no-such-place"),
    lambda t, r: t.floor_plan(uuid4()),
    lambda t, r: t.add_table("no-such-place", DiningTable("T", 1, 2), actor="x"),
], ids=lambda _: "")
def test_unknown_tables_and_restaurants_are_not_found(
    call: Callable[[TableAdmin, UUID], object], tables: TableAdmin, restaurant: UUID, database: TestDatabase
) -> None:
    tables.add_table(restaurant, DiningTable("Taken", 1, 4), actor="setup")
    before = snapshot(database)
    with pytest.raises(NotFound) as missing:
        call(tables, restaurant)
    assert isinstance(missing.value, TableNotFound | RestaurantNotFound)
    assert snapshot(database) == before


def test_app_user_cannot_write_the_floor_plan_or_table_assignments_directly(
    database: TestDatabase, restaurant: UUID
) -> None:
    with psycopg.connect(database.app_url, autocommit=True) as conn:
        for statement in (
            "INSERT INTO dining_tables (restaurant_id, name, min_seats, max_seats) VALUES (%s, 'X', 1, 2)",
            "DELETE FROM reservation_tables WHERE restaurant_id = %s",
            "UPDATE table_combinations SET max_seats = 1 WHERE restaurant_id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, [restaurant])
