"""PostgreSQL adapter of the booking core (connections: ``adapters.pg.Database``, safe behind RDS Proxy).

Each call is one autocommit statement; the booking functions do their locking inside it. Driver errors
become domain errors in ``domain_error`` and nowhere else.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from frontdesk.adapters.pg import Conninfo, Database
from frontdesk.core.errors import (
    DatabaseUnavailable,
    FrontDeskError,
    HoldExpired,
    InvalidRequest,
    InvalidStateTransition,
    NotFound,
    ReservationNotFound,
    RestaurantNotFound,
    SlotUnavailable,
    TimezoneChangeBlocked,
    WouldStrandBookings,
)
from frontdesk.core.model import (
    BucketState,
    Caps,
    Channel,
    DayPlan,
    Guest,
    Load,
    Reservation,
    ReservationStatus,
    Restaurant,
    ServiceWindow,
    SlotEvaluation,
    SpecialDay,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_UNAVAILABLE = {
    "FD010": "closed",
    "FD011": "blackout",
    "FD012": "full",
    "FD013": "party_too_large",
    "FD014": "too_soon",
    "FD015": "too_far_ahead",
    "FD016": "duplicate_booking",
}


def domain_error(exc: psycopg.Error) -> FrontDeskError:
    """The one place a PostgreSQL error becomes a domain error."""
    state = exc.sqlstate or ""
    message = exc.diag.message_primary or str(exc)
    if state in _UNAVAILABLE:
        return SlotUnavailable(_UNAVAILABLE[state], message)
    if state == "FD001":
        return RestaurantNotFound()
    if state == "FD002":
        return ReservationNotFound()
    if state == "FD020":
        return HoldExpired()
    if state == "FD030":
        return InvalidStateTransition(message)
    if state == "FD031":
        affected = tuple(_reservation(doc) for doc in json.loads(exc.diag.message_detail or "[]"))
        return WouldStrandBookings(message, affected)
    if state == "FD032":  # a timezone change with bookings ahead (0007): they are listed, force does not apply
        return TimezoneChangeBlocked(
            message, tuple(_reservation(doc) for doc in json.loads(exc.diag.message_detail or "[]")))
    if state == "FD040":  # a special day or capacity rule that is not there (0007)
        return NotFound(message)
    if state == "FD003":  # a table or combination that is not there (0004), on the shared pool too
        from frontdesk.core.errors import TableNotFound

        return TableNotFound(message)
    if state.startswith(("22", "23")):  # data exceptions and integrity violations: the input was bad
        return InvalidRequest(message)
    log.error("database error %s: %s", state, message)
    return DatabaseUnavailable()


def _reservation(doc: dict[str, Any]) -> Reservation:
    return Reservation(
        id=UUID(doc["id"]),
        restaurant_id=UUID(doc["restaurant_id"]),
        service_date=date.fromisoformat(doc["service_date"]),
        start=datetime.fromisoformat(doc["start_ts"]),
        end=datetime.fromisoformat(doc["end_ts"]),
        party_size=doc["party_size"],
        guest_name=doc["guest_name"],
        guest_phone=doc["guest_phone"],
        notes=doc["notes"],
        status=ReservationStatus(doc["status"]),
        channel=Channel(doc["channel"]),
        created_at=datetime.fromisoformat(doc["created_at"]),
        updated_at=datetime.fromisoformat(doc["updated_at"]),
        cancelled_at=datetime.fromisoformat(doc["cancelled_at"]) if doc.get("cancelled_at") else None,
        replayed=bool(doc.get("replayed")),
        tables=tuple(doc.get("tables") or ()),
    )


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


def _bucket(row: list[Any]) -> BucketState:
    return BucketState(_epoch(row[0]), Load(row[1], row[2], row[3]), Caps(row[4], row[5], row[6]))


_RESTAURANT_COLUMNS = (
    "id, slug, name, timezone, max_party_size, min_notice_minutes, booking_horizon_days, policies, address, "
    "twilio_number, failover_number, agent_enabled,"
    " EXISTS (SELECT 1 FROM dining_tables t WHERE t.restaurant_id = restaurants.id AND t.active)"
)

_EVALUATE = """
SELECT c.reason, c.detail, c.service_date, c.end_ts,
       CASE WHEN c.service_date IS NOT NULL THEN (
           SELECT json_agg(json_build_array(extract(epoch FROM b.bucket), b.covers_present, b.parties_present,
                                            b.covers_starting, b.max_covers_present, b.max_parties_present,
                                            b.max_covers_starting) ORDER BY b.bucket)
             FROM bucket_state_v1(%(r)s, c.service_date, fd_bucket_floor(%(s)s), fd_bucket_ceil(c.end_ts), %(x)s) b)
       END,
       CASE WHEN c.reason IS NULL AND NOT fd_table_fits_v1(%(r)s, %(s)s, c.end_ts, %(p)s, %(ch)s, %(x)s)
            THEN fd_no_table_detail(%(r)s, %(p)s, %(s)s) END
  FROM slot_check_v1(%(r)s, %(s)s, %(p)s, %(x)s, %(n)s, false) c
"""


class PostgresBookingStore:
    """BookingStore on PostgreSQL. ``conninfo`` is a DSN, or a function returning one (``refresh=True``
    after an authentication failure, so a rotated secret is fetched again)."""

    def __init__(
        self,
        conninfo: Conninfo | Database,
        *,
        max_size: int = 10,
        restaurant_cache_seconds: float = 10.0,
    ) -> None:
        self._db = conninfo if isinstance(conninfo, Database) else Database(
            conninfo, on_error=domain_error, max_size=max_size)
        self._cache_seconds = restaurant_cache_seconds
        self._restaurants: dict[str, tuple[float, Restaurant]] = {}

    def close(self) -> None:
        self._db.close()

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], *, retry: bool = True) -> T:
        return self._db.run(work, retry=retry)

    def _one(self, sql: str, params: Any, *, retry: bool = True) -> Any:
        def work(conn: psycopg.Connection[Any]) -> Any:
            row = conn.cursor(row_factory=tuple_row).execute(sql, params).fetchone()
            return row[0] if row else None

        return self._run(work, retry=retry)

    def _all(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall())

    # -- reads --------------------------------------------------------------------------------------

    def restaurant(self, key: str | UUID) -> Restaurant:
        cache_key = str(key)
        cached = self._restaurants.get(cache_key)
        if cached and cached[0] > _time.monotonic():
            return cached[1]
        try:
            by_id: UUID | None = key if isinstance(key, UUID) else UUID(str(key))
        except ValueError:
            by_id = None
        column = "id" if by_id is not None else "slug"
        rows = self._all(f"SELECT {_RESTAURANT_COLUMNS} FROM restaurants WHERE {column} = %s",
                         [by_id if by_id is not None else str(key)])
        if not rows:
            raise RestaurantNotFound(f"no restaurant {key!s}")
        restaurant = Restaurant(*rows[0])
        self._restaurants[cache_key] = (_time.monotonic() + self._cache_seconds, restaurant)
        return restaurant

    def restaurant_by_number(self, twilio_number: str) -> Restaurant | None:
        rows = self._all(f"SELECT {_RESTAURANT_COLUMNS} FROM restaurants WHERE twilio_number = %s",
                         [twilio_number])
        return Restaurant(*rows[0]) if rows else None

    def evaluate(
        self, restaurant_id: UUID, start: datetime, party_size: int, *, exclude: UUID | None, enforce_notice: bool,
        channel: Channel | None = None,
    ) -> SlotEvaluation:
        rows = self._all(_EVALUATE, {"r": restaurant_id, "s": start, "p": party_size, "x": exclude,
                                     "n": enforce_notice, "ch": (channel or Channel.API).value})
        reason, detail, service_date, end, bucket_rows, no_table = rows[0]
        if reason is None and no_table is not None:
            # Availability must not promise what the commit would refuse: no free table is "full" too.
            reason, detail = "full", no_table
        return SlotEvaluation(reason, detail, service_date, end,
                              tuple(_bucket(b) for b in bucket_rows or ()))

    def free_table_starts(
        self, restaurant_id: UUID, starts: Sequence[datetime], duration: timedelta, party_size: int, *,
        channel: Channel, exclude: UUID | None,
    ) -> set[datetime]:
        if not starts:
            return set()
        rows = self._all(
            "SELECT s FROM unnest(%s::timestamptz[]) AS s"
            " WHERE fd_table_fits_v1(%s, s, s + %s::interval, %s, %s, %s)",
            [list(starts), restaurant_id, duration, party_size, channel.value, exclude],
        )
        return {row[0] for row in rows}

    def day_plans(self, restaurant_id: UUID, first: date, last: date) -> list[DayPlan]:
        rows = self._all(
            "SELECT d::date, w.opens, w.closes, w.closed_reason, coalesce(w.is_special, false)"
            "  FROM generate_series(%s::date, %s::date, interval '1 day') AS d"
            "  LEFT JOIN LATERAL service_windows_v1(%s, d::date) AS w ON true ORDER BY 1, 2",
            [first, last, restaurant_id],
        )
        plans: dict[date, DayPlan] = {}
        for day, opens, closes, closed_reason, is_special in rows:
            plan = plans.get(day, DayPlan(day, ()))
            windows = plan.windows
            if opens is not None and closes is not None:
                windows = (*windows, ServiceWindow(opens, closes))
            plans[day] = DayPlan(day, windows, closed_reason or plan.closed_reason, is_special or plan.is_special)
        return list(plans.values())

    def special_days(self, restaurant_id: UUID, first: date, last: date) -> list[SpecialDay]:
        rows = self._all(
            "SELECT starts_on, ends_on, closed, opens, closes, reason FROM special_days"
            " WHERE restaurant_id = %s AND ends_on >= %s AND starts_on <= %s ORDER BY starts_on",
            [restaurant_id, first, last],
        )
        return [SpecialDay(*row) for row in rows]

    def bucket_states(
        self, restaurant_id: UUID, spans: Sequence[tuple[date, datetime, datetime]], exclude: UUID | None
    ) -> dict[date, list[BucketState]]:
        if not spans:
            return {}
        rows = self._all(
            "SELECT q.d, extract(epoch FROM b.bucket), b.covers_present, b.parties_present, b.covers_starting,"
            "       b.max_covers_present, b.max_parties_present, b.max_covers_starting"
            "  FROM unnest(%s::date[], %s::timestamptz[], %s::timestamptz[]) AS q(d, f, t)"
            "  CROSS JOIN LATERAL bucket_state_v1(%s, q.d, fd_bucket_floor(q.f), fd_bucket_ceil(q.t), %s) AS b",
            [[s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans], restaurant_id, exclude],
        )
        found: dict[date, list[BucketState]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(_bucket(list(row[1:])))
        return found

    def turn_minutes(self, restaurant_id: UUID, party_size: int) -> int:
        minutes = self._one("SELECT fd_turn_minutes_v1(%s, %s)", [restaurant_id, party_size])
        if minutes is None:
            raise RestaurantNotFound()
        return int(minutes)

    def get(self, reservation_id: UUID) -> Reservation:
        doc = self._one("SELECT fd_reservation_json(r, false) FROM reservations r WHERE r.id = %s",
                        [reservation_id])
        if doc is None:
            raise ReservationNotFound()
        return _reservation(doc)

    def find_replay(
        self, hold_id: str | None, idempotency_key: str | None, restaurant_id: UUID | None = None
    ) -> Reservation | None:
        if hold_id is None and idempotency_key is None:
            return None
        doc = self._one(
            "SELECT fd_reservation_json(r, true) FROM reservations r"
            " WHERE (r.hold_id = %(h)s OR (r.idempotency_key = %(k)s"
            "        AND (%(r)s::uuid IS NULL OR r.restaurant_id = %(r)s::uuid)))"
            " ORDER BY r.created_at LIMIT 1",
            {"h": hold_id, "k": idempotency_key, "r": restaurant_id},
        )
        return _reservation(doc) if doc else None

    def find_by_phone(self, restaurant_id: UUID, phone: str, now: datetime) -> list[Reservation]:
        rows = self._all(
            "SELECT fd_reservation_json(r, false) FROM reservations r"
            " WHERE r.restaurant_id = %(r)s AND r.guest_phone = %(p)s"
            " ORDER BY upper(r.during) <= %(now)s,"
            "          CASE WHEN upper(r.during) > %(now)s THEN lower(r.during) END,"
            "          lower(r.during) DESC"
            " LIMIT 50",
            {"r": restaurant_id, "p": phone, "now": now},
        )
        return [_reservation(r[0]) for r in rows]

    def list_for_date(self, restaurant_id: UUID, service_date: date) -> list[Reservation]:
        rows = self._all(
            "SELECT fd_reservation_json(r, false) FROM reservations r"
            " WHERE r.restaurant_id = %s AND r.service_date = %s ORDER BY lower(r.during), r.created_at",
            [restaurant_id, service_date],
        )
        return [_reservation(r[0]) for r in rows]

    def ping(self) -> None:
        self._one("SELECT 1", [])

    # -- writes -------------------------------------------------------------------------------------

    def commit(
        self,
        *,
        restaurant_id: UUID,
        start: datetime,
        party_size: int,
        guest: Guest,
        channel: Channel,
        hold_id: str | None,
        idempotency_key: str | None,
        hold_expires_at: datetime | None,
        actor: str,
    ) -> Reservation:
        doc = self._one(
            "SELECT commit_reservation_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [restaurant_id, start, party_size, guest.name, guest.phone, guest.notes, channel.value, hold_id,
             idempotency_key, hold_expires_at, actor],
            # Repeating is harmless only when the database can recognise the repeat.
            retry=hold_id is not None or idempotency_key is not None,
        )
        return _reservation(doc)

    def add_special_day(self, restaurant_id: UUID, day: SpecialDay, *, actor: str, force: bool
                        ) -> tuple[int, list[Reservation]]:
        doc = self._one(
            "SELECT add_special_day_v1(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [restaurant_id, day.starts_on, day.ends_on, day.closed, day.opens, day.closes, day.reason, actor, force],
            retry=False,
        )
        return int(doc["special_day_id"]), [_reservation(r) for r in doc["affected"]]

    def cancel(self, reservation_id: UUID, *, actor: str, reason: str) -> Reservation:
        return _reservation(self._one("SELECT cancel_reservation_v1(%s, %s, %s)", [reservation_id, actor, reason]))

    def modify(
        self, reservation_id: UUID, *, start: datetime | None, party_size: int | None, actor: str,
        enforce_notice: bool,
    ) -> Reservation:
        return _reservation(self._one(
            "SELECT modify_reservation_v1(%s, %s, %s, %s, %s)",
            [reservation_id, start, party_size, actor, enforce_notice],
        ))

    def set_status(self, reservation_id: UUID, status: ReservationStatus, *, actor: str) -> Reservation:
        # Safe to repeat: the same status again is a replay in the database.
        return _reservation(self._one("SELECT set_reservation_status_v1(%s, %s, %s)",
                                      [reservation_id, status.value, actor]))


__all__ = ["PostgresBookingStore", "domain_error"]
