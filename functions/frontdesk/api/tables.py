"""The floor plan over HTTP: tables and the combinations they can be pushed into (``core.tables.TableAdmin``).

Served with the configuration routes (the ``config`` Lambda) and in their style: one use case per route, the
actor from the IAM caller (``restaurant_admin.actor_of``), a change that would strand future bookings is a 409
``would_strand_bookings`` listing them, and ``?force=true`` applies it, answering which of them were re-seated
at another table and which are left without one. Names go in the path URL-encoded (``T1%2BT2``); a name that
cannot exist is a 404, like an unknown one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from pydantic import AfterValidator, Field, StringConstraints, model_validator

from frontdesk.api import errors
from frontdesk.api.deps import provider, require_json
from frontdesk.api.errors import AffectedReservationOut, OutModel
from frontdesk.api.restaurant_admin import Actor, Force, RestaurantPath, _restaurant
from frontdesk.api.schemas import WireModel
from frontdesk.core.errors import InvalidRequest, TableNotFound, WouldStrandBookings

if TYPE_CHECKING:
    from frontdesk.core.model import Reservation
    from frontdesk.core.tables import DiningTable, TableAdmin, TableChange, TableCombination

router = APIRouter(prefix="/api/v1/restaurants", tags=["floor plan"], dependencies=[Depends(require_json)])

# As core.tables (MAX_NAME, MAX_AREA, MAX_SEATS), repeated here so the OpenAPI document states them.
MAX_NAME = 40
MAX_AREA = 60
MAX_SEATS = 100
MAX_MEMBERS = 20
_NAME_PATTERN = r"^[^,\x00-\x1f\x7f]+$"
_NOT_PRINTABLE = re.compile(r"[,\x00-\x1f\x7f]")

T = TypeVar("T")


async def _tables(request: Request) -> TableAdmin:
    return provider(request).tables  # type: ignore[attr-defined]


async def _timezone_of(request: Request) -> Callable[[str], str]:
    """The restaurant's timezone, looked up only when bookings are to be shown in local time."""
    admin = provider(request).restaurant_admin  # type: ignore[attr-defined]
    return lambda key: admin.settings(key).timezone


if TYPE_CHECKING:
    Tables = TableAdmin
else:
    Tables = Annotated[Any, Depends(_tables)]
TimezoneOf = Annotated[Callable[[str], str], Depends(_timezone_of)]
TablePath = Annotated[str, Path(description="The table's name, URL-encoded (`T%201` for `T 1`).")]
CombinationPath = Annotated[str, Path(description="The combination's name, URL-encoded (`T1%2BT2` for `T1+T2`).")]


def _name(raw: str, what: str) -> str:
    """A path name that cannot exist (too long, commas, control characters) is not found, not malformed."""
    from frontdesk.core.tables import validate_name

    try:
        return validate_name(raw, what)
    except InvalidRequest:
        raise TableNotFound(f"no {what} named {raw[:MAX_NAME]!r}") from None


def _located(call: Callable[[], T], key: str, timezone_of: Callable[[str], str]) -> T:
    """Run a change; a refusal carries the restaurant's timezone so its bookings read in local time."""
    try:
        return call()
    except WouldStrandBookings as exc:
        if exc.timezone is None:
            exc.timezone = timezone_of(key)
        raise


# -- wire models ----------------------------------------------------------------------------------------



def _printable(text: str) -> str:
    # Checked here rather than by a pattern so the 422 says what to fix, not which regex failed.
    if _NOT_PRINTABLE.search(text):
        raise ValueError("must be printable characters without commas")
    return text


def _addressable(name: str) -> str:
    """A name made here must be reachable in a path later. Clients resolve "." and ".." as dot segments, and
    API Gateway's HTTP API decodes the path before routing (an encoded "/" splits it, "?" and "#" cut it)."""
    if not name.strip("."):
        raise ValueError("a name cannot be only dots")
    if any(c in name for c in "/?#\\"):
        raise ValueError("a name cannot contain / ? # or \\ (join tables with +, e.g. T1+T2)")
    return name


# A table already on the floor plan, perhaps made with the CLI (which allows more than new names here).
ExistingName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME),
                         AfterValidator(_printable), Field(json_schema_extra={"pattern": _NAME_PATTERN})]
Name = Annotated[ExistingName, AfterValidator(_addressable),
                 Field(description="1 to 40 printable characters, none of , / ? # \\, not only dots.",
                       examples=["T12"])]
Area = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_AREA), AfterValidator(_printable),
                 Field(description="Where it is: patio, bar, main room... (no commas).",
                       json_schema_extra={"pattern": r"^[^,\x00-\x1f\x7f]*$"})]
Seats = Annotated[int, Field(strict=True, ge=1, le=MAX_SEATS)]
Flag = Annotated[bool, Field(strict=True)]


class TableIn(WireModel):
    """A new table taking parties of `min_seats` to `max_seats`."""

    name: Name
    max_seats: Seats
    min_seats: Seats = 1
    area: Area = ""
    agent_bookable: Flag = Field(default=True, description="Whether the phone agent may book it.")

    @model_validator(mode="after")
    def _range(self) -> Any:
        if self.min_seats > self.max_seats:
            raise ValueError(f"min_seats ({self.min_seats}) cannot exceed max_seats ({self.max_seats})")
        return self


class TablePatch(WireModel):
    """Only the fields given change. `active: false` takes it out of service (as DELETE does); shrinking it
    below, or deactivating it under, a future booking seated at it is a 409 unless `?force=true`."""

    name: Name | None = Field(default=None, description="A new name.")
    area: Area | None = None
    min_seats: Seats | None = None
    max_seats: Seats | None = None
    agent_bookable: Flag | None = None
    active: Flag | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give name, area, min_seats, max_seats, agent_bookable or active")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        if self.min_seats is not None and self.max_seats is not None and self.min_seats > self.max_seats:
            raise ValueError(f"min_seats ({self.min_seats}) cannot exceed max_seats ({self.max_seats})")
        return self


class CombinationIn(WireModel):
    """Two or more active tables pushed together, offered as one option. Seats default to 1 up to the
    tables' seats added up."""

    name: Name = Field(examples=["T1+T2"])
    tables: Annotated[list[ExistingName], Field(min_length=2, max_length=MAX_MEMBERS)]
    min_seats: Seats | None = None
    max_seats: Seats | None = None
    agent_bookable: Flag = True

    @model_validator(mode="after")
    def _valid(self) -> Any:
        if len(set(self.tables)) != len(self.tables):
            raise ValueError("a combination joins different tables: a table is listed twice")
        if self.min_seats is not None and self.max_seats is not None and self.min_seats > self.max_seats:
            raise ValueError(f"min_seats ({self.min_seats}) cannot exceed max_seats ({self.max_seats})")
        return self


class TableOut(OutModel):
    name: str
    area: str
    min_seats: int
    max_seats: int
    agent_bookable: bool
    active: bool
    usable: bool = Field(description="Whether bookings can be seated at it (it is in service).")

    @classmethod
    def from_domain(cls, t: DiningTable) -> TableOut:
        return cls(name=t.name, area=t.area, min_seats=t.min_seats, max_seats=t.max_seats,
                   agent_bookable=t.agent_bookable, active=t.active, usable=t.active)


class CombinationOut(OutModel):
    name: str
    tables: list[str]
    min_seats: int
    max_seats: int
    agent_bookable: bool
    usable: bool = Field(description="False while one of its tables is out of service: it is then never offered.")

    @classmethod
    def from_domain(cls, c: TableCombination) -> CombinationOut:
        return cls(name=c.name, tables=list(c.tables), min_seats=c.min_seats, max_seats=c.max_seats,
                   agent_bookable=c.agent_bookable, usable=c.usable)


class FloorPlanOut(OutModel):
    tables: list[TableOut]
    combinations: list[CombinationOut]


Affected = Annotated[list[AffectedReservationOut], Field(
    description="Future bookings the change stranded (only when forced).")]
Reseated = Annotated[list[AffectedReservationOut], Field(
    description="Of those, the ones moved to another free table that fits.")]
Unassigned = Annotated[list[AffectedReservationOut], Field(
    description="Future bookings that now have no table at all: seat them by hand.")]


class TableChangeOut(OutModel):
    table: TableOut
    affected: Affected
    reseated: Reseated
    unassigned: Unassigned


class CombinationChangeOut(OutModel):
    combination: CombinationOut
    affected: Affected
    reseated: Reseated
    unassigned: Unassigned


def _outcome(change: TableChange, timezone: str) -> dict[str, list[AffectedReservationOut]]:
    def listed(rs: tuple[Reservation, ...] | list[Reservation]) -> list[AffectedReservationOut]:
        return [AffectedReservationOut.from_domain(r, timezone) for r in rs]

    left = {r.id for r in change.unassigned}
    return {"affected": listed(change.affected),
            "reseated": listed([r for r in change.affected if r.id not in left]),
            "unassigned": listed(change.unassigned)}


def _table_change(change: TableChange, key: str, timezone_of: Callable[[str], str]) -> TableChangeOut:
    from frontdesk.core.tables import DiningTable

    assert isinstance(change.item, DiningTable)
    timezone = timezone_of(key) if change.affected or change.unassigned else "UTC"
    return TableChangeOut(table=TableOut.from_domain(change.item), **_outcome(change, timezone))


def _combination_change(change: TableChange, key: str, timezone_of: Callable[[str], str]) -> CombinationChangeOut:
    from frontdesk.core.tables import TableCombination

    assert isinstance(change.item, TableCombination)
    timezone = timezone_of(key) if change.affected or change.unassigned else "UTC"
    return CombinationChangeOut(combination=CombinationOut.from_domain(change.item), **_outcome(change, timezone))


def _location(restaurant: str, kind: str, name: str) -> str:
    return f"/api/v1/restaurants/{restaurant}/{kind}/{quote(name, safe='')}"


CONFLICT = errors.problem_responses(400, 404, 409, 413, 415, 422, 503)
CREATE = errors.problem_responses(400, 404, 413, 415, 422, 503)
READ = errors.problem_responses(404, 422, 503)
STRANDS = ("409 `would_strand_bookings` (listing them) when future bookings are seated at it; `?force=true` "
           "applies it anyway and says which were re-seated (`reseated`) and which have no table (`unassigned`).")


# -- routes ---------------------------------------------------------------------------------------------

@router.get("/{restaurant}/tables", response_model=FloorPlanOut, summary="Tables and combinations",
            responses=READ)
def get_floor_plan(restaurant: RestaurantPath, tables: Tables) -> FloorPlanOut:
    plan = tables.floor_plan(_restaurant(restaurant))
    return FloorPlanOut(tables=[TableOut.from_domain(t) for t in plan.tables],
                        combinations=[CombinationOut.from_domain(c) for c in plan.combinations])


@router.post("/{restaurant}/tables", response_model=TableChangeOut, status_code=201, summary="Add a table",
             description="Future bookings without a table are then seated where they fit (`unassigned`: the "
                         "ones still without one). A name already taken, even by a table out of service, is a "
                         "422: put that one back with PATCH `active: true`.", responses=CREATE)
def add_table(restaurant: RestaurantPath, body: Annotated[TableIn, Body()], tables: Tables, actor: Actor,
              timezone_of: TimezoneOf, response: Response) -> TableChangeOut:
    from frontdesk.core.tables import DiningTable

    key = _restaurant(restaurant)
    change = tables.add_table(key, DiningTable(body.name, body.min_seats, body.max_seats, body.area,
                                               body.agent_bookable), actor=actor)
    response.headers["Location"] = _location(restaurant, "tables", change.item.name)
    return _table_change(change, key, timezone_of)


@router.patch("/{restaurant}/tables/{name:path}", response_model=TableChangeOut, summary="Change a table",
              description=STRANDS, responses=CONFLICT)
def update_table(restaurant: RestaurantPath, name: TablePath, body: Annotated[TablePatch, Body()], tables: Tables,
                 actor: Actor, timezone_of: TimezoneOf, force: Force = False) -> TableChangeOut:
    key, table = _restaurant(restaurant), _name(name, "table")
    change = _located(lambda: tables.update_table(
        key, table, actor=actor, new_name=body.name, area=body.area, min_seats=body.min_seats,
        max_seats=body.max_seats, agent_bookable=body.agent_bookable, active=body.active, force=force),
        key, timezone_of)
    return _table_change(change, key, timezone_of)


@router.delete("/{restaurant}/tables/{name:path}", response_model=TableChangeOut,
               summary="Take a table out of service",
               description="It is kept, inactive, so past bookings still say where they sat (PATCH `active: true` "
                           "brings it back). " + STRANDS, responses=CONFLICT)
def remove_table(restaurant: RestaurantPath, name: TablePath, tables: Tables, actor: Actor,
                 timezone_of: TimezoneOf, force: Force = False) -> TableChangeOut:
    key, table = _restaurant(restaurant), _name(name, "table")
    change = _located(lambda: tables.remove_table(key, table, actor=actor, force=force), key, timezone_of)
    return _table_change(change, key, timezone_of)


@router.post("/{restaurant}/table-combinations", response_model=CombinationChangeOut, status_code=201,
             summary="Combine tables", description="404 when one of the tables is unknown or out of service.",
             responses=CREATE)
def add_combination(restaurant: RestaurantPath, body: Annotated[CombinationIn, Body()], tables: Tables,
                    actor: Actor, timezone_of: TimezoneOf, response: Response) -> CombinationChangeOut:
    key = _restaurant(restaurant)
    change = tables.combine(key, body.name, body.tables, actor=actor, min_seats=body.min_seats,
                            max_seats=body.max_seats, agent_bookable=body.agent_bookable)
    response.headers["Location"] = _location(restaurant, "table-combinations", change.item.name)
    return _combination_change(change, key, timezone_of)


@router.delete("/{restaurant}/table-combinations/{name:path}", response_model=CombinationChangeOut,
               summary="Remove a combination (its tables stay)", description=STRANDS, responses=CONFLICT)
def remove_combination(restaurant: RestaurantPath, name: CombinationPath, tables: Tables, actor: Actor,
                       timezone_of: TimezoneOf, force: Force = False) -> CombinationChangeOut:
    key, combination = _restaurant(restaurant), _name(name, "combination")
    change = _located(lambda: tables.uncombine(key, combination, actor=actor, force=force), key, timezone_of)
    return _combination_change(change, key, timezone_of)
