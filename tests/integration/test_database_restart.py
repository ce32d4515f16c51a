"""A real PostgreSQL restart, on a private cluster this test may stop (the shared server is never touched):
the process keeps its BookingService and carries on once the server is back."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from frontdesk.adapters.postgres import PostgresBookingStore
from frontdesk.adapters.redis_holds import RedisHoldStore
from frontdesk.core.booking import BookingService, SlotRequest
from frontdesk.core.errors import DatabaseUnavailable
from frontdesk.core.model import Guest
from frontdesk.db.migrate import migrate, seed
from tests.support.databases import REDIS_URL
from tests.support.dates import next_weekday


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"{name} is required for the restart test (PostgreSQL server binaries)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_postgres() -> Iterator[tuple[int, Callable[[str], None]]]:
    """(port, pg_ctl) of a throwaway cluster; PostgreSQL refuses root, so under root it runs as `postgres`."""
    root = Path(tempfile.mkdtemp(prefix="fd-restart-", dir="/tmp"))
    root.chmod(0o755)  # the server user must reach its data; nothing secret lives here
    data = root / "data"
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    port = _free_port()
    subprocess.run([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"], check=True,
                   stdout=subprocess.DEVNULL, cwd=root, **run_as)

    def pg_ctl(action: str) -> None:
        subprocess.run([_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-m", "fast", action,
                        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, cwd=root, **run_as)

    pg_ctl("start")
    try:
        yield port, pg_ctl
    finally:
        subprocess.run([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root, **run_as)
        shutil.rmtree(root, ignore_errors=True)


def test_the_booking_service_carries_on_after_postgresql_restarts_and_says_so_while_it_is_down(
    private_postgres: tuple[int, Callable[[str], None]], redis_prefix: str
) -> None:
    port, pg_ctl = private_postgres
    migrate(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    seed(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    store = PostgresBookingStore(f"postgresql://app_user@127.0.0.1:{port}/postgres", max_size=2)
    service = BookingService(store, RedisHoldStore.from_url(REDIS_URL, prefix=redis_prefix))
    day = next_weekday(3)

    def book(hour: int, n: int) -> None:
        held = service.check_and_hold("demo-bistro", SlotRequest(2, local_date=day, local_time=time(hour)))
        service.commit(held.hold.hold_id, Guest(f"Guest {n}", f"+1212555{n:04d}"))

    try:
        book(18, 1)
        pg_ctl("restart")  # every pooled connection is now dead
        book(19, 2)
        pg_ctl("stop")
        for _ in range(3):  # callers keep trying through the outage; each gets a clear answer within seconds
            with pytest.raises(DatabaseUnavailable):  # a 503 for the API, an apology from the bridge
                service.check_and_hold("demo-bistro", SlotRequest(2, local_date=day, local_time=time(20)))
        pg_ctl("start")  # the very next booking must work: no waiting out a reconnect backoff
        book(20, 3)
        assert len(service.list_for_date("demo-bistro", day)) == 3
    finally:
        store.close()
