"""The Twilio webhooks in-process (httpx over ASGI) on real PostgreSQL and Redis: a per-test database (a clone
of the migrated template, Demo Bistro on +15555550100) and Redis prefix. Settings are explicit; nothing reads or
changes the process environment. A settable clock drives token expiry and agent hours."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis

from frontdesk.adapters.calls import PostgresCallStore
from frontdesk.api import twilio
from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.twilio_edge.runtime import TwilioEdge
from frontdesk.wiring import Services
from frontdesk_contract.call_record import RECORD_TTL_SECONDS, CallRecord, call_record_key, encode_call_record
from tests.integration.twilio.twilio_sim import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BRIDGE_PUBLIC_URL,
    PUBLIC_BASE_URL,
    STREAM_SECRET,
    TwilioSim,
)
from tests.support.databases import REDIS_URL, TestDatabase

DEAD_POSTGRES = "postgresql://app_user@127.0.0.1:1/nowhere?connect_timeout=1"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    """Unix seconds, moved by the test."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def set_utc(self, when: datetime) -> None:
        self.now = when.astimezone(UTC).timestamp()


def twilio_settings(database_url: str, redis_prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url, "redis_url": REDIS_URL, "redis_key_prefix": redis_prefix,
        "public_base_url": PUBLIC_BASE_URL, "bridge_public_url": BRIDGE_PUBLIC_URL,
        "twilio_auth_token": AUTH_TOKEN, "twilio_account_sid": ACCOUNT_SID, "stream_token_secret": STREAM_SECRET,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class TwilioStack:
    """One app serving the Twilio routes, what it runs on, and a signed Twilio to talk to it."""

    client: httpx.AsyncClient
    sim: TwilioSim
    edge: TwilioEdge
    app: Any
    clock: Clock
    settings: Settings
    database: TestDatabase | None
    redis_prefix: str

    @property
    def demo_id(self) -> str:
        assert self.database is not None
        return str(self.database.scalar("SELECT id FROM restaurants WHERE slug = 'demo-bistro'"))

    def write_record(self, call_sid: str, record: CallRecord | bytes) -> None:
        """What the bridge does: the call-outcome record, encoded by the contract module, under the prefix."""
        raw = record if isinstance(record, bytes) else encode_call_record(record)
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.set(call_record_key(call_sid, self.redis_prefix), raw, ex=RECORD_TTL_SECONDS)
        finally:
            client.close()

    def call_row(self, call_sid: str) -> dict[str, Any] | None:
        assert self.database is not None
        with self.database.connect() as conn:
            cur = conn.execute("SELECT * FROM calls WHERE call_sid = %s", [call_sid])
            row = cur.fetchone()
            if row is None:
                return None
            assert cur.description is not None
            return dict(zip([c.name for c in cur.description], row, strict=True))

    def history(self, call_sid: str) -> list[str]:
        assert self.database is not None
        return [r[0] for r in self.database.rows(
            "SELECT e.status FROM call_status_events e JOIN calls c ON c.id = e.call_id"
            " WHERE c.call_sid = %s ORDER BY e.at, e.received_at", [call_sid])]


StackFactory = Callable[..., Any]


class _Stacks:
    """Builds stacks and closes everything they opened."""

    def __init__(self, database: TestDatabase | None, redis_prefix: str) -> None:
        self.database = database
        self.redis_prefix = redis_prefix
        self.opened: list[tuple[httpx.AsyncClient, TwilioEdge, Services]] = []

    async def make(self, *, database_url: str | None = None, clock: Clock | None = None,
                   fetch: Callable[..., str] | None = None, route_clock: Clock | None = None,
                   **overrides: Any) -> TwilioStack:
        url = database_url or (self.database.app_url if self.database is not None else DEAD_POSTGRES)
        settings = twilio_settings(url, self.redis_prefix, **overrides)
        services = Services(settings)
        app = create_app(routers=[twilio.router], services=services)
        the_clock = clock or Clock()
        options: dict[str, Any] = {"clock": the_clock}
        if fetch is not None:
            options["fetch"] = fetch
        if route_clock is not None:  # the routing cache's own (monotonic) clock, for stale-cache tests
            options["calls"] = lambda: PostgresCallStore(url, clock=route_clock)
        edge = TwilioEdge.from_settings(settings, **options)
        app.state.twilio_edge = edge
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        self.opened.append((client, edge, services))
        return TwilioStack(client=client, sim=TwilioSim(client), edge=edge, app=app, clock=the_clock,
                           settings=settings, database=self.database, redis_prefix=self.redis_prefix)

    async def close(self) -> None:
        for client, edge, services in self.opened:
            await client.aclose()
            edge.close()
            services.store.close()


@pytest.fixture
async def make_stack(database: TestDatabase, redis_prefix: str) -> AsyncIterator[StackFactory]:
    """Build an app over this test's database and Redis prefix with settings overridden per call."""
    stacks = _Stacks(database, redis_prefix)
    try:
        yield stacks.make
    finally:
        await stacks.close()


@pytest.fixture
async def stack(make_stack: StackFactory) -> TwilioStack:
    return await make_stack()  # type: ignore[no-any-return]


@pytest.fixture
async def offline_stack(redis_prefix: str) -> AsyncIterator[TwilioStack]:
    """A stack with no database at all: for requests refused before anything is looked up."""
    stacks = _Stacks(None, redis_prefix)
    try:
        yield await stacks.make()
    finally:
        await stacks.close()
