"""The app in-process over httpx's ASGI transport, on real PostgreSQL and Redis (per-test database and
Redis prefix). Settings are explicit; nothing reads or changes the process environment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from frontdesk.api.app import create_app
from frontdesk.config import Settings
from frontdesk.wiring import Services
from tests.support.databases import REDIS_URL, TestDatabase

DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_POSTGRES = "postgresql://app_user@127.0.0.1:1/nowhere?connect_timeout=1"
PHONE = "+12125550123"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_services(database_url: str, redis_prefix: str, redis_url: str = REDIS_URL, **overrides: Any) -> Services:
    return Services(Settings(database_url=database_url, redis_url=redis_url, redis_key_prefix=redis_prefix,
                             **overrides))


@pytest.fixture
def services(database: TestDatabase, redis_prefix: str) -> Iterator[Services]:
    built = make_services(database.app_url, redis_prefix)
    try:
        yield built
    finally:
        built.store.close()


def client_for(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services=services)),
                             base_url="http://testserver")


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(services) as c:
        yield c


@pytest.fixture
def demo_id(database: TestDatabase) -> str:
    return str(database.scalar("SELECT id FROM restaurants WHERE slug = 'demo-bistro'"))


def weekday_ahead(iso_weekday: int = 2, at_least_days: int = 7) -> date:
    """A date of that weekday (ISO, Tuesday by default) at least a week ahead: inside every horizon."""
    day = date.today() + timedelta(days=at_least_days)
    while day.isoweekday() != iso_weekday:
        day += timedelta(days=1)
    return day


def assert_problem(response: httpx.Response, status: int, reason: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with our extensions, and nothing that looks like a stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert {"type", "title", "status", "detail", "reason", "instance", "request_id"} <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    if reason is not None:
        assert body["reason"] == reason, body
    if status == 409:
        assert isinstance(body["alternates"], list)
    return body  # type: ignore[no-any-return]
