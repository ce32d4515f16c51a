"""The one place that picks adapters and builds the use cases from settings. Nothing connects until used."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from frontdesk.config import Settings, get_settings
from frontdesk.core.booking import BookingService


def _secret(arn: str, *, refresh: bool = False) -> str:
    """A Secrets Manager value through Powertools' cached parameters (imported only when used)."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(arn, max_age=300, force_fetch=refresh)
    return value if isinstance(value, str) else value.decode()


def database_conninfo(settings: Settings, refresh: bool = False) -> str:
    if settings.database_secret_arn:
        doc: dict[str, Any] = json.loads(_secret(settings.database_secret_arn, refresh=refresh))
        host = settings.database_proxy_host or doc["host"]
        return (
            f"postgresql://{quote(doc['username'], safe='')}:{quote(doc['password'], safe='')}"
            f"@{host}:{doc.get('port', 5432)}/{doc.get('dbname', 'frontdesk')}"
            f"?sslmode={settings.database_sslmode}"
        )
    if settings.database_url:
        return settings.database_url
    raise RuntimeError("set DATABASE_URL (or DATABASE_SECRET_ARN in AWS)")


class Services:
    """Lazily built adapters, reused across requests and Lambda invocations."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._booking: BookingService | None = None

    @property
    def booking(self) -> BookingService:
        with self._lock:
            if self._booking is None:
                self._booking = BookingService(
                    self.store, self.holds, hold_ttl=timedelta(seconds=self.settings.hold_ttl_seconds))
            return self._booking

    @property
    def store(self) -> Any:
        return self._store()

    @property
    def holds(self) -> Any:
        return self._holds()

    @lru_cache(maxsize=1)  # noqa: B019 - one Services per process; the cache lives as long as it does
    def _store(self) -> Any:
        from frontdesk.adapters.postgres import PostgresBookingStore

        settings = self.settings
        return PostgresBookingStore(lambda refresh: database_conninfo(settings, refresh),
                                    max_size=settings.database_pool_max)

    @lru_cache(maxsize=1)  # noqa: B019
    def _holds(self) -> Any:
        from frontdesk.adapters.redis_holds import RedisHoldStore

        settings = self.settings
        password = _secret(settings.redis_auth_secret_arn) if settings.redis_auth_secret_arn else None
        return RedisHoldStore.from_url(settings.redis_url or "redis://127.0.0.1:6379/0",
                                       prefix=settings.redis_key_prefix, password=password)


_services: Services | None = None
_services_lock = threading.Lock()


def services() -> Services:
    global _services
    with _services_lock:
        if _services is None:
            _services = Services(get_settings())
        return _services
