"""PostgreSQL side of ``core.restaurant_admin``: reads are plain SELECTs, every write one call of a
SECURITY DEFINER function from sql/migrations/0007 (one autocommit statement, so a refusal leaves nothing
behind). Connections through ``adapters.pg.Database``; errors through ``adapters.postgres.domain_error``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from frontdesk.adapters.pg import Conninfo, Database
from frontdesk.adapters.postgres import _reservation, domain_error
from frontdesk.core.errors import NotFound, RestaurantNotFound
from frontdesk.core.model import Caps, Reservation
from frontdesk.core.restaurant_admin import (
    CapacityRule,
    Change,
    NewRestaurant,
    RestaurantSettings,
    SpecialDayEntry,
    TurnTime,
    WeeklyWindow,
    Window,
)

_SETTINGS_COLUMNS = (
    "id, slug, name, timezone, twilio_number, failover_number, address, policies, max_party_size, "
    "min_notice_minutes, booking_horizon_days, default_turn_minutes, agent_enabled, agent_opens, agent_closes"
)
_SPECIAL_DAY_COLUMNS = "id, starts_on, ends_on, closed, opens, closes, reason, created_by"
_RULE_COLUMNS = ("id, on_date, weekday, local_from, local_until, max_covers_present, max_parties_present, "
                 "max_covers_starting")


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _settings_from_json(doc: Mapping[str, Any]) -> RestaurantSettings:
    return RestaurantSettings(
        id=UUID(doc["id"]), slug=doc["slug"], name=doc["name"], timezone=doc["timezone"],
        twilio_number=doc["twilio_number"], failover_number=doc["failover_number"], address=doc["address"],
        policies=doc["policies"], max_party_size=doc["max_party_size"],
        min_notice_minutes=doc["min_notice_minutes"], booking_horizon_days=doc["booking_horizon_days"],
        default_turn_minutes=doc["default_turn_minutes"], agent_enabled=doc["agent_enabled"],
        agent_opens=_time(doc["agent_opens"]), agent_closes=_time(doc["agent_closes"]))


def _special_day_from_json(doc: Mapping[str, Any]) -> SpecialDayEntry:
    return SpecialDayEntry(
        id=int(doc["id"]), starts_on=date.fromisoformat(doc["starts_on"]), ends_on=date.fromisoformat(doc["ends_on"]),
        closed=bool(doc["closed"]), opens=_time(doc["opens"]), closes=_time(doc["closes"]), reason=doc["reason"],
        created_by=doc.get("created_by") or "")


def _rule_from_json(doc: Mapping[str, Any]) -> CapacityRule:
    return CapacityRule(
        id=int(doc["id"]), on_date=_date(doc["on_date"]), weekday=doc["weekday"],
        local_from=_time(doc["local_from"]), local_until=_time(doc["local_until"]),
        max_covers_present=doc["max_covers_present"], max_parties_present=doc["max_parties_present"],
        max_covers_starting=doc["max_covers_starting"])


def _affected(doc: Mapping[str, Any]) -> tuple[Reservation, ...]:
    return tuple(_reservation(r) for r in doc.get("affected") or ())


def _hours_from_json(rows: Sequence[Mapping[str, Any]]) -> list[WeeklyWindow]:
    return [WeeklyWindow(int(r["weekday"]), time.fromisoformat(r["opens"]), time.fromisoformat(r["closes"]))
            for r in rows]


class PostgresRestaurantAdminStore:
    """RestaurantAdminStore on PostgreSQL, as app_user."""

    def __init__(self, conninfo: Conninfo | Database, *, max_size: int = 4) -> None:
        self._db = conninfo if isinstance(conninfo, Database) else Database(
            conninfo, on_error=domain_error, max_size=max_size, name="frontdesk-admin")

    def close(self) -> None:
        self._db.close()

    def _all(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        return self._db.run(lambda conn: conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall())

    def _call(self, sql: str, params: Any) -> Any:
        """One write. Not retried on a lost connection: the caller cannot know whether it committed."""

        def work(conn: psycopg.Connection[Any]) -> Any:
            row = conn.cursor(row_factory=tuple_row).execute(sql, params).fetchone()
            return row[0] if row else None

        return self._db.run(work, retry=False)

    # -- restaurants -------------------------------------------------------------------------------------

    def settings(self, key: str | UUID) -> RestaurantSettings:
        try:
            by_id: UUID | None = key if isinstance(key, UUID) else UUID(str(key))
        except ValueError:
            by_id = None
        column = "id" if by_id is not None else "slug"
        rows = self._all(f"SELECT {_SETTINGS_COLUMNS} FROM restaurants WHERE {column} = %s",
                         [by_id if by_id is not None else str(key)])
        if not rows:
            raise RestaurantNotFound(f"no restaurant {str(key)[:64]!r}")
        return RestaurantSettings(*rows[0])

    def list_restaurants(self) -> list[RestaurantSettings]:
        return [RestaurantSettings(*row) for row in
                self._all(f"SELECT {_SETTINGS_COLUMNS} FROM restaurants ORDER BY slug", [])]

    def create_restaurant(self, settings: Mapping[str, Any], capacity: Caps | None, *, actor: str) -> NewRestaurant:
        caps = None if capacity is None else json.dumps({
            "max_covers_present": capacity.max_covers_present, "max_parties_present": capacity.max_parties_present,
            "max_covers_starting": capacity.max_covers_starting})
        doc = self._call("SELECT create_restaurant_v1(%s::jsonb, %s::jsonb, %s)",
                         [json.dumps(dict(settings)), caps, actor])
        rule = doc.get("capacity_rule")
        return NewRestaurant(_settings_from_json(doc["restaurant"]), _rule_from_json(rule) if rule else None)

    def update_restaurant(self, restaurant_id: UUID, changes: Mapping[str, Any], *, actor: str) \
            -> RestaurantSettings:
        doc = self._call("SELECT update_restaurant_v1(%s, %s::jsonb, %s)",
                         [restaurant_id, json.dumps(dict(changes)), actor])
        return _settings_from_json(doc["restaurant"])

    # -- weekly hours ------------------------------------------------------------------------------------

    def weekly_hours(self, restaurant_id: UUID) -> list[WeeklyWindow]:
        return [WeeklyWindow(*row) for row in self._all(
            "SELECT weekday, opens, closes FROM operating_hours WHERE restaurant_id = %s ORDER BY weekday, opens",
            [restaurant_id])]

    def set_weekly_hours(self, restaurant_id: UUID, hours: Mapping[int, Sequence[Window]], *, actor: str,
                         force: bool) -> Change[list[WeeklyWindow]]:
        payload = {str(day): [[w.opens.strftime("%H:%M"), w.closes.strftime("%H:%M")] for w in windows]
                   for day, windows in hours.items()}
        doc = self._call("SELECT set_weekly_hours_v1(%s, %s::jsonb, %s, %s)",
                         [restaurant_id, json.dumps(payload), actor, force])
        return Change(_hours_from_json(doc["hours"]), _affected(doc))

    # -- special days ------------------------------------------------------------------------------------

    def special_days(self, restaurant_id: UUID, since: date | None) -> list[SpecialDayEntry]:
        return [SpecialDayEntry(*row) for row in self._all(
            f"SELECT {_SPECIAL_DAY_COLUMNS} FROM special_days"
            " WHERE restaurant_id = %s AND (%s::date IS NULL OR ends_on >= %s::date) ORDER BY starts_on",
            [restaurant_id, since, since])]

    def special_day(self, restaurant_id: UUID, special_day_id: int) -> SpecialDayEntry:
        rows = self._all(f"SELECT {_SPECIAL_DAY_COLUMNS} FROM special_days WHERE restaurant_id = %s AND id = %s",
                         [restaurant_id, special_day_id])
        if not rows:
            raise NotFound(f"no special day {special_day_id} at this restaurant")
        return SpecialDayEntry(*rows[0])

    def add_special_day(self, restaurant_id: UUID, day: SpecialDayEntry, *, actor: str, force: bool) \
            -> Change[SpecialDayEntry]:
        doc = self._call("SELECT add_special_day_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         [restaurant_id, day.starts_on, day.ends_on, day.closed, day.opens, day.closes, day.reason,
                          actor, force])
        return Change(_special_day_from_json(doc["special_day"]), _affected(doc))

    def update_special_day(self, restaurant_id: UUID, day: SpecialDayEntry, *, actor: str, force: bool) \
            -> Change[SpecialDayEntry]:
        doc = self._call("SELECT update_special_day_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         [restaurant_id, day.id, day.starts_on, day.ends_on, day.closed, day.opens, day.closes,
                          day.reason, actor, force])
        return Change(_special_day_from_json(doc["special_day"]), _affected(doc))

    def remove_special_day(self, restaurant_id: UUID, special_day_id: int, *, actor: str, force: bool) \
            -> Change[SpecialDayEntry]:
        doc = self._call("SELECT remove_special_day_v1(%s, %s, %s, %s)",
                         [restaurant_id, special_day_id, actor, force])
        return Change(_special_day_from_json(doc["special_day"]), _affected(doc))

    # -- capacity rules ----------------------------------------------------------------------------------

    def capacity_rules(self, restaurant_id: UUID) -> list[CapacityRule]:
        return [CapacityRule(*row) for row in self._all(
            f"SELECT {_RULE_COLUMNS} FROM capacity_rules WHERE restaurant_id = %s"
            " ORDER BY on_date NULLS FIRST, weekday NULLS FIRST, local_from NULLS FIRST, id", [restaurant_id])]

    def capacity_rule(self, restaurant_id: UUID, rule_id: int) -> CapacityRule:
        rows = self._all(f"SELECT {_RULE_COLUMNS} FROM capacity_rules WHERE restaurant_id = %s AND id = %s",
                         [restaurant_id, rule_id])
        if not rows:
            raise NotFound(f"no capacity rule {rule_id} at this restaurant")
        return CapacityRule(*rows[0])

    def add_capacity_rule(self, restaurant_id: UUID, rule: CapacityRule, *, actor: str, force: bool) \
            -> Change[CapacityRule]:
        doc = self._call("SELECT add_capacity_rule_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         [restaurant_id, rule.on_date, rule.weekday, rule.local_from, rule.local_until,
                          rule.max_covers_present, rule.max_parties_present, rule.max_covers_starting, actor, force])
        return Change(_rule_from_json(doc["capacity_rule"]), _affected(doc))

    def update_capacity_rule(self, restaurant_id: UUID, rule: CapacityRule, *, actor: str, force: bool) \
            -> Change[CapacityRule]:
        doc = self._call("SELECT update_capacity_rule_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         [restaurant_id, rule.id, rule.on_date, rule.weekday, rule.local_from, rule.local_until,
                          rule.max_covers_present, rule.max_parties_present, rule.max_covers_starting, actor, force])
        return Change(_rule_from_json(doc["capacity_rule"]), _affected(doc))

    def remove_capacity_rule(self, restaurant_id: UUID, rule_id: int, *, actor: str, force: bool) \
            -> Change[CapacityRule]:
        doc = self._call("SELECT remove_capacity_rule_v1(%s, %s, %s, %s)", [restaurant_id, rule_id, actor, force])
        return Change(_rule_from_json(doc["capacity_rule"]), _affected(doc))

    # -- turn times --------------------------------------------------------------------------------------

    def turn_times(self, restaurant_id: UUID) -> list[TurnTime]:
        return [TurnTime(*row) for row in self._all(
            "SELECT min_party, max_party, minutes FROM turn_times WHERE restaurant_id = %s ORDER BY min_party",
            [restaurant_id])]

    def set_turn_times(self, restaurant_id: UUID, turn_times: Sequence[TurnTime], *, actor: str) -> list[TurnTime]:
        payload = [{"min_party": t.min_party, "max_party": t.max_party, "minutes": t.minutes} for t in turn_times]
        doc = self._call("SELECT set_turn_times_v1(%s, %s::jsonb, %s)", [restaurant_id, json.dumps(payload), actor])
        return [TurnTime(int(t["min_party"]), int(t["max_party"]), int(t["minutes"])) for t in doc["turn_times"]]


__all__ = ["PostgresRestaurantAdminStore"]
