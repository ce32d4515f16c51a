"""Configuration editing: restaurant settings, weekly hours, special days, capacity rules, turn times.

One use case per route (``core.restaurant_admin.RestaurantAdmin``). A change that would strand live bookings
is a 409 ``would_strand_bookings`` listing them (``affected``); ``?force=true`` applies it anyway and the
answer still lists them. Who made the change goes to ``event_log``: in AWS the IAM caller's ARN from API
Gateway's request context (never a client header), locally ``LOCAL_ACTOR``.
"""

from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import Field, StringConstraints, model_validator

from frontdesk.api import errors
from frontdesk.api.deps import provider, require_json
from frontdesk.api.errors import HHMM_PATTERN, AffectedReservationOut, OutModel, hhmm
from frontdesk.api.schemas import E164_PATTERN, SLUG_OR_UUID, LocalDate, LocalTime, WireModel
from frontdesk.core.errors import NotFound, RestaurantNotFound

if TYPE_CHECKING:
    from frontdesk.core.model import Reservation
    from frontdesk.core.restaurant_admin import (
        CapacityRule,
        RestaurantAdmin,
        RestaurantSettings,
        SpecialDayEntry,
    )

router = APIRouter(prefix="/api/v1/restaurants", tags=["configuration"], dependencies=[Depends(require_json)])

#: The actor recorded for changes made through a locally run API (``frontdesk serve`` / ``make dev``).
LOCAL_ACTOR = "local-api"
MAX_CAP = 10_000
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def actor_of(request: Request) -> str:
    """Who is calling. Behind API Gateway (mangum puts the event in ``scope["aws.event"]``) the routes require
    IAM, so the request context names the signed-in principal; a header could be forged, so none is read."""
    event = request.scope.get("aws.event")
    if isinstance(event, dict):
        context = event.get("requestContext") or {}
        iam = ((context.get("authorizer") or {}).get("iam") or {}) if isinstance(context, dict) else {}
        arn = iam.get("userArn") or iam.get("callerId") if isinstance(iam, dict) else None
        return f"iam:{arn}"[:200] if arn else "iam:unknown-caller"
    return LOCAL_ACTOR


async def _admin(request: Request) -> RestaurantAdmin:
    return provider(request).restaurant_admin  # type: ignore[attr-defined]


if TYPE_CHECKING:
    Admin = RestaurantAdmin
else:
    Admin = Annotated[Any, Depends(_admin)]
Actor = Annotated[str, Depends(actor_of)]
Force = Annotated[bool, Query(description="Apply a change that strands bookings anyway (they are still listed).")]
RestaurantPath = Annotated[str, Path(description="The restaurant's slug or id.")]
ItemId = Annotated[str, Path(description="The id shown when it was listed or created.")]


def _restaurant(raw: str) -> str:
    if not SLUG_OR_UUID.match(raw):
        raise RestaurantNotFound(f"no restaurant {raw[:64]!r}")
    return raw


def _item_id(raw: str, what: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**62:
        raise NotFound(f"no {what} {raw[:32]!r}")
    return int(raw)


def _given(body: WireModel) -> dict[str, Any]:
    """The fields the client sent, as parsed values (dates and times, not their text)."""
    return {name: getattr(body, name) for name in body.model_fields_set}


def _opt_hhmm(value: time | None) -> str | None:
    return hhmm(value) if value is not None else None


# -- wire models ----------------------------------------------------------------------------------------

Reason = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
Cap = Annotated[int, Field(strict=True, ge=0, le=MAX_CAP)]
Weekday = Annotated[
    int | Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    Field(description="ISO weekday 1 (Monday) to 7, or mon..sun."),
]
HHMM = Annotated[str, Field(pattern=HHMM_PATTERN)]


class SpecialDayIn(WireModel):
    """Closed (`closed: true`), or open with changed hours (`opens`, `closes`; `closes` at or before `opens`
    runs past midnight), for the service dates `starts_on`..`ends_on` (one date when `ends_on` is left out)."""

    starts_on: LocalDate
    ends_on: LocalDate | None = None
    closed: Annotated[bool, Field(strict=True)]
    opens: LocalTime | None = None
    closes: LocalTime | None = None
    reason: Reason = ""


class SpecialDayPatch(WireModel):
    """Only the fields given change. `closed: true` clears the hours; giving hours reopens the day."""

    starts_on: LocalDate | None = None
    ends_on: LocalDate | None = None
    closed: Annotated[bool, Field(strict=True)] | None = None
    opens: LocalTime | None = None
    closes: LocalTime | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give starts_on, ends_on, closed, opens, closes or reason")
        for name in ("starts_on", "ends_on", "closed", "reason"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class SpecialDayOut(OutModel):
    id: int
    starts_on: date
    ends_on: date
    closed: bool
    opens: HHMM | None
    closes: HHMM | None
    reason: str
    created_by: str

    @classmethod
    def from_domain(cls, day: SpecialDayEntry) -> SpecialDayOut:
        return cls(id=day.id, starts_on=day.starts_on, ends_on=day.ends_on, closed=day.closed,
                   opens=_opt_hhmm(day.opens), closes=_opt_hhmm(day.closes), reason=day.reason,
                   created_by=day.created_by)


def _affected(affected: tuple[Reservation, ...], timezone: str) -> list[AffectedReservationOut]:
    return [AffectedReservationOut.from_domain(r, timezone) for r in affected]


class SpecialDayList(OutModel):
    items: list[SpecialDayOut]


class SpecialDayChangeOut(OutModel):
    special_day: SpecialDayOut
    affected: list[AffectedReservationOut] = Field(description="Bookings the change stranded (only when forced).")


class CapacityRuleIn(WireModel):
    """Caps per 15-minute bucket for a date, a weekday or every day (neither), optionally only between
    `local_from` and `local_until`. The most specific matching rule wins."""

    on_date: LocalDate | None = None
    weekday: Weekday | None = None
    local_from: LocalTime | None = None
    local_until: LocalTime | None = None
    max_covers_present: Cap
    max_parties_present: Cap
    max_covers_starting: Cap


class CapacityRulePatch(WireModel):
    on_date: LocalDate | None = None
    weekday: Weekday | None = None
    local_from: LocalTime | None = None
    local_until: LocalTime | None = None
    max_covers_present: Cap | None = None
    max_parties_present: Cap | None = None
    max_covers_starting: Cap | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give a cap, or the rule's on_date, weekday or time window")
        for name in ("max_covers_present", "max_parties_present", "max_covers_starting"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class CapacityRuleOut(OutModel):
    id: int
    on_date: date | None
    weekday: int | None
    local_from: HHMM | None
    local_until: HHMM | None
    max_covers_present: int
    max_parties_present: int
    max_covers_starting: int

    @classmethod
    def from_domain(cls, rule: CapacityRule) -> CapacityRuleOut:
        return cls(id=rule.id or 0, on_date=rule.on_date, weekday=rule.weekday,
                   local_from=_opt_hhmm(rule.local_from), local_until=_opt_hhmm(rule.local_until),
                   max_covers_present=rule.max_covers_present, max_parties_present=rule.max_parties_present,
                   max_covers_starting=rule.max_covers_starting)


class CapacityRuleList(OutModel):
    items: list[CapacityRuleOut]


class CapacityRuleChangeOut(OutModel):
    capacity_rule: CapacityRuleOut
    affected: list[AffectedReservationOut]


class WindowIn(WireModel):
    opens: LocalTime
    closes: LocalTime


class WindowOut(OutModel):
    opens: HHMM
    closes: HHMM


class HoursIn(WireModel):
    """The weekdays given get exactly these windows (an empty list closes that weekday); the others keep
    theirs. `closes` at or before `opens` runs past midnight."""

    mon: list[WindowIn] | None = None
    tue: list[WindowIn] | None = None
    wed: list[WindowIn] | None = None
    thu: list[WindowIn] | None = None
    fri: list[WindowIn] | None = None
    sat: list[WindowIn] | None = None
    sun: list[WindowIn] | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        given = [k for k in WEEKDAY_KEYS if getattr(self, k) is not None]
        if not given:
            raise ValueError("give the windows of at least one weekday, e.g. {\"mon\": [{\"opens\": \"17:00\", "
                             "\"closes\": \"22:00\"}]}")
        return self


class HoursOut(OutModel):
    mon: list[WindowOut]
    tue: list[WindowOut]
    wed: list[WindowOut]
    thu: list[WindowOut]
    fri: list[WindowOut]
    sat: list[WindowOut]
    sun: list[WindowOut]

    @classmethod
    def from_domain(cls, windows: list[Any]) -> HoursOut:
        days: dict[str, list[WindowOut]] = {k: [] for k in WEEKDAY_KEYS}
        for w in windows:
            days[WEEKDAY_KEYS[w.weekday - 1]].append(WindowOut(opens=hhmm(w.opens), closes=hhmm(w.closes)))
        return cls(**days)


class HoursChangeOut(OutModel):
    hours: HoursOut
    affected: list[AffectedReservationOut]


class TurnTimeIn(WireModel):
    min_party: Annotated[int, Field(strict=True, ge=1, le=100)]
    max_party: Annotated[int, Field(strict=True, ge=1, le=100)]
    minutes: Annotated[int, Field(strict=True, ge=15, le=600)]


class TurnTimesIn(WireModel):
    """Every turn time (replaces them all). Party sizes no range covers use the restaurant's default turn.
    Bookings already made keep their length."""

    turn_times: Annotated[list[TurnTimeIn], Field(max_length=100)]


class TurnTimeOut(OutModel):
    min_party: int
    max_party: int
    minutes: int


class TurnTimesOut(OutModel):
    turn_times: list[TurnTimeOut]
    default_turn_minutes: int


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                        pattern=r"^[^\x00-\x1f\x7f]+$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
PhoneOrNull = Annotated[str, StringConstraints(pattern=E164_PATTERN, max_length=16)] | None


class RestaurantSettingsPatch(WireModel):
    """Only the settings given change. The timezone cannot change while bookings lie ahead."""

    slug: Slug | None = None
    name: Name | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")] | None \
        = None
    twilio_number: PhoneOrNull = None
    failover_number: PhoneOrNull = None
    address: Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")] | None = None
    policies: Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$")] | None = None
    max_party_size: Annotated[int, Field(strict=True, ge=1, le=100)] | None = None
    min_notice_minutes: Annotated[int, Field(strict=True, ge=0, le=10080)] | None = None
    booking_horizon_days: Annotated[int, Field(strict=True, ge=1, le=730)] | None = None
    default_turn_minutes: Annotated[int, Field(strict=True, ge=15, le=600)] | None = None
    agent_enabled: Annotated[bool, Field(strict=True)] | None = None
    agent_opens: LocalTime | None = None
    agent_closes: LocalTime | None = None

    @model_validator(mode="after")
    def _something(self) -> Any:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one setting")
        nullable = {"twilio_number", "failover_number", "agent_opens", "agent_closes"}
        for name in self.model_fields_set - nullable:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class RestaurantSettingsOut(OutModel):
    id: UUID
    slug: str
    name: str
    timezone: str
    twilio_number: str | None
    failover_number: str | None
    address: str
    policies: str
    max_party_size: int
    min_notice_minutes: int
    booking_horizon_days: int
    default_turn_minutes: int
    agent_enabled: bool
    agent_opens: HHMM | None
    agent_closes: HHMM | None

    @classmethod
    def from_domain(cls, s: RestaurantSettings) -> RestaurantSettingsOut:
        return cls(id=s.id, slug=s.slug, name=s.name, timezone=s.timezone, twilio_number=s.twilio_number,
                   failover_number=s.failover_number, address=s.address, policies=s.policies,
                   max_party_size=s.max_party_size, min_notice_minutes=s.min_notice_minutes,
                   booking_horizon_days=s.booking_horizon_days, default_turn_minutes=s.default_turn_minutes,
                   agent_enabled=s.agent_enabled, agent_opens=_opt_hhmm(s.agent_opens),
                   agent_closes=_opt_hhmm(s.agent_closes))


CONFLICT = errors.problem_responses(400, 404, 409, 413, 415, 422, 503)
READ = errors.problem_responses(404, 422, 503)


# -- restaurant settings --------------------------------------------------------------------------------

@router.patch("/{slug}", response_model=RestaurantSettingsOut, summary="Change restaurant settings",
              description="409 `timezone_change_blocked` (listing them) when the timezone would change while "
                          "bookings lie ahead.", responses=CONFLICT)
def update_restaurant(slug: RestaurantPath, body: Annotated[RestaurantSettingsPatch, Body()], admin: Admin,
                      actor: Actor) -> RestaurantSettingsOut:
    # {slug} like GET /restaurants/{slug}: one path, and API Gateway wants one name per path segment.
    changes = _given(body)
    return RestaurantSettingsOut.from_domain(admin.update_restaurant(_restaurant(slug), changes, actor=actor))


# -- weekly hours ---------------------------------------------------------------------------------------

@router.get("/{restaurant}/hours", response_model=HoursOut, summary="Weekly opening hours", responses=READ)
def get_hours(restaurant: RestaurantPath, admin: Admin) -> HoursOut:
    return HoursOut.from_domain(admin.weekly_hours(_restaurant(restaurant)))


@router.put("/{restaurant}/hours", response_model=HoursChangeOut, summary="Set the hours of some weekdays",
            description="409 `would_strand_bookings` (listing them) when bookings ahead would fall outside the "
                        "new hours; `?force=true` applies it anyway.", responses=CONFLICT)
def put_hours(restaurant: RestaurantPath, body: Annotated[HoursIn, Body()], admin: Admin, actor: Actor,
              force: Force = False) -> HoursChangeOut:
    from frontdesk.core.restaurant_admin import Window

    hours = {key: [Window(w.opens, w.closes) for w in windows]
             for key in WEEKDAY_KEYS if (windows := getattr(body, key)) is not None}
    key = _restaurant(restaurant)
    change = admin.set_weekly_hours(key, hours, actor=actor, force=force)  # type: ignore[arg-type]
    return HoursChangeOut(hours=HoursOut.from_domain(change.value),
                          affected=_affected(change.affected, admin.settings(key).timezone))


# -- special days ---------------------------------------------------------------------------------------

@router.get("/{restaurant}/special-days", response_model=SpecialDayList,
            summary="Closures and changed hours (upcoming, or all with `include_past=true`)", responses=READ)
def list_special_days(restaurant: RestaurantPath, admin: Admin,
                      include_past: Annotated[bool, Query()] = False) -> SpecialDayList:
    days = admin.special_days(_restaurant(restaurant), include_past=include_past)
    return SpecialDayList(items=[SpecialDayOut.from_domain(d) for d in days])


@router.post("/{restaurant}/special-days", response_model=SpecialDayChangeOut, status_code=201,
             summary="Close dates, or change their hours",
             description="409 `would_strand_bookings` (listing them) when bookings on those dates fall outside "
                         "the new hours; `?force=true` applies it anyway.", responses=CONFLICT)
def add_special_day(restaurant: RestaurantPath, body: Annotated[SpecialDayIn, Body()], admin: Admin, actor: Actor,
                    response: Response, force: Force = False) -> SpecialDayChangeOut:
    key = _restaurant(restaurant)
    change = admin.add_special_day(key, starts_on=body.starts_on, ends_on=body.ends_on,  # type: ignore[arg-type]
                                   closed=body.closed, opens=body.opens, closes=body.closes,  # type: ignore[arg-type]
                                   reason=body.reason, actor=actor, force=force)
    response.headers["Location"] = f"/api/v1/restaurants/{restaurant}/special-days/{change.value.id}"
    return SpecialDayChangeOut(special_day=SpecialDayOut.from_domain(change.value),
                               affected=_affected(change.affected, admin.settings(key).timezone))


@router.patch("/{restaurant}/special-days/{special_day_id}", response_model=SpecialDayChangeOut,
              summary="Change a special day", responses=CONFLICT)
def change_special_day(restaurant: RestaurantPath, special_day_id: ItemId,
                       body: Annotated[SpecialDayPatch, Body()], admin: Admin, actor: Actor,
                       force: Force = False) -> SpecialDayChangeOut:
    key = _restaurant(restaurant)
    change = admin.change_special_day(key, _item_id(special_day_id, "special day"),
                                      _given(body), actor=actor, force=force)
    return SpecialDayChangeOut(special_day=SpecialDayOut.from_domain(change.value),
                               affected=_affected(change.affected, admin.settings(key).timezone))


@router.delete("/{restaurant}/special-days/{special_day_id}", response_model=SpecialDayChangeOut,
               summary="Remove a special day (its dates go back to the weekly hours)", responses=CONFLICT)
def remove_special_day(restaurant: RestaurantPath, special_day_id: ItemId, admin: Admin, actor: Actor,
                       force: Force = False) -> SpecialDayChangeOut:
    key = _restaurant(restaurant)
    change = admin.remove_special_day(key, _item_id(special_day_id, "special day"), actor=actor, force=force)
    return SpecialDayChangeOut(special_day=SpecialDayOut.from_domain(change.value),
                               affected=_affected(change.affected, admin.settings(key).timezone))


# -- capacity rules -------------------------------------------------------------------------------------

@router.get("/{restaurant}/capacity-rules", response_model=CapacityRuleList, summary="Capacity rules",
            responses=READ)
def list_capacity_rules(restaurant: RestaurantPath, admin: Admin) -> CapacityRuleList:
    return CapacityRuleList(items=[CapacityRuleOut.from_domain(r)
                                   for r in admin.capacity_rules(_restaurant(restaurant))])


def _rule(body: CapacityRuleIn) -> CapacityRule:
    from frontdesk.core.restaurant_admin import CapacityRule

    return CapacityRule(None, body.on_date, body.weekday, body.local_from, body.local_until,  # type: ignore[arg-type]
                        body.max_covers_present, body.max_parties_present, body.max_covers_starting)


@router.post("/{restaurant}/capacity-rules", response_model=CapacityRuleChangeOut, status_code=201,
             summary="Add a capacity rule",
             description="409 `would_strand_bookings` (listing them) when a bucket ahead already holds more than "
                         "the new caps allow; `?force=true` applies it anyway.", responses=CONFLICT)
def add_capacity_rule(restaurant: RestaurantPath, body: Annotated[CapacityRuleIn, Body()], admin: Admin,
                      actor: Actor, response: Response, force: Force = False) -> CapacityRuleChangeOut:
    key = _restaurant(restaurant)
    change = admin.add_capacity_rule(key, _rule(body), actor=actor, force=force)
    response.headers["Location"] = f"/api/v1/restaurants/{restaurant}/capacity-rules/{change.value.id}"
    return CapacityRuleChangeOut(capacity_rule=CapacityRuleOut.from_domain(change.value),
                                 affected=_affected(change.affected, admin.settings(key).timezone))


@router.patch("/{restaurant}/capacity-rules/{rule_id}", response_model=CapacityRuleChangeOut,
              summary="Change a capacity rule", responses=CONFLICT)
def change_capacity_rule(restaurant: RestaurantPath, rule_id: ItemId, body: Annotated[CapacityRulePatch, Body()],
                         admin: Admin, actor: Actor, force: Force = False) -> CapacityRuleChangeOut:
    key = _restaurant(restaurant)
    change = admin.change_capacity_rule(key, _item_id(rule_id, "capacity rule"),
                                        _given(body), actor=actor, force=force)
    return CapacityRuleChangeOut(capacity_rule=CapacityRuleOut.from_domain(change.value),
                                 affected=_affected(change.affected, admin.settings(key).timezone))


@router.delete("/{restaurant}/capacity-rules/{rule_id}", response_model=CapacityRuleChangeOut,
               summary="Remove a capacity rule (its buckets fall to the next most specific rule, or none)",
               responses=CONFLICT)
def remove_capacity_rule(restaurant: RestaurantPath, rule_id: ItemId, admin: Admin, actor: Actor,
                         force: Force = False) -> CapacityRuleChangeOut:
    key = _restaurant(restaurant)
    change = admin.remove_capacity_rule(key, _item_id(rule_id, "capacity rule"), actor=actor, force=force)
    return CapacityRuleChangeOut(capacity_rule=CapacityRuleOut.from_domain(change.value),
                                 affected=_affected(change.affected, admin.settings(key).timezone))


# -- turn times -----------------------------------------------------------------------------------------

@router.get("/{restaurant}/turn-times", response_model=TurnTimesOut, summary="Turn times by party size",
            responses=READ)
def get_turn_times(restaurant: RestaurantPath, admin: Admin) -> TurnTimesOut:
    key = _restaurant(restaurant)
    return TurnTimesOut(turn_times=[TurnTimeOut(min_party=t.min_party, max_party=t.max_party, minutes=t.minutes)
                                    for t in admin.turn_times(key)],
                        default_turn_minutes=admin.settings(key).default_turn_minutes)


@router.put("/{restaurant}/turn-times", response_model=TurnTimesOut, summary="Replace the turn times",
            responses=errors.problem_responses(400, 404, 413, 415, 422, 503))
def put_turn_times(restaurant: RestaurantPath, body: Annotated[TurnTimesIn, Body()], admin: Admin,
                   actor: Actor) -> TurnTimesOut:
    from frontdesk.core.restaurant_admin import TurnTime

    key = _restaurant(restaurant)
    rows = admin.set_turn_times(key, [TurnTime(t.min_party, t.max_party, t.minutes) for t in body.turn_times],
                                actor=actor)
    return TurnTimesOut(turn_times=[TurnTimeOut(min_party=t.min_party, max_party=t.max_party, minutes=t.minutes)
                                    for t in rows],
                        default_turn_minutes=admin.settings(key).default_turn_minutes)
