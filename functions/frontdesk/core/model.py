"""Domain values. Instants are aware UTC datetimes; local dates and times are the restaurant's wall clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from uuid import UUID


class Channel(StrEnum):
    PHONE_AGENT = "phone_agent"
    STAFF = "staff"
    API = "api"


class ReservationStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    SEATED = "seated"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Restaurant:
    id: UUID
    slug: str
    name: str
    timezone: str
    max_party_size: int
    min_notice_minutes: int
    booking_horizon_days: int
    policies: str = ""
    address: str = ""
    twilio_number: str | None = None
    failover_number: str | None = None
    agent_enabled: bool = True
    #: It has a floor plan, so bookings also need a free table (read with the row, cached with it).
    has_tables: bool = False


@dataclass(frozen=True)
class ServiceWindow:
    opens: time
    closes: time

    @property
    def crosses_midnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True)
class DayPlan:
    """What one service date looks like: its windows, or why it is closed."""

    service_date: date
    windows: tuple[ServiceWindow, ...]
    closed_reason: str | None = None
    is_special: bool = False

    @property
    def is_open(self) -> bool:
        return bool(self.windows)


@dataclass(frozen=True)
class Load:
    covers_present: int = 0
    parties_present: int = 0
    covers_starting: int = 0

    def __add__(self, other: Load) -> Load:
        return Load(
            self.covers_present + other.covers_present,
            self.parties_present + other.parties_present,
            self.covers_starting + other.covers_starting,
        )


@dataclass(frozen=True)
class Caps:
    max_covers_present: int
    max_parties_present: int
    max_covers_starting: int


@dataclass(frozen=True)
class BucketState:
    """Confirmed load of one 15-minute bucket (from PostgreSQL) and its caps."""

    bucket: datetime
    confirmed: Load
    caps: Caps

    def admits(self, party_size: int, starting_here: bool, held: Load = Load()) -> bool:
        load = self.confirmed + held
        if load.covers_present + party_size > self.caps.max_covers_present:
            return False
        if load.parties_present + 1 > self.caps.max_parties_present:
            return False
        return not (starting_here and load.covers_starting + party_size > self.caps.max_covers_starting)


@dataclass(frozen=True)
class SlotEvaluation:
    """PostgreSQL's view of a slot: why it cannot be booked (reason), or its service date and end."""

    reason: str | None
    detail: str | None
    service_date: date | None
    end: datetime | None
    buckets: tuple[BucketState, ...] = ()


@dataclass(frozen=True)
class Slot:
    restaurant_id: UUID
    start: datetime
    end: datetime
    party_size: int
    service_date: date


@dataclass(frozen=True)
class Hold:
    hold_id: str
    slot: Slot
    expires_at: datetime


@dataclass(frozen=True)
class BucketCapacity:
    bucket: datetime
    covers_left: int
    parties_left: int


@dataclass(frozen=True)
class HoldResult:
    """A successful availability check: a hold (or none when holds are degraded) and what is left."""

    slot: Slot
    local_start: datetime
    hold: Hold | None
    degraded: bool
    capacity: tuple[BucketCapacity, ...] = field(default=())


@dataclass(frozen=True)
class Guest:
    name: str
    phone: str
    notes: str = ""


@dataclass(frozen=True)
class Reservation:
    id: UUID
    restaurant_id: UUID
    service_date: date
    start: datetime
    end: datetime
    party_size: int
    guest_name: str
    guest_phone: str
    notes: str
    status: ReservationStatus
    channel: Channel
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    replayed: bool = False
    # The tables it occupies (names), when the restaurant has tables; empty otherwise.
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpecialDay:
    """A closure (blackout) or changed hours for the service dates starts_on..ends_on, inclusive."""

    starts_on: date
    ends_on: date
    closed: bool
    opens: time | None = None
    closes: time | None = None
    reason: str = ""


@dataclass(frozen=True)
class RestaurantOverview:
    """What a caller may ask about: the restaurant, its next service dates and its upcoming special days."""

    restaurant: Restaurant
    days: tuple[DayPlan, ...]
    special_days: tuple[SpecialDay, ...]
