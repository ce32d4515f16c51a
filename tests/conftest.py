"""Shared fixtures: real PostgreSQL and Redis (see tests/support/databases.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from frontdesk.db.migrate import migrate, seed
from tests.support.databases import (
    RestaurantSpec,
    TestDatabase,
    create_database,
    create_restaurant,
    drop_database,
    iter_prefix_cleanup,
    unique_name,
)


@pytest.fixture(scope="session")
def template_database() -> Iterator[str]:
    """Migrated and seeded once per run; every test database is a clone of it."""
    name = unique_name("template")
    create_database(name)
    try:
        template = TestDatabase(name)
        migrate(template.admin_url)
        seed(template.admin_url)
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def database(template_database: str) -> Iterator[TestDatabase]:
    name = unique_name("db")
    create_database(name, template=template_database)
    try:
        yield TestDatabase(name)
    finally:
        drop_database(name)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    yield from iter_prefix_cleanup(f"{unique_name('redis')}:")


@pytest.fixture
def booking(database: TestDatabase, redis_prefix: str) -> Iterator[object]:
    """The use cases on real adapters, connected as the least-privileged app_user."""
    from frontdesk.adapters.postgres import PostgresBookingStore
    from frontdesk.adapters.redis_holds import RedisHoldStore
    from frontdesk.core.booking import BookingService
    from tests.support.databases import REDIS_URL

    store = PostgresBookingStore(database.app_url, max_size=20, restaurant_cache_seconds=0)
    holds = RedisHoldStore.from_url(REDIS_URL, prefix=redis_prefix)
    try:
        yield BookingService(store, holds, hold_ttl=timedelta(seconds=300))
    finally:
        store.close()


@pytest.fixture
def make_restaurant(database: TestDatabase) -> Callable[..., UUID]:
    counter = iter(range(1000))

    def make(**overrides: object) -> UUID:
        spec = RestaurantSpec(slug=f"test-{next(counter)}", **overrides)  # type: ignore[arg-type]
        return create_restaurant(database, spec)

    return make


# -- booking_api: the real HTTP API served by uvicorn (appended by the booking-API issue) -----------------

@pytest.fixture
def booking_api(database: TestDatabase, redis_prefix: str) -> Iterator[object]:
    """The REAL app (every route) under uvicorn in a background thread on a free 127.0.0.1 port, over this
    test's database (as app_user) and its own Redis prefix. Yields ``.url`` (no trailing slash),
    ``.redis_url``, ``.redis_prefix``, ``.database_url`` (admin, for assertions), ``.restaurant_id`` and
    ``.restaurant_slug`` (demo-bistro). Settings are passed explicitly; the process environment is
    untouched."""
    import socket
    import threading
    import time as _time
    from dataclasses import dataclass

    import uvicorn

    from frontdesk.api.app import create_app
    from frontdesk.config import Settings
    from frontdesk.wiring import Services
    from tests.support.databases import REDIS_URL

    @dataclass(frozen=True)
    class BookingApiServer:
        url: str
        redis_url: str
        redis_prefix: str
        database_url: str
        restaurant_id: str
        restaurant_slug: str

    settings = Settings(database_url=database.app_url, redis_url=REDIS_URL, redis_key_prefix=redis_prefix,
                        database_pool_max=20)
    services = Services(settings)
    app = create_app(services=services)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"booking-api-{port}",
                              daemon=True)
    thread.start()
    deadline = _time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or _time.monotonic() > deadline:
            raise RuntimeError("the booking API did not start")
        _time.sleep(0.02)
    restaurant_id = database.scalar("SELECT id FROM restaurants WHERE slug = 'demo-bistro'")
    try:
        yield BookingApiServer(url=f"http://127.0.0.1:{port}", redis_url=REDIS_URL, redis_prefix=redis_prefix,
                               database_url=database.admin_url, restaurant_id=str(restaurant_id),
                               restaurant_slug="demo-bistro")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        services.store.close()
