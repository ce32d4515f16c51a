"""TableStore on PostgreSQL: each change is one call of a SECURITY DEFINER function of 0004_tables.sql, which
takes the configuration lock, checks for stranded bookings and writes event_log in one transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from frontdesk.adapters.pg import Conninfo, Database
from frontdesk.adapters.postgres import _reservation, domain_error
from frontdesk.core.errors import FrontDeskError, RestaurantNotFound, TableNotFound
from frontdesk.core.tables import DiningTable, FloorPlan, TableChange, TableCombination


def tables_error(exc: psycopg.Error) -> FrontDeskError:
    """FD003 is this part's own; everything else maps as everywhere else."""
    if exc.sqlstate == "FD003":
        return TableNotFound(exc.diag.message_primary or None)
    return domain_error(exc)


def _table(doc: dict[str, Any]) -> DiningTable:
    return DiningTable(name=doc["name"], min_seats=doc["min_seats"], max_seats=doc["max_seats"], area=doc["area"],
                       agent_bookable=doc["agent_bookable"], active=doc["active"])


def _combination(doc: dict[str, Any]) -> TableCombination:
    return TableCombination(name=doc["name"], tables=tuple(doc["tables"]), min_seats=doc["min_seats"],
                            max_seats=doc["max_seats"], agent_bookable=doc["agent_bookable"], usable=doc["usable"])


def _change(doc: dict[str, Any]) -> TableChange:
    item = _table(doc["table"]) if "table" in doc else _combination(doc["combination"])
    return TableChange(item, tuple(_reservation(r) for r in doc["affected"]),
                       tuple(_reservation(r) for r in doc["unassigned"]))


class PostgresTableStore:
    def __init__(self, conninfo: Conninfo | Database, *, max_size: int = 2) -> None:
        self._db = conninfo if isinstance(conninfo, Database) else Database(
            conninfo, on_error=tables_error, max_size=max_size, name="frontdesk-tables")

    def close(self) -> None:
        self._db.close()

    def _one(self, sql: str, params: Any) -> Any:
        # Never retried: a change is not repeated blindly after a lost connection.
        def work(conn: psycopg.Connection[Any]) -> Any:
            row = conn.cursor(row_factory=tuple_row).execute(sql, params).fetchone()
            return row[0] if row else None

        return self._db.run(work, retry=False)

    def restaurant_id(self, key: str | UUID) -> UUID:
        found = self._one("SELECT id FROM restaurants WHERE slug = %s OR id::text = %s", [str(key), str(key)])
        if found is None:
            raise RestaurantNotFound(f"no restaurant {key!s}")
        return UUID(str(found))

    def floor_plan(self, restaurant_id: UUID) -> FloorPlan:
        doc = self._one(
            "SELECT jsonb_build_object("
            " 'tables', (SELECT coalesce(jsonb_agg(fd_table_json(t) ORDER BY t.name), '[]') FROM dining_tables t"
            "            WHERE t.restaurant_id = %(r)s),"
            " 'combinations', (SELECT coalesce(jsonb_agg(fd_combination_json(c) ORDER BY c.name), '[]')"
            "                  FROM table_combinations c WHERE c.restaurant_id = %(r)s))",
            {"r": restaurant_id})
        return FloorPlan(tuple(_table(t) for t in doc["tables"]),
                         tuple(_combination(c) for c in doc["combinations"]))

    def add_table(self, restaurant_id: UUID, table: DiningTable, *, actor: str) -> TableChange:
        return _change(self._one(
            "SELECT add_dining_table_v1(%s, %s, %s, %s, %s, %s, %s)",
            [restaurant_id, table.name, table.area, table.min_seats, table.max_seats, table.agent_bookable, actor]))

    def update_table(
        self, restaurant_id: UUID, name: str, *, new_name: str | None, area: str | None, min_seats: int | None,
        max_seats: int | None, agent_bookable: bool | None, active: bool | None, actor: str, force: bool,
    ) -> TableChange:
        doc = self._one(
            "SELECT update_dining_table_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [restaurant_id, name, new_name, area, min_seats, max_seats, agent_bookable, active, actor, force])
        return _change(doc)

    def add_combination(self, restaurant_id: UUID, combination: TableCombination, *, min_given: bool,
                        max_given: bool, actor: str) -> TableChange:
        return _change(self._one(
            "SELECT add_table_combination_v1(%s, %s, %s, %s, %s, %s, %s)",
            [restaurant_id, combination.name, list(combination.tables),
             combination.min_seats if min_given else None, combination.max_seats if max_given else None,
             combination.agent_bookable, actor]))

    def remove_combination(self, restaurant_id: UUID, name: str, *, actor: str, force: bool) -> TableChange:
        return _change(self._one("SELECT remove_table_combination_v1(%s, %s, %s, %s)",
                                 [restaurant_id, name, actor, force]))


__all__ = ["PostgresTableStore", "tables_error"]
