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
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from frontdesk.adapters.pg import Database
from frontdesk.adapters.postgres import domain_error
from frontdesk.core.errors import DatabaseUnavailable, ServiceUnavailable
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
        self._db = Database(conninfo, on_error=domain_error, max_size=max_size, min_size=0,
                            timeout=pool_timeout, cooldown=cooldown, name="frontdesk-calls", clock=clock)
        self._route_ttl = route_ttl
        self._stale_for = stale_for
        self._clock = clock
        self._routes: dict[str, tuple[float, CallRoute | None]] = {}

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """One statement; every statement here is safe to repeat, so a lost connection is retried once."""
        return self._db.run(lambda conn: conn.execute(sql, params).fetchall())

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

