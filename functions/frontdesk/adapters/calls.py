"""Call state for the Twilio webhooks: who a number rings (PostgreSQL), how a call went (PostgreSQL), and
what the bridge recorded about a call (Redis).

* :class:`PostgresCallStore` — ``route_for_number`` (the restaurant a Twilio number belongs to, with its
  failover number and agent hours) and ``record_status`` (the idempotent ``record_call_status_v1``).
  Routes are cached briefly, and a cached route is still served when the database is down: a caller
  whose restaurant we knew a minute ago is answered (or sent to the restaurant) rather than dropped.
* :class:`RedisCallRecords` — reads the bridge's call-outcome record
  (format: :mod:`frontdesk_contract.call_record`).

Both stop trying for a short cool-down after a failure, so a dead dependency costs a webhook one fast
refusal instead of a connect timeout on every call. Same RDS Proxy rules as the booking adapter: autocommit,
one statement per call, no session state, no prepared statements.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from frontdesk.core.errors import DatabaseUnavailable, InvalidRequest, ServiceUnavailable
from frontdesk.twilio_edge.decisions import CallRoute
from frontdesk_contract.call_record import CallRecord, call_record_key, decode_call_record

log = logging.getLogger(__name__)

__all__ = [
    "CallRecordsUnavailable",
    "CallRoute",
    "PostgresCallStore",
    "RedisCallRecords",
]


class CallRecordsUnavailable(ServiceUnavailable):
    """The call records (Redis) cannot be read right now."""

    code = "call_records_unavailable"


_ROUTE_SQL = (
    "SELECT id, name, timezone, failover_number, agent_enabled, agent_opens, agent_closes"
    " FROM restaurants WHERE twilio_number = %s"
)
_RECORD_SQL = (
    "SELECT record_call_status_v1(%(sid)s, %(status)s, %(at)s, %(restaurant)s, %(from)s, %(to)s, %(duration)s,"
    " %(outcome)s, %(reservation)s, %(sequence)s)"
)


def _lost_connection(exc: psycopg.Error) -> bool:
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in {"57P01", "57P02", "57P03", "28P01"}


class PostgresCallStore:
    """``conninfo`` is a DSN or a function returning one (``refresh=True`` after an authentication failure,
    so a rotated secret is fetched again). ``route_ttl``: how long a looked-up route is trusted;
    ``stale_for``: how long a cached route is still used while the database cannot be reached."""

    def __init__(
        self,
        conninfo: str | Callable[[bool], str],
        *,
        max_size: int = 4,
        route_ttl: float = 10.0,
        stale_for: float = 24 * 3600.0,
        cooldown: float = 2.0,
        pool_timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conninfo = conninfo
        self._max_size = max_size
        self._route_ttl = route_ttl
        self._stale_for = stale_for
        self._cooldown = cooldown
        self._pool_timeout = pool_timeout
        self._clock = clock
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._routes: dict[str, tuple[float, CallRoute | None]] = {}
        self._down_until = 0.0
        self._auth_failed = False

    # -- connection handling ------------------------------------------------------------------------

    def _get_pool(self, refresh: bool) -> ConnectionPool:
        with self._lock:
            if self._pool is None or refresh:
                if self._pool is not None:
                    self._pool.close(timeout=1)
                dsn = self._conninfo(refresh) if callable(self._conninfo) else self._conninfo
                self._pool = ConnectionPool(
                    dsn, min_size=0, max_size=self._max_size, timeout=self._pool_timeout, name="frontdesk-calls",
                    kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": 3}, open=True)
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _run(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """One statement on a pooled connection; one retry on a connection lost to a restart (every
        statement here is safe to repeat). Unreachable → :class:`DatabaseUnavailable` and a cool-down."""
        if self._clock() < self._down_until:
            raise DatabaseUnavailable()
        for attempt in range(2):
            try:
                with self._get_pool(refresh=attempt > 0 and self._auth_failed).connection() as conn:
                    return conn.execute(sql, params).fetchall()
            except PoolTimeout as exc:
                self._trip(exc)
                raise DatabaseUnavailable() from exc
            except psycopg.Error as exc:
                if not _lost_connection(exc):
                    if (exc.sqlstate or "").startswith(("22", "23")):
                        raise InvalidRequest(exc.diag.message_primary or "invalid call data") from exc
                    log.error("database error %s: %s", exc.sqlstate, exc.diag.message_primary)
                    raise DatabaseUnavailable() from exc
                self._auth_failed = exc.sqlstate == "28P01"
                if attempt == 1:
                    self._trip(exc)
                    raise DatabaseUnavailable() from exc
        raise AssertionError("unreachable")

    def _trip(self, exc: BaseException) -> None:
        self._down_until = self._clock() + self._cooldown
        log.warning("database unavailable for call routing, cooling down %.1fs: %s", self._cooldown, exc)

    # -- reads --------------------------------------------------------------------------------------

    def route_for_number(self, number: str) -> CallRoute | None:
        """The route for a called number, or None when no restaurant owns it. Served from a short cache;
        when the database is unreachable a stale cached answer is better than none."""
        now = self._clock()
        cached = self._routes.get(number)
        if cached is not None and now - cached[0] < self._route_ttl:
            return cached[1]
        try:
            rows = self._run(_ROUTE_SQL, [number])
        except DatabaseUnavailable:
            if cached is not None and now - cached[0] < self._stale_for:
                log.warning("database unavailable: routing %s from a cached answer %.0fs old",
                            number, now - cached[0])
                return cached[1]
            raise
        route = CallRoute(*rows[0]) if rows else None
        self._routes[number] = (now, route)
        return route

    # -- writes -------------------------------------------------------------------------------------

    def record_status(
        self,
        call_sid: str,
        status: str,
        *,
        at: datetime | None = None,
        restaurant_id: UUID | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        duration_seconds: int | None = None,
        outcome: str | None = None,
        reservation_id: UUID | None = None,
        sequence_number: int | None = None,
    ) -> dict[str, Any]:
        """Upsert one status of a call (idempotent, order-independent); returns the call row."""
        rows = self._run(_RECORD_SQL, {
            "sid": call_sid, "status": status, "at": at, "restaurant": restaurant_id, "from": from_number or None,
            "to": to_number or None, "duration": duration_seconds, "outcome": outcome,
            "reservation": reservation_id, "sequence": sequence_number,
        })
        result: dict[str, Any] = rows[0][0]
        return result


class RedisCallRecords:
    """Reads ``{prefix}call:{call_sid}``. ``get`` returns None when there is no record, raises
    :class:`CallRecordError` for an unreadable one and :class:`CallRecordsUnavailable` when Redis is."""

    def __init__(self, client: Any, *, prefix: str = "fd:", cooldown: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._r = client
        self._prefix = prefix
        self._cooldown = cooldown
        self._clock = clock
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "fd:", password: str | None = None,
                 timeout: float = 0.5) -> RedisCallRecords:
        import redis

        client = redis.Redis.from_url(url, password=password, socket_timeout=timeout,
                                      socket_connect_timeout=timeout, health_check_interval=30)
        return cls(client, prefix=prefix)

    def get(self, call_sid: str) -> CallRecord | None:
        from redis.exceptions import RedisError

        if self._clock() < self._down_until:
            raise CallRecordsUnavailable()
        try:
            raw = self._r.get(call_record_key(call_sid, self._prefix))
        except (RedisError, OSError) as exc:
            self._down_until = self._clock() + self._cooldown
            log.warning("redis unavailable, call records unreadable for %.1fs: %s", self._cooldown, exc)
            raise CallRecordsUnavailable() from exc
        if raw is None:
            return None
        return decode_call_record(raw)

    def close(self) -> None:
        self._r.close()

