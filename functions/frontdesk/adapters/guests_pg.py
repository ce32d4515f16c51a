"""PostgreSQL adapter of the guest book (connections: ``adapters.pg.Database``, safe behind RDS Proxy).

Reads are plain SELECTs (app_user may read ``guests``); the only write is ``update_guest_v1``, a SECURITY
DEFINER function, so app_user cannot touch the counters the reservation triggers keep.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row

from frontdesk.adapters.pg import Conninfo, Database
from frontdesk.adapters.postgres import domain_error
from frontdesk.core.guests import GuestChanges, GuestProfile

_NOT_DIGITS = re.compile(r"[^0-9]")

_SEARCH = """
SELECT fd_guest_json(g) FROM guests g
 WHERE g.restaurant_id = %(r)s
   AND (%(t)s::text IS NULL
        OR position(lower(%(t)s::text) IN lower(g.name)) > 0
        OR (%(d)s::text <> '' AND position(%(d)s::text IN g.phone) > 0))
 ORDER BY g.last_visit_on DESC NULLS LAST, g.updated_at DESC, g.phone
 LIMIT %(n)s
"""


def guest_from_json(doc: dict[str, Any]) -> GuestProfile:
    return GuestProfile(
        restaurant_id=UUID(doc["restaurant_id"]),
        phone=doc["phone"],
        name=doc["name"],
        notes=doc["notes"],
        allergies=doc["allergies"],
        visit_count=int(doc["visit_count"]),
        no_show_count=int(doc["no_show_count"]),
        last_visit_on=date.fromisoformat(doc["last_visit_on"]) if doc.get("last_visit_on") else None,
        created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]),
    )


class PostgresGuestStore:
    """GuestStore on PostgreSQL. Pass the booking store's ``Database`` to share its pool."""

    def __init__(self, conninfo: Conninfo | Database, *, max_size: int = 5) -> None:
        self._db = conninfo if isinstance(conninfo, Database) else Database(
            conninfo, on_error=domain_error, max_size=max_size, name="frontdesk-guests")

    def close(self) -> None:
        self._db.close()

    def _docs(self, sql: str, params: Any) -> list[dict[str, Any]]:
        rows = self._db.run(lambda conn: conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall())
        return [row[0] for row in rows]

    def get(self, restaurant_id: UUID, phone: str) -> GuestProfile | None:
        docs = self._docs("SELECT fd_guest_json(g) FROM guests g WHERE g.restaurant_id = %s AND g.phone = %s",
                          [restaurant_id, phone])
        return guest_from_json(docs[0]) if docs else None

    def search(self, restaurant_id: UUID, text: str | None, limit: int) -> list[GuestProfile]:
        digits = _NOT_DIGITS.sub("", text or "")
        docs = self._docs(_SEARCH, {"r": restaurant_id, "t": text, "d": digits, "n": limit})
        return [guest_from_json(d) for d in docs]

    def update(self, restaurant_id: UUID, phone: str, changes: GuestChanges, *, actor: str) -> GuestProfile:
        # Repeating the same edit is harmless (it changes nothing the second time and logs nothing).
        docs = self._docs("SELECT update_guest_v1(%s, %s, %s, %s, %s, %s)",
                          [restaurant_id, phone, changes.name, changes.notes, changes.allergies, actor])
        return guest_from_json(docs[0])


__all__ = ["PostgresGuestStore", "guest_from_json"]
