"""One way to talk to PostgreSQL, for every store: a lazily opened psycopg pool, safe behind RDS Proxy.

Autocommit, one statement per call, no session state, no prepared statements (``prepare_threshold=None``),
so the proxy can multiplex every connection. A connection lost to a restart is replaced and the work retried
once, when the caller says repeating it is harmless; an authentication failure fetches the credentials again
(a rotated secret). Anything else becomes a domain error through ``domain_error`` — the one mapping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from frontdesk.core.errors import DatabaseUnavailable, FrontDeskError

log = logging.getLogger(__name__)
T = TypeVar("T")
Conninfo = str | Callable[[bool], str]


def lost_connection(exc: psycopg.Error) -> bool:
    """The connection (not the statement) failed: the server restarted, went away, or refused us."""
    state = exc.sqlstate
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith("08") or state in {"57P01", "57P02", "57P03", "28P01"}


class Database:
    """``conninfo`` is a DSN, or a function returning one (``refresh=True`` after an authentication failure).
    ``cooldown``: after the database proved unreachable, refuse at once for that many seconds instead of
    making every caller wait out a connect timeout."""

    def __init__(
        self,
        conninfo: Conninfo,
        *,
        on_error: Callable[[psycopg.Error], FrontDeskError],
        max_size: int = 10,
        min_size: int = 1,
        timeout: float = 3.0,
        cooldown: float = 0.0,
        name: str = "frontdesk",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conninfo = conninfo
        self._on_error = on_error
        self._max_size = max_size
        self._min_size = min_size
        self._timeout = timeout
        self._cooldown = cooldown
        self._name = name
        self._clock = clock
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()
        self._auth_failed = False
        self._down_until = 0.0

    def _get_pool(self, refresh: bool) -> ConnectionPool:
        with self._lock:
            if self._pool is None or refresh:
                if self._pool is not None:
                    self._pool.close(timeout=1)
                dsn = self._conninfo(refresh) if callable(self._conninfo) else self._conninfo
                # Fail within seconds when the database is gone: a caller on the phone is waiting, and the
                # bridge gives the API 4 s before it apologises.
                self._pool = ConnectionPool(
                    dsn, min_size=self._min_size, max_size=self._max_size, timeout=self._timeout, name=self._name,
                    kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": 3}, open=True)
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def run(self, work: Callable[[psycopg.Connection[Any]], T], *, retry: bool = True) -> T:
        """Run ``work`` on a pooled connection; see the module docstring for what happens on failure."""
        if self._clock() < self._down_until:
            raise DatabaseUnavailable()
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            pool = self._get_pool(refresh=attempt > 0 and self._auth_failed)
            try:
                with pool.connection() as conn:
                    return work(conn)
            except (PoolTimeout, PoolClosed) as exc:
                # The pool's own reconnect backs off exponentially while the server is down, so after an
                # outage it could keep us waiting long after the server is back: start afresh next time.
                self._discard(pool)
                self._trip(exc)
                raise DatabaseUnavailable() from exc
            except psycopg.Error as exc:
                if not lost_connection(exc):
                    raise self._on_error(exc) from exc
                self._auth_failed = exc.sqlstate == "28P01"
                log.warning("database connection failed (attempt %s): %s", attempt + 1, exc)
                if self._pool is not None:
                    self._pool.check()
                if attempt + 1 == attempts:
                    self._trip(exc)
                    raise DatabaseUnavailable() from exc
        raise AssertionError("unreachable")

    def _discard(self, pool: ConnectionPool) -> None:
        with self._lock:
            if self._pool is not pool:
                return  # another thread already replaced it
            self._pool = None
        pool.close(timeout=0)

    def _trip(self, exc: BaseException) -> None:
        if self._cooldown > 0:
            self._down_until = self._clock() + self._cooldown
            log.warning("database unavailable, refusing for %.1fs: %s", self._cooldown, exc)
