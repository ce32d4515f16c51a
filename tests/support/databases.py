"""Real PostgreSQL and Redis for tests: a migrated template database cloned per test, a Redis key prefix
per test. Never FLUSHALL — the Redis is shared."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time
from typing import Any

import psycopg
import redis
from psycopg import sql

PG_ADMIN_URL = os.environ.get("FRONTDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()


def url_for(database: str, user: str = "postgres") -> str:
    base = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    base.update(dbname=database, user=user)
    base.pop("password", None) if user != "postgres" else None
    return psycopg.conninfo.make_conninfo(**base)


def admin_connect(database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(url_for(database), autocommit=True)


def create_database(name: str, template: str | None = None) -> None:
    with admin_connect() as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        conn.execute(query)


def drop_database(name: str) -> None:
    with admin_connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def unique_name(kind: str) -> str:
    return f"fdt_{RUN_ID}_{kind}_{next(_counter)}"


@dataclass
class TestDatabase:
    name: str
    __test__ = False  # not a test class, despite the name

    @property
    def admin_url(self) -> str:
        return url_for(self.name)

    @property
    def app_url(self) -> str:
        """What the API uses: the least-privileged app_user."""
        return url_for(self.name, "app_user")

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.admin_url, autocommit=True)

    def scalar(self, query: str, params: Any = None) -> Any:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None

    def rows(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            return conn.execute(query, params).fetchall()


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@dataclass(frozen=True)
class RestaurantSpec:
    """A restaurant for a test, with everything the engine reads."""

    slug: str
    timezone: str = "America/New_York"
    # weekday (ISO) -> list of (opens, closes)
    hours: dict[int, list[tuple[time, time]]] | None = None
    max_covers_present: int = 40
    max_parties_present: int = 10
    max_covers_starting: int = 16
    turn_minutes: int = 120
    max_party_size: int = 12
    min_notice_minutes: int = 0
    horizon_days: int = 400
    twilio_number: str | None = None


def create_restaurant(db: TestDatabase, spec: RestaurantSpec) -> uuid.UUID:
    hours = spec.hours or {d: [(time(17), time(22))] for d in range(1, 8)}
    with db.connect() as conn, conn.transaction():
        rid = conn.execute(
            "INSERT INTO restaurants (slug, name, timezone, max_party_size, min_notice_minutes,"
            " booking_horizon_days, default_turn_minutes, twilio_number, failover_number)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '+15555550199') RETURNING id",
            [spec.slug, spec.slug.replace("-", " ").title(), spec.timezone, spec.max_party_size,
             spec.min_notice_minutes, spec.horizon_days, spec.turn_minutes, spec.twilio_number],
        ).fetchone()[0]
        for weekday, windows in hours.items():
            for opens, closes in windows:
                conn.execute("INSERT INTO operating_hours (restaurant_id, weekday, opens, closes)"
                             " VALUES (%s, %s, %s, %s)", [rid, weekday, opens, closes])
        conn.execute(
            "INSERT INTO capacity_rules (restaurant_id, max_covers_present, max_parties_present,"
            " max_covers_starting) VALUES (%s, %s, %s, %s)",
            [rid, spec.max_covers_present, spec.max_parties_present, spec.max_covers_starting])
    return rid


def iter_prefix_cleanup(prefix: str) -> Iterator[str]:
    client = redis_client()
    try:
        yield prefix
    finally:
        delete_prefix(client, prefix)
        client.close()


def start_in_the_past(database: TestDatabase, reservation_id: uuid.UUID, minutes_ago: int = 30) -> None:
    """Move a booking so it started ``minutes_ago`` minutes ago, as if its time had come: what the floor may
    mark no-show or completed (set_reservation_status_v1 refuses both before the start). The start lands on
    the 15-minute grid bookings use, so at least ``minutes_ago`` back (a negative value: up to that far ahead).
    Same length; the service date follows the new start's local date (good enough away from midnight). A plain
    UPDATE as the admin role, so the triggers move its bucket_loads and reservation_tables with it; the
    "modified" text the SMS trigger would queue is not queued (time passing is no change a guest hears about).
    Bookings of one phone moved here must not overlap (the duplicate guard): give them starts a turn apart."""
    with database.connect() as conn, conn.transaction():
        tables_before = conn.execute("SELECT array_agg(table_id ORDER BY table_id) FROM reservation_tables"
                                     " WHERE reservation_id = %s", [reservation_id]).fetchone()
        conn.execute("ALTER TABLE reservations DISABLE TRIGGER reservations_enqueue_sms")
        moved = conn.execute(
            "UPDATE reservations r"
            "   SET during = tstzrange(s.start, s.start + (upper(r.during) - lower(r.during))),"
            "       service_date = (s.start AT TIME ZONE rt.timezone)::date"
            "  FROM restaurants rt,"
            "       (SELECT fd_bucket_floor(clock_timestamp() - make_interval(mins => %s)) AS start) s"
            " WHERE r.id = %s AND rt.id = r.restaurant_id RETURNING r.id", [minutes_ago, reservation_id]).fetchone()
        conn.execute("ALTER TABLE reservations ENABLE TRIGGER reservations_enqueue_sms")
        if moved is None:
            raise LookupError(f"no reservation {reservation_id}")
        tables_after = conn.execute("SELECT array_agg(table_id ORDER BY table_id) FROM reservation_tables"
                                    " WHERE reservation_id = %s", [reservation_id]).fetchone()
        if tables_after != tables_before:  # the table trigger re-picked: the move collided with another booking
            raise AssertionError(f"moving {reservation_id} into the past changed its tables")
