"""Editing a restaurant's configuration: settings, weekly hours, special days, capacity rules, turn times.

Validation happens here, with messages that say what to fix (InvalidRequest); the store applies each change
in one locked transaction that refuses to strand live bookings unless forced (WouldStrandBookings, listing
them) and logs who made it. Standard library only, like the rest of the core.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from frontdesk.core.errors import InvalidRequest, WouldStrandBookings
from frontdesk.core.model import Caps, Reservation
from frontdesk.core.timeutil import to_local, zone

T = TypeVar("T")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MIN_YEAR, MAX_YEAR = 2000, 2199
MAX_CAP = 10_000
MAX_WINDOWS_PER_DAY = 6
MAX_SPECIAL_DAY_SPAN = 366
MAX_REASON = 200
MAX_ACTOR = 200


# -- models ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestaurantSettings:
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
    agent_opens: time | None = None
    agent_closes: time | None = None


@dataclass(frozen=True)
class Window:
    """Local opening hours; ``closes`` at or before ``opens`` runs past midnight."""

    opens: time
    closes: time


@dataclass(frozen=True)
class WeeklyWindow:
    weekday: int  # ISO: 1 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class SpecialDayEntry:
    id: int
    starts_on: date
    ends_on: date
    closed: bool
    opens: time | None
    closes: time | None
    reason: str
    created_by: str = ""


@dataclass(frozen=True)
class CapacityRule:
    """Caps per 15-minute bucket. Scope: a date, or a weekday, or neither (the default), optionally a local
    time window; the most specific matching rule wins."""

    id: int | None
    on_date: date | None
    weekday: int | None
    local_from: time | None
    local_until: time | None
    max_covers_present: int
    max_parties_present: int
    max_covers_starting: int

    @property
    def caps(self) -> Caps:
        return Caps(self.max_covers_present, self.max_parties_present, self.max_covers_starting)


@dataclass(frozen=True)
class TurnTime:
    min_party: int
    max_party: int
    minutes: int


@dataclass(frozen=True)
class Change(Generic[T]):
    """What a change made, and the live bookings it stranded (only ever non-empty when forced)."""

    value: T
    affected: tuple[Reservation, ...] = field(default=())


@dataclass(frozen=True)
class NewRestaurant:
    restaurant: RestaurantSettings
    capacity_rule: CapacityRule | None


# -- the store ------------------------------------------------------------------------------------------

class RestaurantAdminStore(Protocol):
    """PostgreSQL. Every write locks the restaurant's configuration and re-checks stranding itself."""

    def settings(self, key: str | UUID) -> RestaurantSettings: ...

    def list_restaurants(self) -> list[RestaurantSettings]: ...

    def create_restaurant(self, settings: Mapping[str, Any], capacity: Caps | None, *, actor: str) -> NewRestaurant: ...

    def update_restaurant(self, restaurant_id: UUID, changes: Mapping[str, Any], *, actor: str) \
        -> RestaurantSettings: ...

    def weekly_hours(self, restaurant_id: UUID) -> list[WeeklyWindow]: ...

    def set_weekly_hours(self, restaurant_id: UUID, hours: Mapping[int, Sequence[Window]], *, actor: str,
                         force: bool) -> Change[list[WeeklyWindow]]: ...

    def special_days(self, restaurant_id: UUID, since: date | None) -> list[SpecialDayEntry]: ...

    def special_day(self, restaurant_id: UUID, special_day_id: int) -> SpecialDayEntry: ...

    def add_special_day(self, restaurant_id: UUID, day: SpecialDayEntry, *, actor: str, force: bool) \
        -> Change[SpecialDayEntry]: ...

    def update_special_day(self, restaurant_id: UUID, day: SpecialDayEntry, *, actor: str, force: bool) \
        -> Change[SpecialDayEntry]: ...

    def remove_special_day(self, restaurant_id: UUID, special_day_id: int, *, actor: str, force: bool) \
        -> Change[SpecialDayEntry]: ...

    def capacity_rules(self, restaurant_id: UUID) -> list[CapacityRule]: ...

    def capacity_rule(self, restaurant_id: UUID, rule_id: int) -> CapacityRule: ...

    def add_capacity_rule(self, restaurant_id: UUID, rule: CapacityRule, *, actor: str, force: bool) \
        -> Change[CapacityRule]: ...

    def update_capacity_rule(self, restaurant_id: UUID, rule: CapacityRule, *, actor: str, force: bool) \
        -> Change[CapacityRule]: ...

    def remove_capacity_rule(self, restaurant_id: UUID, rule_id: int, *, actor: str, force: bool) \
        -> Change[CapacityRule]: ...

    def turn_times(self, restaurant_id: UUID) -> list[TurnTime]: ...

    def set_turn_times(self, restaurant_id: UUID, turn_times: Sequence[TurnTime], *, actor: str) \
        -> list[TurnTime]: ...


class _Clock(Protocol):
    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# -- validation -----------------------------------------------------------------------------------------

def weekday_number(value: str | int) -> int:
    """ISO weekday from 1..7 or mon..sun (any case, or the full English name)."""
    if isinstance(value, bool):
        raise InvalidRequest("a weekday is mon, tue, wed, thu, fri, sat or sun (or 1 to 7)")
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and 1 <= int(text) <= 7:
            return int(text)
        if len(text) >= 3 and text[:3] in WEEKDAYS and _full_name(text[:3]).startswith(text):
            return WEEKDAYS.index(text[:3]) + 1
    raise InvalidRequest(f"{value!r} is not a weekday: use mon, tue, wed, thu, fri, sat or sun (or 1 to 7)")


def _full_name(short: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
            "sat": "saturday", "sun": "sunday"}[short]


def weekday_name(number: int) -> str:
    return WEEKDAYS[number - 1]


def parse_window(text: str) -> Window:
    """``17:00-22:00`` (``closes`` at or before ``opens`` runs past midnight, e.g. ``18:00-01:00``)."""
    parts = text.strip().split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise InvalidRequest(f"{text!r} is not a window: write opens-closes, like 17:00-22:00")
    return Window(parse_time(parts[0]), parse_time(parts[1]))


def parse_time(text: str) -> time:
    value = text.strip() if isinstance(text, str) else ""
    if not re.fullmatch(r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9]", value):
        raise InvalidRequest(f"{text!r} is not a time: use 24-hour HH:MM, like 17:30")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _check_window(window: Window, what: str) -> None:
    if window.opens == window.closes:
        raise InvalidRequest(f"{what} opens and closes at the same time; give a window like 17:00-22:00")
    for value in (window.opens, window.closes):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise InvalidRequest(f"{what}: times are whole minutes without an offset, like 17:30")


def _check_date(value: date, what: str) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidRequest(f"{what} must be a date, YYYY-MM-DD")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidRequest(f"{what} must be between the years {MIN_YEAR} and {MAX_YEAR}")


def _check_int(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequest(f"{what} must be a whole number from {low} to {high}")
    return value


def _check_text(value: object, what: str, max_length: int, *, required: bool = False) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidRequest(f"{what} must be text")
    text = value.strip()
    if required and not text:
        raise InvalidRequest(f"{what} must not be empty")
    if len(text) > max_length:
        raise InvalidRequest(f"{what} must be at most {max_length} characters")
    return text


def _check_actor(actor: str) -> str:
    return _check_text(actor, "the actor (who makes the change)", MAX_ACTOR, required=True)


def _check_phone(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not E164.match(value):
        raise InvalidRequest(f"{what} must be an E.164 phone number, like +12125550123 (got {value!r})")
    return value


SETTING_NAMES = frozenset({
    "slug", "name", "timezone", "twilio_number", "failover_number", "address", "policies", "max_party_size",
    "min_notice_minutes", "booking_horizon_days", "default_turn_minutes", "agent_enabled", "agent_opens",
    "agent_closes",
})


def validate_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The settings to write, normalised; every problem named with what to do instead."""
    unknown = sorted(set(changes) - SETTING_NAMES)
    if unknown:
        raise InvalidRequest(f"unknown setting(s) {', '.join(unknown)}; "
                             f"settings are {', '.join(sorted(SETTING_NAMES))}")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "slug":
            if not isinstance(value, str) or not SLUG.match(value):
                raise InvalidRequest("the slug must be 2 to 63 lowercase letters, digits and dashes, starting with a "
                                     f"letter or digit, like 'chez-ana' (got {value!r})")
            out[name] = value
        elif name == "name":
            out[name] = _check_text(value, "the name", 200, required=True)
        elif name == "timezone":
            if not isinstance(value, str) or ("/" not in value and value != "UTC"):
                raise InvalidRequest(f"the timezone must be an IANA name like America/New_York (got {value!r})")
            zone(value)  # InvalidRequest when unknown
            out[name] = value
        elif name in ("twilio_number", "failover_number"):
            label = "the Twilio number" if name == "twilio_number" else "the failover number"
            out[name] = _check_phone(value, label)
        elif name == "address":
            out[name] = _check_text(value, "the address", 500)
        elif name == "policies":
            out[name] = _check_text(value, "the policies", 4000)
        elif name == "max_party_size":
            out[name] = _check_int(value, "the largest party", 1, 100)
        elif name == "min_notice_minutes":
            out[name] = _check_int(value, "the notice (minutes)", 0, 10080)
        elif name == "booking_horizon_days":
            out[name] = _check_int(value, "the booking horizon (days)", 1, 730)
        elif name == "default_turn_minutes":
            out[name] = _check_int(value, "the default turn (minutes)", 15, 600)
        elif name == "agent_enabled":
            if not isinstance(value, bool):
                raise InvalidRequest("agent_enabled must be true or false")
            out[name] = value
        elif name in ("agent_opens", "agent_closes"):
            if value is not None and not isinstance(value, time):
                raise InvalidRequest(f"{name} must be a local time HH:MM, or empty for always")
            out[name] = value.strftime("%H:%M") if isinstance(value, time) else None
    if ("agent_opens" in out) != ("agent_closes" in out):
        raise InvalidRequest("give agent_opens and agent_closes together (both empty: the agent answers always)")
    if "agent_opens" in out and (out["agent_opens"] is None) != (out["agent_closes"] is None):
        raise InvalidRequest("agent_opens and agent_closes are both times, or both empty")
    if out.get("agent_opens") is not None and out["agent_opens"] == out["agent_closes"]:
        raise InvalidRequest("the agent's hours open and close at the same time")
    return out


def validate_caps(covers_present: object, parties_present: object, covers_starting: object) -> Caps:
    return Caps(
        _check_int(covers_present, "max covers present", 0, MAX_CAP),
        _check_int(parties_present, "max parties present", 0, MAX_CAP),
        _check_int(covers_starting, "max covers starting", 0, MAX_CAP),
    )


def validate_turn_times(turn_times: Sequence[TurnTime]) -> list[TurnTime]:
    rows = sorted(turn_times, key=lambda t: (t.min_party, t.max_party))
    for t in rows:
        _check_int(t.min_party, "the smallest party of a turn time", 1, 100)
        _check_int(t.max_party, "the largest party of a turn time", 1, 100)
        _check_int(t.minutes, "a turn time (minutes)", 15, 600)
        if t.max_party < t.min_party:
            raise InvalidRequest(f"turn time {t.min_party}-{t.max_party}: the range runs backwards; write it "
                                 f"as {t.max_party}-{t.min_party}")
    for a, b in itertools.pairwise(rows):
        if b.min_party <= a.max_party:
            raise InvalidRequest(f"turn times {a.min_party}-{a.max_party} and {b.min_party}-{b.max_party} overlap; "
                                 "each party size may have one turn time")
    return rows


# -- the use cases --------------------------------------------------------------------------------------

class RestaurantAdmin:
    def __init__(self, store: RestaurantAdminStore, clock: _Clock | None = None) -> None:
        self.store = store
        self.clock = clock or _SystemClock()

    # restaurants

    def list_restaurants(self) -> list[RestaurantSettings]:
        return self.store.list_restaurants()

    def settings(self, key: str | UUID) -> RestaurantSettings:
        return self.store.settings(key)

    def create_restaurant(self, settings: Mapping[str, Any], capacity: Caps | None, *, actor: str) -> NewRestaurant:
        """A new restaurant. Without ``capacity`` it can take no booking until a capacity rule exists, and
        without hours until they are set."""
        clean = validate_settings(settings)
        missing = [n for n in ("slug", "name", "timezone") if n not in clean]
        if missing:
            raise InvalidRequest(f"a new restaurant needs {', '.join(missing)}")
        if capacity is not None:
            capacity = validate_caps(capacity.max_covers_present, capacity.max_parties_present,
                                     capacity.max_covers_starting)
        return self.store.create_restaurant(clean, capacity, actor=_check_actor(actor))

    def update_restaurant(self, key: str | UUID, changes: Mapping[str, Any], *, actor: str) -> RestaurantSettings:
        clean = validate_settings(changes)
        if not clean:
            raise InvalidRequest("nothing to change: give at least one setting")
        current = self.store.settings(key)
        return self._strand_guard(current, lambda: self.store.update_restaurant(current.id, clean,
                                                                                actor=_check_actor(actor)))

    # weekly hours

    def weekly_hours(self, key: str | UUID) -> list[WeeklyWindow]:
        return self.store.weekly_hours(self.store.settings(key).id)

    def set_weekly_hours(self, key: str | UUID, hours: Mapping[int | str, Sequence[Window]], *, actor: str,
                         force: bool = False) -> Change[list[WeeklyWindow]]:
        """Replace the windows of the weekdays given (an empty list closes that weekday)."""
        if not hours:
            raise InvalidRequest("give the windows of at least one weekday")
        clean: dict[int, list[Window]] = {}
        for day, windows in hours.items():
            number = weekday_number(day)
            if number in clean:
                raise InvalidRequest(f"{weekday_name(number)} is given twice")
            if len(windows) > MAX_WINDOWS_PER_DAY:
                raise InvalidRequest(f"at most {MAX_WINDOWS_PER_DAY} windows a day")
            for window in windows:
                _check_window(window, f"{weekday_name(number)} {_hhmm(window.opens)}-{_hhmm(window.closes)}")
            clean[number] = sorted(windows, key=lambda w: w.opens)
        current = self.store.settings(key)
        return self._strand_guard(current, lambda: self.store.set_weekly_hours(
            current.id, clean, actor=_check_actor(actor), force=force))

    # special days

    def special_days(self, key: str | UUID, *, include_past: bool = False) -> list[SpecialDayEntry]:
        current = self.store.settings(key)
        since = None if include_past else self._today(current)
        return self.store.special_days(current.id, since)

    def add_special_day(self, key: str | UUID, *, starts_on: date, ends_on: date | None = None, closed: bool,
                        opens: time | None = None, closes: time | None = None, reason: str = "", actor: str,
                        force: bool = False) -> Change[SpecialDayEntry]:
        current = self.store.settings(key)
        day = self._special_day(current, SpecialDayEntry(0, starts_on, ends_on or starts_on, closed, opens, closes,
                                                         reason or ""), new=True)
        return self._strand_guard(current, lambda: self.store.add_special_day(
            current.id, day, actor=_check_actor(actor), force=force))

    def change_special_day(self, key: str | UUID, special_day_id: int, changes: Mapping[str, Any], *, actor: str,
                           force: bool = False) -> Change[SpecialDayEntry]:
        """Change some fields of a special day. ``closed=True`` clears the hours; giving hours reopens it."""
        allowed = {"starts_on", "ends_on", "closed", "opens", "closes", "reason"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; "
                                 f"a special day has {', '.join(sorted(allowed))}")
        if not changes:
            raise InvalidRequest("nothing to change: give starts_on, ends_on, closed, opens, closes or reason")
        current = self.store.settings(key)
        old = self.store.special_day(current.id, _check_int(special_day_id, "the special day id", 1, 2**62))
        merged = replace(old, **dict(changes))
        if changes.get("closed") is True:
            merged = replace(merged, opens=None, closes=None)
        elif "closed" not in changes and ("opens" in changes or "closes" in changes):
            merged = replace(merged, closed=False)
        if "starts_on" in changes and "ends_on" not in changes and merged.ends_on < merged.starts_on:
            merged = replace(merged, ends_on=merged.starts_on)
        day = self._special_day(current, merged, new=False)
        return self._strand_guard(current, lambda: self.store.update_special_day(
            current.id, day, actor=_check_actor(actor), force=force))

    def remove_special_day(self, key: str | UUID, special_day_id: int, *, actor: str,
                           force: bool = False) -> Change[SpecialDayEntry]:
        current = self.store.settings(key)
        return self._strand_guard(current, lambda: self.store.remove_special_day(
            current.id, _check_int(special_day_id, "the special day id", 1, 2**62), actor=_check_actor(actor),
            force=force))

    def _special_day(self, restaurant: RestaurantSettings, day: SpecialDayEntry, *, new: bool) -> SpecialDayEntry:
        _check_date(day.starts_on, "starts_on")
        _check_date(day.ends_on, "ends_on")
        if day.ends_on < day.starts_on:
            raise InvalidRequest(f"the special day ends ({day.ends_on}) before it starts ({day.starts_on})")
        if (day.ends_on - day.starts_on).days >= MAX_SPECIAL_DAY_SPAN:
            raise InvalidRequest(f"a special day spans at most {MAX_SPECIAL_DAY_SPAN} dates; add several instead")
        if not isinstance(day.closed, bool):
            raise InvalidRequest("closed must be true or false")
        if day.closed and (day.opens is not None or day.closes is not None):
            raise InvalidRequest("a closed day has no hours: give either closed, or opens and closes")
        if not day.closed:
            if day.opens is None or day.closes is None:
                raise InvalidRequest("changed hours need both opens and closes (or mark the day closed)")
            _check_window(Window(day.opens, day.closes), "the special day")
        reason = _check_text(day.reason, "the reason", MAX_REASON)
        if new and day.ends_on < self._today(restaurant):
            raise InvalidRequest(f"{day.starts_on} to {day.ends_on} is already past at the restaurant")
        return replace(day, reason=reason)

    # capacity rules

    def capacity_rules(self, key: str | UUID) -> list[CapacityRule]:
        return self.store.capacity_rules(self.store.settings(key).id)

    def add_capacity_rule(self, key: str | UUID, rule: CapacityRule, *, actor: str,
                          force: bool = False) -> Change[CapacityRule]:
        current = self.store.settings(key)
        clean = self._capacity_rule(rule)
        return self._strand_guard(current, lambda: self.store.add_capacity_rule(
            current.id, clean, actor=_check_actor(actor), force=force))

    def change_capacity_rule(self, key: str | UUID, rule_id: int, changes: Mapping[str, Any], *, actor: str,
                             force: bool = False) -> Change[CapacityRule]:
        allowed = {"on_date", "weekday", "local_from", "local_until", "max_covers_present", "max_parties_present",
                   "max_covers_starting"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise InvalidRequest(f"unknown field(s) {', '.join(unknown)}; a capacity rule has "
                                 f"{', '.join(sorted(allowed))}")
        if not changes:
            raise InvalidRequest("nothing to change: give a cap or the rule's date, weekday or time window")
        current = self.store.settings(key)
        old = self.store.capacity_rule(current.id, _check_int(rule_id, "the capacity rule id", 1, 2**62))
        merged = replace(old, **dict(changes))
        if changes.get("on_date") is not None and "weekday" not in changes:
            merged = replace(merged, weekday=None)
        if changes.get("weekday") is not None and "on_date" not in changes:
            merged = replace(merged, on_date=None)
        clean = self._capacity_rule(merged)
        return self._strand_guard(current, lambda: self.store.update_capacity_rule(
            current.id, clean, actor=_check_actor(actor), force=force))

    def remove_capacity_rule(self, key: str | UUID, rule_id: int, *, actor: str,
                             force: bool = False) -> Change[CapacityRule]:
        current = self.store.settings(key)
        return self._strand_guard(current, lambda: self.store.remove_capacity_rule(
            current.id, _check_int(rule_id, "the capacity rule id", 1, 2**62), actor=_check_actor(actor),
            force=force))

    @staticmethod
    def _capacity_rule(rule: CapacityRule) -> CapacityRule:
        if rule.on_date is not None and rule.weekday is not None:
            raise InvalidRequest("a capacity rule is for a date or for a weekday, not both")
        if rule.on_date is not None:
            _check_date(rule.on_date, "the rule's date")
        weekday = weekday_number(rule.weekday) if rule.weekday is not None else None
        if (rule.local_from is None) != (rule.local_until is None):
            raise InvalidRequest("give the rule's time window as both from and until (or neither for all day)")
        if rule.local_from is not None and rule.local_until is not None:
            _check_window(Window(rule.local_from, rule.local_until), "the rule's time window")
        caps = validate_caps(rule.max_covers_present, rule.max_parties_present, rule.max_covers_starting)
        return replace(rule, weekday=weekday, max_covers_present=caps.max_covers_present,
                       max_parties_present=caps.max_parties_present, max_covers_starting=caps.max_covers_starting)

    # turn times

    def turn_times(self, key: str | UUID) -> list[TurnTime]:
        return self.store.turn_times(self.store.settings(key).id)

    def set_turn_times(self, key: str | UUID, turn_times: Sequence[TurnTime], *, actor: str) -> list[TurnTime]:
        """Replace the turn times. Bookings already made keep the length they were booked with."""
        rows = validate_turn_times(turn_times)
        current = self.store.settings(key)
        return self.store.set_turn_times(current.id, rows, actor=_check_actor(actor))

    # helpers

    def _today(self, restaurant: RestaurantSettings) -> date:
        return to_local(self.clock.now(), restaurant.timezone).date()

    @staticmethod
    def _strand_guard(restaurant: RestaurantSettings, work: Any) -> Any:
        """Run a store write; a refusal carries the restaurant's timezone so its bookings read in local time."""
        try:
            return work()
        except WouldStrandBookings as exc:
            if exc.timezone is None:
                exc.timezone = restaurant.timezone
            raise


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M") if isinstance(value, time) else str(value)


def describe_rule_scope(rule: CapacityRule) -> str:
    """``every day``, ``Fridays``, ``2026-12-24``, each with `` 18:00-20:00`` when it has a window."""
    scope = (rule.on_date.isoformat() if rule.on_date else
             f"{_full_name(weekday_name(rule.weekday)).title()}s" if rule.weekday else "every day")
    if rule.local_from is not None and rule.local_until is not None:
        scope += f" {_hhmm(rule.local_from)}-{_hhmm(rule.local_until)}"
    return scope


__all__ = [
    "WEEKDAYS", "CapacityRule", "Change", "NewRestaurant", "RestaurantAdmin", "RestaurantAdminStore",
    "RestaurantSettings", "SpecialDayEntry", "TurnTime", "WeeklyWindow", "Window", "describe_rule_scope",
    "parse_time", "parse_window", "validate_caps", "validate_settings", "validate_turn_times",
    "weekday_name", "weekday_number",
]
