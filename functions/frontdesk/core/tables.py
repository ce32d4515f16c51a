"""Tables and combinations: the floor plan a restaurant may give the engine (optional).

With at least one active table, every commit and modification also takes the smallest fitting free table or
combination (in PostgreSQL, under the booking's locks); without tables, booking is pacing-only as before.
These are the admin use cases: validate here (InvalidRequest says what to fix), apply in the store, which
takes the restaurant's configuration lock and writes event_log with the actor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from frontdesk.core.errors import InvalidRequest
from frontdesk.core.model import Reservation

MAX_NAME = 40
MAX_AREA = 60
MAX_SEATS = 100
# Printable, no commas (lists of tables are written T1,T2), no surrounding blanks.
_NAME = re.compile(r"^[^,\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class DiningTable:
    name: str
    min_seats: int
    max_seats: int
    area: str = ""
    agent_bookable: bool = True
    active: bool = True


@dataclass(frozen=True)
class TableCombination:
    name: str
    tables: tuple[str, ...]
    min_seats: int
    max_seats: int
    agent_bookable: bool = True
    # False while one of its tables is inactive: it is then never offered.
    usable: bool = True


@dataclass(frozen=True)
class TableChange:
    """What a change did. ``item``: the table or combination as it is now. ``affected``: the future bookings
    it would have stranded (only ever non-empty when forced); they were moved to another free table where one
    fits. ``unassigned``: future bookings that now have no table at all — staff seat them by hand. After every
    change the engine first tries to give a table to each booking without one, in start order (bookings made
    before the restaurant had tables included)."""

    item: DiningTable | TableCombination
    affected: tuple[Reservation, ...] = ()
    unassigned: tuple[Reservation, ...] = ()


@dataclass(frozen=True)
class FloorPlan:
    tables: tuple[DiningTable, ...]
    combinations: tuple[TableCombination, ...]


class TableStore(Protocol):
    """Where the floor plan lives (PostgreSQL). Each write takes the configuration lock and logs the actor;
    a change that would strand bookings raises WouldStrandBookings unless ``force``."""

    def restaurant_id(self, key: str | UUID) -> UUID: ...

    def floor_plan(self, restaurant_id: UUID) -> FloorPlan: ...

    def add_table(self, restaurant_id: UUID, table: DiningTable, *, actor: str) -> TableChange: ...

    def update_table(
        self, restaurant_id: UUID, name: str, *, new_name: str | None, area: str | None, min_seats: int | None,
        max_seats: int | None, agent_bookable: bool | None, active: bool | None, actor: str, force: bool,
    ) -> TableChange: ...

    def add_combination(self, restaurant_id: UUID, combination: TableCombination, *, min_given: bool,
                        max_given: bool, actor: str) -> TableChange: ...

    def remove_combination(self, restaurant_id: UUID, name: str, *, actor: str, force: bool) -> TableChange: ...


def validate_name(name: object, what: str = "table") -> str:
    if not isinstance(name, str):
        raise InvalidRequest(f"a {what} name must be text")
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= MAX_NAME or not _NAME.match(cleaned):
        raise InvalidRequest(f"a {what} name must be 1 to {MAX_NAME} printable characters without commas "
                             f"(got {name!r})")
    return cleaned


def validate_area(area: object) -> str:
    if not isinstance(area, str) or len(area.strip()) > MAX_AREA or not _NAME.match(area.strip() or "x"):
        raise InvalidRequest(f"an area must be at most {MAX_AREA} printable characters without commas")
    return area.strip()


def validate_seats(min_seats: object, max_seats: object) -> tuple[int, int]:
    for value in (min_seats, max_seats):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidRequest("seats must be whole numbers")
    assert isinstance(min_seats, int) and isinstance(max_seats, int)
    if not 1 <= min_seats <= max_seats <= MAX_SEATS:
        raise InvalidRequest(f"seats must satisfy 1 <= min <= max <= {MAX_SEATS} (got min {min_seats}, "
                             f"max {max_seats})")
    return min_seats, max_seats


def validate_actor(actor: object) -> str:
    # 200, as the API's actor (an IAM role session ARN can be longer than 120 characters).
    if not isinstance(actor, str) or not 1 <= len(actor.strip()) <= 200:
        raise InvalidRequest("say who makes the change (actor, 1 to 200 characters)")
    return actor.strip()


class TableAdmin:
    def __init__(self, store: TableStore) -> None:
        self.store = store

    def floor_plan(self, restaurant_key: str | UUID) -> FloorPlan:
        return self.store.floor_plan(self.store.restaurant_id(restaurant_key))

    def add_table(self, restaurant_key: str | UUID, table: DiningTable, *, actor: str) -> TableChange:
        name = validate_name(table.name)
        min_seats, max_seats = validate_seats(table.min_seats, table.max_seats)
        area = validate_area(table.area)
        if not isinstance(table.agent_bookable, bool):
            raise InvalidRequest("agent_bookable is true or false")
        clean = DiningTable(name, min_seats, max_seats, area, table.agent_bookable)
        return self.store.add_table(self.store.restaurant_id(restaurant_key), clean, actor=validate_actor(actor))

    def update_table(
        self,
        restaurant_key: str | UUID,
        name: str,
        *,
        actor: str,
        new_name: str | None = None,
        area: str | None = None,
        min_seats: int | None = None,
        max_seats: int | None = None,
        agent_bookable: bool | None = None,
        active: bool | None = None,
        force: bool = False,
    ) -> TableChange:
        """Change what is given (None keeps it). Deactivating a table, or shrinking it below a future live
        booking seated at it, strands that booking: WouldStrandBookings listing them, unless ``force``."""
        name = validate_name(name)
        new_name = validate_name(new_name) if new_name is not None else None
        area = validate_area(area) if area is not None else None
        for seats in (min_seats, max_seats):
            if seats is not None:
                validate_seats(seats, seats)
        if min_seats is not None and max_seats is not None:
            validate_seats(min_seats, max_seats)
        for flag in (agent_bookable, active):
            if flag is not None and not isinstance(flag, bool):
                raise InvalidRequest("agent_bookable and active are true or false")
        if all(v is None for v in (new_name, area, min_seats, max_seats, agent_bookable, active)):
            raise InvalidRequest("nothing to change: give at least one new value")
        return self.store.update_table(
            self.store.restaurant_id(restaurant_key), name, new_name=new_name, area=area, min_seats=min_seats,
            max_seats=max_seats, agent_bookable=agent_bookable, active=active, actor=validate_actor(actor),
            force=bool(force))

    def remove_table(self, restaurant_key: str | UUID, name: str, *, actor: str, force: bool = False) -> TableChange:
        """Take a table out of service. It is kept (inactive) so past bookings still say where they sat, and
        can come back with ``update_table(active=True)``. Future bookings at it refuse this unless ``force``;
        forced, they move to another free table that fits, or are returned as unassigned."""
        return self.update_table(restaurant_key, name, actor=actor, active=False, force=force)

    def combine(
        self,
        restaurant_key: str | UUID,
        name: str,
        tables: Sequence[str],
        *,
        actor: str,
        min_seats: int | None = None,
        max_seats: int | None = None,
        agent_bookable: bool = True,
    ) -> TableChange:
        """Seat two or more active tables together as one option, with its own seat range (by default 1 up
        to the tables' seats added up)."""
        name = validate_name(name, "combination")
        if isinstance(tables, str):
            raise InvalidRequest("give the tables as a list of names")
        members = tuple(validate_name(t) for t in tables)
        if len(members) < 2 or len(set(members)) != len(members):
            raise InvalidRequest("a combination joins at least two different tables")
        if min_seats is not None or max_seats is not None:
            validate_seats(min_seats if min_seats is not None else 1,
                           max_seats if max_seats is not None else MAX_SEATS)
        if not isinstance(agent_bookable, bool):
            raise InvalidRequest("agent_bookable is true or false")
        combination = TableCombination(name, members, min_seats or 1, max_seats or MAX_SEATS, agent_bookable)
        return self.store.add_combination(
            self.store.restaurant_id(restaurant_key), combination, min_given=min_seats is not None,
            max_given=max_seats is not None, actor=validate_actor(actor))

    def uncombine(self, restaurant_key: str | UUID, name: str, *, actor: str, force: bool = False) -> TableChange:
        """Remove a combination. Future bookings seated through it refuse the change unless ``force`` (then
        they are re-seated as after a table removal)."""
        return self.store.remove_combination(
            self.store.restaurant_id(restaurant_key), validate_name(name, "combination"),
            actor=validate_actor(actor), force=bool(force))


__all__ = ["DiningTable", "FloorPlan", "TableAdmin", "TableChange", "TableCombination", "TableStore"]
