"""One running bridge (in-process, on a free port) wired to the doubles, for scenario tests.

``async with BridgeHarness() as h:`` starts the fake Realtime server, the fake Twilio REST API and the
bridge; ``await h.call()`` connects a :class:`~doubles.twilio_caller.TwilioCaller` with a valid stream
token and returns it with the model session the bridge opened. When the bridge updates a call through
Twilio REST, the harness ends that call's media stream with ``stop`` — as Twilio does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from typing import Any

from .fake_booking_api import FakeBookingApi
from .fake_realtime import FakeRealtimeServer, FakeRealtimeSession
from .fake_twilio_rest import CallUpdate, FakeTwilioRest
from .twilio_caller import TwilioCaller

__all__ = ["STREAM_SECRET", "BridgeHarness"]

STREAM_SECRET = "test-stream-secret"
_calls = itertools.count(1)


class BridgeHarness:
    def __init__(self, *, booking_url: str | None = None, fake_booking: FakeBookingApi | None = None,
                 redis_url: str | None = "redis://127.0.0.1:6379/0", redis_prefix: str | None = None,
                 wrap_provider: Any = None, **settings: Any) -> None:
        self.fake_booking = fake_booking if fake_booking is not None else (
            None if booking_url else FakeBookingApi())
        self.booking_url = booking_url or "http://booking.invalid"
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix or f"fdtest-{uuid.uuid4().hex[:12]}:"
        self.overrides = settings
        self.wrap_provider = wrap_provider
        self.model = FakeRealtimeServer()
        self.twilio = FakeTwilioRest()
        self.bridge: Any = None
        self.url = ""
        self.callers: dict[str, TwilioCaller] = {}
        self.store: Any = None

    @property
    def restaurant_id(self) -> str:
        assert self.fake_booking is not None
        return self.fake_booking.restaurant_id

    async def __aenter__(self) -> BridgeHarness:
        from frontdesk_bridge.booking_api import BookingApi
        from frontdesk_bridge.call_store import MemoryCallStore, RedisCallStore
        from frontdesk_bridge.realtime.openai_ga import OpenAIRealtimeProvider
        from frontdesk_bridge.server import BridgeServer
        from frontdesk_bridge.session import BridgeDeps
        from frontdesk_bridge.settings import BridgeSettings
        from frontdesk_bridge.twilio_rest import TwilioRest

        await self.model.start()
        await self.twilio.start()
        self.twilio.on_call_update = self._twilio_ends_stream
        values: dict[str, Any] = {
            "bridge_host": "127.0.0.1", "bridge_port": 0, "openai_api_key": "sk-test",
            "openai_realtime_url": self.model.url, "booking_api_url": self.booking_url,
            "redis_url": self.redis_url, "redis_key_prefix": self.redis_prefix,
            "stream_token_secret": STREAM_SECRET, "twilio_account_sid": self.twilio.account_sid,
            "twilio_auth_token": self.twilio.auth_token, "twilio_api_base_url": self.twilio.url,
        }
        values.update(self.overrides)
        settings = BridgeSettings(**values)
        self.store = (RedisCallStore(self.redis_url, self.redis_prefix) if self.redis_url else MemoryCallStore())
        provider: Any = OpenAIRealtimeProvider(settings.openai_realtime_url, "sk-test", settings.realtime_model)
        if self.wrap_provider is not None:
            provider = self.wrap_provider(provider)
        deps = BridgeDeps(
            settings=settings,
            provider=provider,
            booking=BookingApi(settings.booking_api_url,
                               transport=self.fake_booking.transport() if self.fake_booking else None),
            store=self.store,
            twilio=TwilioRest(self.twilio.url, self.twilio.account_sid, self.twilio.auth_token),
        )
        self.bridge = BridgeServer(settings, deps)
        port = await self.bridge.start()
        self.url = f"ws://127.0.0.1:{port}/ws/twilio-stream"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for caller in self.callers.values():
            await caller.close()
        if self.bridge is not None:
            await self.bridge.close()
        await self.model.close()
        await self.twilio.close()
        if self.redis_url:
            with contextlib.suppress(Exception):  # e.g. a test of a Redis outage
                await self._delete_keys()
        await self.store.aclose()

    async def _delete_keys(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        try:
            keys = [k async for k in client.scan_iter(match=f"{self.redis_prefix}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    async def _twilio_ends_stream(self, update: CallUpdate) -> None:
        caller = self.callers.get(update.call_sid)
        if caller is not None:
            await caller.stop()

    def token(self, call_sid: str, restaurant_id: str | None = None, caller: str = "+15551230000",
              ttl: int = 60, now: float | None = None) -> str:
        from frontdesk_contract.stream_token import issue_stream_token

        return issue_stream_token(STREAM_SECRET, restaurant_id or self.restaurant_id, call_sid, caller,
                                  now if now is not None else time.time(), ttl)

    async def call(self, *, restaurant_id: str | None = None, caller_number: str = "+15551230000",
                   token: str | None = None, greet: bool = True) -> tuple[TwilioCaller, FakeRealtimeSession]:
        """A caller connected and started; returns it with the model session (greeting not yet spoken)."""
        n = next(_calls)
        call_sid = f"CA{uuid.uuid4().hex}"
        caller = TwilioCaller(self.url, call_sid=call_sid, stream_sid=f"MZ{uuid.uuid4().hex}")
        self.callers[call_sid] = caller
        await caller.connect()
        rid = restaurant_id or self.restaurant_id
        await caller.start(token or self.token(call_sid, rid, caller_number), rid, caller_number)
        session = await self.model.next_session()
        if greet:
            await session.wait_for("response.create")
        del n
        return caller, session

    async def record(self, call_sid: str) -> Any:
        return await self.store.load(call_sid)

    async def wait_record(self, call_sid: str, predicate: Any, within: float = 5.0) -> Any:
        deadline = time.monotonic() + within
        while True:
            record = await self.store.load(call_sid)
            if record is not None and predicate(record):
                return record
            if time.monotonic() > deadline:
                raise TimeoutError(f"call record never matched: {record}")
            await asyncio.sleep(0.02)


def run(coro: Any, timeout: float = 30.0) -> Any:
    """Run one async scenario from a sync test, with a hard ceiling."""
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())
