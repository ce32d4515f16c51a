"""Where the call-outcome record lives (Redis; format: :mod:`frontdesk_contract.call_record`).

Writes are best effort with short timeouts: a Redis outage must never stall or end a call. If the record
cannot be written, ``/twilio/after-stream`` finds none and dials the failover number — the safe default.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Protocol

from frontdesk_contract.call_record import (
    RECORD_TTL_SECONDS,
    CallRecord,
    CallRecordError,
    call_record_key,
    decode_call_record,
    encode_call_record,
)

__all__ = ["CallStore", "MemoryCallStore", "RedisCallStore"]

log = logging.getLogger("frontdesk_bridge.call_store")


class CallStore(Protocol):
    async def save(self, call_sid: str, record: CallRecord) -> bool: ...

    async def load(self, call_sid: str) -> CallRecord | None: ...

    async def aclose(self) -> None: ...


class MemoryCallStore:
    """For tests and for running without Redis."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    async def save(self, call_sid: str, record: CallRecord) -> bool:
        self.records[call_sid] = encode_call_record(record)
        return True

    async def load(self, call_sid: str) -> CallRecord | None:
        raw = self.records.get(call_sid)
        return decode_call_record(raw) if raw is not None else None

    async def aclose(self) -> None:
        return None


class RedisCallStore:
    def __init__(self, url: str, prefix: str = "fd:", timeout: float = 0.5, password: str | None = None) -> None:
        import redis.asyncio as aioredis

        self._prefix = prefix
        if password:  # else keep whatever the URL carries
            self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                                  health_check_interval=30, password=password)
        else:
            self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                                  health_check_interval=30)

    async def save(self, call_sid: str, record: CallRecord) -> bool:
        try:
            await self._redis.set(call_record_key(call_sid, self._prefix), encode_call_record(record),
                                  ex=RECORD_TTL_SECONDS)
        except Exception as exc:
            log.warning("call record not saved", extra={"call_sid": call_sid, "error": type(exc).__name__})
            return False
        return True

    async def load(self, call_sid: str) -> CallRecord | None:
        try:
            raw = await self._redis.get(call_record_key(call_sid, self._prefix))
        except Exception as exc:
            log.warning("call record not loaded", extra={"call_sid": call_sid, "error": type(exc).__name__})
            return None
        if raw is None:
            return None
        try:
            return decode_call_record(raw)
        except CallRecordError:
            log.warning("call record unreadable", extra={"call_sid": call_sid})
            return None

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._redis.aclose()
