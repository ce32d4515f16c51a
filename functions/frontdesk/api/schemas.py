"""The wire protocol: every request and response body as a typed model.

Requests refuse unknown fields (``extra="forbid"``) and anything ambiguous: timestamps must be strings
with a UTC offset, counts must be JSON integers, local times are the restaurant's wall clock without an
offset. What cannot be checked without the database (a party larger than *this* restaurant seats, a
local time inside a clock change) is the core's to refuse. Responses are built from domain values by the
``from_domain`` constructors, so the JSON shape lives in this one file.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from frontdesk.api.errors import HHMM_PATTERN, OutModel, hhmm
from frontdesk.core.booking import MAX_NAME, MAX_NOTES, SlotRequest
from frontdesk.core.model import (
    BucketCapacity,
    Channel,
    DayPlan,
    Guest,
    HoldResult,
    Reservation,
    Restaurant,
    SpecialDay,
)
from frontdesk.core.timeutil import to_local

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
SLUG_OR_UUID_PATTERN = (r"^(?:[a-z0-9][a-z0-9-]{1,62}"
                        r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$")
SLUG_OR_UUID = re.compile(SLUG_OR_UUID_PATTERN)
LOCAL_TIME_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$"
LOCAL_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# Far enough for any booking horizon, near enough that no date arithmetic can overflow.
MIN_YEAR, MAX_YEAR = 2000, 2199
MAX_PARTY = 100  # the schema-wide ceiling; each restaurant sets its own, lower maximum


# -- field types ----------------------------------------------------------------------------------------

def _timestamp_text(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):  # already parsed (constructed in Python, not from the wire)
        return value
    raise ValueError("must be an ISO 8601 string with a UTC offset, e.g. 2026-12-01T19:00:00-05:00")


def _year_in_range(value: Any) -> Any:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def _to_date(value: str) -> date:
    try:
        return _year_in_range(date.fromisoformat(value))
    except ValueError as exc:
        message = str(exc) if "years" in str(exc) else "must be a real calendar date, YYYY-MM-DD"
        raise ValueError(message) from None


def _to_time(value: str) -> time:
    return time.fromisoformat(value)


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp_text),
    AfterValidator(_year_in_range),
    Field(description="An instant, ISO 8601 with a UTC offset, e.g. `2026-12-01T19:00:00-05:00`.",
          examples=["2026-12-01T19:00:00-05:00"]),
]
LocalDate = Annotated[
    str,
    StringConstraints(pattern=LOCAL_DATE_PATTERN),
    AfterValidator(_to_date),
    Field(description="A date on the restaurant's wall clock, `YYYY-MM-DD`.", examples=["2026-12-01"]),
]
LocalTime = Annotated[
    str,
    StringConstraints(pattern=LOCAL_TIME_PATTERN),
    AfterValidator(_to_time),
    Field(description="A time on the restaurant's wall clock, 24-hour `HH:MM` (no offset).",
          examples=["19:30"]),
]
PartySize = Annotated[
    int,
    Field(strict=True, ge=1, le=MAX_PARTY,
          description="Number of guests. Each restaurant also has its own maximum (409 `party_too_large`)."),
]
Phone = Annotated[
    str,
    StringConstraints(pattern=E164_PATTERN, max_length=16),
    Field(description="E.164 phone number, e.g. `+12125550123`.", examples=["+12125550123"]),
]
RestaurantKey = Annotated[
    str,
    StringConstraints(pattern=SLUG_OR_UUID_PATTERN),
    Field(description="The restaurant's id (UUID) or slug.", examples=["demo-bistro"]),
]
GuestName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME,
                      pattern=r"^[^\x00-\x1f\x7f]+$"),
    Field(description=f"Name for the booking, 1 to {MAX_NAME} characters, no control characters."),
]
Notes = Annotated[
    str,
    StringConstraints(max_length=MAX_NOTES, pattern=r"^[^\x00]*$"),
    Field(description=f"Allergies, occasion, seating wishes; at most {MAX_NOTES} characters."),
]
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$"),
    Field(description="Any printable ASCII string up to 128 characters, unique per booking attempt at a "
                      "restaurant. Retrying with the same key returns the first reservation. May instead be "
                      "sent as the `Idempotency-Key` header."),
]
HoldId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(description="The `hold_id` returned by `POST /api/v1/availability/check`."),
]
ApiChannel = Annotated[
    Literal["phone_agent", "api"],
    Field(description="Who books: the phone agent (default) or another API client. Both respect the "
                      "restaurant's minimum notice."),
]


class WireModel(BaseModel):
    """A request body or query: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one_time(start_ts: datetime | None, local_date: date | None, local_time: time | None) -> None:
    has_local = local_date is not None or local_time is not None
    if start_ts is not None and has_local:
        raise ValueError("give either start_ts, or local_date and local_time — not both")
    if start_ts is None and (local_date is None or local_time is None):
        if has_local:
            raise ValueError("local_date and local_time go together")
        raise ValueError("give either start_ts, or local_date and local_time")


class _SlotFields(WireModel):
    restaurant_id: RestaurantKey
    start_ts: Timestamp | None = None
    local_date: LocalDate | None = None
    local_time: LocalTime | None = None
    party_size: PartySize

    @model_validator(mode="after")
    def _one_way_to_say_when(self) -> Any:
        _exactly_one_time(self.start_ts, self.local_date, self.local_time)  # type: ignore[arg-type]
        return self

    def slot_request(self) -> SlotRequest:
        return SlotRequest(party_size=self.party_size, start=self.start_ts,
                           local_date=self.local_date, local_time=self.local_time)  # type: ignore[arg-type]


# -- requests ---------------------------------------------------------------------------------------------

class AvailabilityCheck(_SlotFields):
    """Is a table free? Exactly one of `start_ts`, or `local_date` + `local_time`."""

    caller_phone: Phone | None = Field(
        default=None, description="The caller's number (E.164), when known. Validated only: the duplicate "
                                  "guard (one live booking per phone at a time) runs at commit on `guest_phone`.")
    channel: ApiChannel = "phone_agent"

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"restaurant_id": "demo-bistro", "local_date": "2026-12-04", "local_time": "19:00", "party_size": 4,
         "caller_phone": "+12125550123"}]})


class _GuestFields(WireModel):
    guest_name: GuestName
    guest_phone: Phone
    notes: Notes | None = None
    idempotency_key: IdempotencyKey | None = None

    def guest(self) -> Guest:
        return Guest(name=self.guest_name, phone=self.guest_phone, notes=self.notes or "")


class CommitWithHold(_GuestFields):
    """Book the table held by an availability check."""

    hold_id: HoldId

    model_config = ConfigDict(title="CommitWithHold", json_schema_extra={"examples": [
        {"hold_id": "h_4mB1n2c3d4e5f6g7h8i9j0k1", "guest_name": "Ada Lovelace", "guest_phone": "+12125550123",
         "notes": "window seat if possible"}]})


class CommitWithSlot(_SlotFields, _GuestFields):
    """Book without a hold (when holds were degraded, or for API clients): capacity is re-checked under
    the database locks and live holds of other callers are respected."""

    channel: ApiChannel = "phone_agent"

    model_config = ConfigDict(title="CommitWithSlot")


def _commit_kind(value: Any) -> str:
    if isinstance(value, CommitWithHold) or (isinstance(value, dict) and "hold_id" in value):
        return "with_hold"
    return "with_slot"


CommitRequest = Annotated[
    Annotated[CommitWithHold, Tag("with_hold")] | Annotated[CommitWithSlot, Tag("with_slot")],
    Discriminator(_commit_kind),
]
UNION_TAGS = frozenset({"with_hold", "with_slot"})


class ReservationChanges(WireModel):
    """Move a reservation and/or change its party size. A `local_date` or `local_time` given alone keeps
    the other half of the current local start."""

    start_ts: Timestamp | None = None
    local_date: LocalDate | None = None
    local_time: LocalTime | None = None
    party_size: PartySize | None = None
    channel: ApiChannel = "phone_agent"

    @model_validator(mode="after")
    def _something_to_change(self) -> Any:
        if self.start_ts is not None and (self.local_date is not None or self.local_time is not None):
            raise ValueError("give either start_ts, or local_date/local_time — not both")
        if self.start_ts is None and self.local_date is None and self.local_time is None \
                and self.party_size is None:
            raise ValueError("nothing to change: give start_ts, local_date, local_time or party_size")
        return self


class CancelRequest(WireModel):
    reason: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] = ""


class ReservationQuery(WireModel):
    """Find a caller's reservations (`phone`, upcoming first) or list a service date (`date`)."""

    restaurant_id: RestaurantKey
    phone: Phone | None = None
    date: LocalDate | None = None

    @model_validator(mode="after")
    def _phone_or_date(self) -> Any:
        if (self.phone is None) == (self.date is None):
            raise ValueError("give exactly one of phone or date")
        return self


# -- responses --------------------------------------------------------------------------------------------

class BucketCapacityOut(OutModel):
    bucket_start: datetime
    covers_left: int
    parties_left: int

    @classmethod
    def from_domain(cls, capacity: BucketCapacity) -> BucketCapacityOut:
        return cls(bucket_start=capacity.bucket, covers_left=capacity.covers_left,
                   parties_left=capacity.parties_left)


class HoldOut(OutModel):
    """A held table (or, when `degraded`, a free table that could not be held: commit with the slot)."""

    hold_id: str | None
    expires_at: datetime | None
    restaurant_id: UUID
    start_ts: datetime
    end_ts: datetime
    service_date: date
    local_date: date
    local_time: Annotated[str, Field(pattern=HHMM_PATTERN)]
    party_size: int
    degraded: bool
    capacity: list[BucketCapacityOut]

    @classmethod
    def from_domain(cls, result: HoldResult) -> HoldOut:
        slot = result.slot
        return cls(
            hold_id=result.hold.hold_id if result.hold else None,
            expires_at=result.hold.expires_at if result.hold else None,
            restaurant_id=slot.restaurant_id, start_ts=slot.start, end_ts=slot.end,
            service_date=slot.service_date, local_date=result.local_start.date(),
            local_time=hhmm(result.local_start), party_size=slot.party_size, degraded=result.degraded,
            capacity=[BucketCapacityOut.from_domain(c) for c in result.capacity],
        )


class ReservationOut(OutModel):
    id: UUID
    restaurant_id: UUID
    service_date: date
    start_ts: datetime
    end_ts: datetime
    local_date: date
    local_time: Annotated[str, Field(pattern=HHMM_PATTERN)]
    party_size: int
    guest_name: str
    guest_phone: str
    notes: str
    status: Literal["confirmed", "cancelled", "seated", "completed", "no_show"]
    channel: Literal["phone_agent", "staff", "api"]
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    tables: list[str] = Field(default_factory=list, description="the tables it occupies (empty when the "
                              "restaurant books by pacing only)")

    @classmethod
    def from_domain(cls, reservation: Reservation, timezone: str) -> ReservationOut:
        local = to_local(reservation.start, timezone)
        return cls(
            id=reservation.id, restaurant_id=reservation.restaurant_id, service_date=reservation.service_date,
            start_ts=reservation.start, end_ts=reservation.end, local_date=local.date(),
            local_time=hhmm(local),
            party_size=reservation.party_size, guest_name=reservation.guest_name,
            guest_phone=reservation.guest_phone, notes=reservation.notes, status=reservation.status.value,
            channel=reservation.channel.value, created_at=reservation.created_at,
            updated_at=reservation.updated_at, cancelled_at=reservation.cancelled_at,
            tables=list(reservation.tables),
        )


class ReservationList(OutModel):
    items: list[ReservationOut]


class HoursOut(OutModel):
    """One service window of a service date, or the date marked closed. `closes` at or before `opens`
    means the service runs past midnight."""

    local_date: date
    opens: Annotated[str, Field(pattern=HHMM_PATTERN)] | None
    closes: Annotated[str, Field(pattern=HHMM_PATTERN)] | None
    closed: bool
    reason: str | None

    @classmethod
    def from_plan(cls, plan: DayPlan) -> list[HoursOut]:
        if not plan.is_open:
            return [cls(local_date=plan.service_date, opens=None, closes=None, closed=True,
                        reason=plan.closed_reason)]
        return [cls(local_date=plan.service_date, opens=hhmm(w.opens), closes=hhmm(w.closes), closed=False,
                    reason=None) for w in plan.windows]


class SpecialDayOut(OutModel):
    starts_on: date
    ends_on: date
    closed: bool
    opens: Annotated[str, Field(pattern=HHMM_PATTERN)] | None
    closes: Annotated[str, Field(pattern=HHMM_PATTERN)] | None
    reason: str

    @classmethod
    def from_domain(cls, day: SpecialDay) -> SpecialDayOut:
        return cls(starts_on=day.starts_on, ends_on=day.ends_on, closed=day.closed,
                   opens=hhmm(day.opens) if day.opens else None,
                   closes=hhmm(day.closes) if day.closes else None,
                   reason=day.reason)


class RestaurantOut(OutModel):
    id: UUID
    slug: str
    name: str
    timezone: str
    phone: str | None = Field(description="The restaurant's public number (the one guests call).")
    failover_phone: str | None = Field(
        description="Where a call goes to reach a person: the restaurant's own line. Never the AI's number.")
    address: str
    policies: str
    max_party_size: int
    min_notice_minutes: int
    booking_horizon_days: int
    hours: list[HoursOut] = Field(description="The next 14 service dates, starting today (restaurant time).")
    special_days: list[SpecialDayOut] = Field(description="Upcoming closures and changed hours.")

    @classmethod
    def from_domain(cls, restaurant: Restaurant, days: list[DayPlan], special_days: list[SpecialDay]) \
            -> RestaurantOut:
        return cls(
            id=restaurant.id, slug=restaurant.slug, name=restaurant.name, timezone=restaurant.timezone,
            phone=restaurant.twilio_number, failover_phone=restaurant.failover_number,
            address=restaurant.address, policies=restaurant.policies,
            max_party_size=restaurant.max_party_size, min_notice_minutes=restaurant.min_notice_minutes,
            booking_horizon_days=restaurant.booking_horizon_days,
            hours=[h for plan in days for h in HoursOut.from_plan(plan)],
            special_days=[SpecialDayOut.from_domain(d) for d in special_days],
        )


def channel(value: str) -> Channel:
    return Channel(value)
