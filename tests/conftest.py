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
