"""Load on the booking API over HTTP: simulated callers doing check + commit, then an overbooking audit.

A fresh database is created, migrated and seeded (demo-bistro); ``frontdesk serve`` runs it under uvicorn
(one worker) in its own process with its own Redis key prefix. Each simulated caller behaves like a phone
call handled by the voice agent: check a start (one of the next ``--days`` days, 17:00-21:00 local, party
2-6), and when it is held, "ask for the name" (think time) and commit; then the next call. Buckets are
contended, so some answers are 409 with alternates (the heavier path). Two modes per level:

* callers — with think time (``--think`` seconds, uniform): 50 and 200 concurrent callers;
* saturation — the same callers with no think time at all: what one worker can take (latency is then
  mostly queueing, by Little's law).

Every run gets a fresh database, Redis prefix and server, so each starts from the same empty calendar.
Prints requests/s and p50/p99 per route (all answers, 2xx only, 409 only), and the overbookings found by an
independent SQL audit of every bucket (must be 0). No assertions; exits 0. Cleans up its databases and keys.

Usage: ``python bench/api_load.py [--levels 50 200] [--seconds 15] [--think 0.5 1.5] [--no-saturation]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("FRONTDESK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRONTDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

# Every UTC 15-minute bucket that any live reservation touches, its load recomputed from the rows, and the
# caps of the restaurant's default rule (demo-bistro has only that one).
OVERBOOKED_BUCKETS = """
WITH live AS (SELECT * FROM reservations WHERE status IN ('confirmed', 'seated')),
buckets AS (
    SELECT DISTINCT restaurant_id, g AS bucket
      FROM live, generate_series(date_bin('15 minutes', lower(during), timestamptz '2000-01-01'),
                                 upper(during) - interval '1 microsecond', interval '15 minutes') AS g),
load AS (
    SELECT b.restaurant_id, b.bucket, sum(r.party_size) AS covers_present, count(*) AS parties_present,
           coalesce(sum(r.party_size) FILTER (WHERE lower(r.during) >= b.bucket
                                                AND lower(r.during) < b.bucket + interval '15 minutes'), 0)
               AS covers_starting
      FROM buckets b JOIN live r
        ON r.restaurant_id = b.restaurant_id AND r.during && tstzrange(b.bucket, b.bucket + interval '15 minutes')
     GROUP BY b.restaurant_id, b.bucket)
SELECT count(*) FROM load l JOIN capacity_rules c
    ON c.restaurant_id = l.restaurant_id AND c.on_date IS NULL AND c.weekday IS NULL AND c.local_from IS NULL
 WHERE l.covers_present > c.max_covers_present OR l.parties_present > c.max_parties_present
    OR l.covers_starting > c.max_covers_starting
"""


def _url(database: str, user: str = "postgres") -> str:
    parts = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    parts.update(dbname=database, user=user)
    if user != "postgres":
        parts.pop("password", None)
    return psycopg.conninfo.make_conninfo(**parts)


def create_database() -> str:
    from frontdesk.db.migrate import migrate, seed

    name = f"fd_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate(_url(name))
    seed(_url(name))
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database: str, prefix: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": _url(database, "app_user"), "REDIS_URL": REDIS_URL,
           "REDIS_KEY_PREFIX": prefix, "DATABASE_POOL_MAX": "10", "STAGE": "dev"}
    for name in ("DATABASE_SECRET_ARN", "REDIS_AUTH_SECRET_ARN"):
        env.pop(name, None)
    cli = shutil.which("frontdesk", path=str(Path(sys.executable).parent))
    command = [cli, "serve", "--host", "127.0.0.1", "--port", str(port)] if cli else \
        [sys.executable, "-c", f"from frontdesk.api.app import serve; serve('127.0.0.1', {port})"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/readiness", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit("frontdesk serve did not become ready")


class Recorder:
    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[float, int]]] = defaultdict(list)  # route -> (ms, status)

    def add(self, route: str, status: int, seconds: float) -> None:
        self.samples[route].append((seconds * 1000, status))


async def timed(client: httpx.AsyncClient, recorder: Recorder, route: str, path: str,
                body: dict[str, Any]) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.post(path, json=body)
    except httpx.HTTPError:
        recorder.add(route, 599, time.perf_counter() - started)  # transport failure, counted apart
        return None
    recorder.add(route, response.status_code, time.perf_counter() - started)
    return response


async def caller(client: httpx.AsyncClient, recorder: Recorder, n: int, stop_at: float, rng: random.Random,
                 restaurant_id: str, days: int, think: tuple[float, float]) -> None:
    attempt = 0
    first_day = date.today() + timedelta(days=1)

    async def pause() -> None:
        if think[1] > 0:
            await asyncio.sleep(rng.uniform(*think))

    await pause()  # callers do not all ring at the same instant
    while time.monotonic() < stop_at:
        attempt += 1
        day = first_day + timedelta(days=rng.randrange(days))
        minutes = 17 * 60 + 15 * rng.randrange(17)
        slot = {"restaurant_id": restaurant_id, "local_date": day.isoformat(),
                "local_time": f"{minutes // 60:02d}:{minutes % 60:02d}", "party_size": rng.randint(2, 6)}
        phone = f"+1{rng.randint(200, 999)}{n:03d}{attempt % 10000:04d}"[:16]
        held = await timed(client, recorder, "POST /availability/check", "/api/v1/availability/check", slot)
        if held is None or held.status_code != 200:
            await pause()
            continue
        hold = held.json()
        await pause()  # the agent asks for the name
        if hold["hold_id"] is None:
            body = {**slot, "guest_name": f"Caller {n}", "guest_phone": phone}
        else:
            body = {"hold_id": hold["hold_id"], "guest_name": f"Caller {n}", "guest_phone": phone}
        await timed(client, recorder, "POST /reservations/commit", "/api/v1/reservations/commit", body)
        await pause()


async def run_level(base_url: str, callers: int, seconds: float, restaurant_id: str, seed: int, days: int,
                    think: tuple[float, float]) -> Recorder:
    recorder = Recorder()
    limits = httpx.Limits(max_connections=callers, max_keepalive_connections=callers)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        stop_at = time.monotonic() + seconds
        rng = random.Random(seed)
        await asyncio.gather(*(caller(client, recorder, n, stop_at, random.Random(rng.random()), restaurant_id,
                                      days, think) for n in range(callers)))
    return recorder


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(title: str, seconds: float, recorder: Recorder) -> None:
    total = sum(len(v) for v in recorder.samples.values())
    print(f"\n{title}, {seconds:.0f} s: {total} requests, {total / seconds:.0f} req/s")
    print(f"  {'route':28} {'answers':>8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for route in sorted(recorder.samples):
        samples = recorder.samples[route]
        counts: dict[int, int] = defaultdict(int)
        for _, status in samples:
            counts[status] += 1
        for label, chosen in (("all", samples), ("2xx", [x for x in samples if x[1] < 300]),
                              ("409", [x for x in samples if x[1] == 409])):
            if not chosen:
                continue
            values = [ms for ms, _ in chosen]
            statuses = ", ".join(f"{s}: {c}" for s, c in sorted(counts.items())) if label == "all" else ""
            print(f"  {route + ' ' + label:28} {len(values):8d} {len(values) / seconds:7.0f}"
                  f" {percentile(values, 0.5):8.1f} {percentile(values, 0.99):8.1f}  {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--think", type=float, nargs=2, default=[0.5, 1.5], metavar=("MIN", "MAX"))
    parser.add_argument("--days", type=int, default=30, help="spread starts over this many days")
    parser.add_argument("--no-saturation", action="store_true", help="skip the no-think-time runs")
    args = parser.parse_args()
    think = (args.think[0], args.think[1])

    runs = [(f"{level} concurrent callers (think {think[0]}-{think[1]} s)", level, args.seconds, think)
            for level in args.levels]
    if not args.no_saturation:
        runs += [(f"saturation: {level} concurrent callers, no think time", level, max(5.0, args.seconds / 2),
                  (0.0, 0.0)) for level in args.levels]
    print(f"booking API load: frontdesk serve (uvicorn, 1 worker), a fresh database and Redis prefix per run, "
          f"{os.cpu_count()} CPUs shared by server, PostgreSQL, Redis and this load generator")
    total_booked = total_over = 0
    for title, level, seconds, pace in runs:
        booked, over = run_on_fresh_stack(title, level, seconds, pace, args.days)
        total_booked += booked
        total_over += over
    print(f"\noverbookings found in all runs (buckets over any cap, {total_booked} reservations audited): "
          f"{total_over}")


def run_on_fresh_stack(title: str, level: int, seconds: float, think: tuple[float, float],
                       days: int) -> tuple[int, int]:
    """One run on its own database and Redis prefix, so every level starts from the same empty calendar."""
    database = create_database()
    prefix = f"fd_bench_{uuid.uuid4().hex[:8]}:"
    port = free_port()
    server = start_server(database, prefix, port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        restaurant_id = httpx.get(f"{base_url}/api/v1/restaurants/demo-bistro").json()["id"]
        asyncio.run(run_level(base_url, 10, 1, restaurant_id, 0, days, (0.0, 0.0)))  # warm-up: pools, caches
        recorder = asyncio.run(run_level(base_url, level, seconds, restaurant_id, level, days, think))
        report(title, seconds, recorder)
        with psycopg.connect(_url(database)) as conn:
            booked_row = conn.execute("SELECT count(*) FROM reservations WHERE status = 'confirmed'").fetchone()
            over_row = conn.execute(OVERBOOKED_BUCKETS).fetchone()
        booked, over = int(booked_row[0]) if booked_row else 0, int(over_row[0]) if over_row else 0
        print(f"  reservations confirmed: {booked}; overbookings found (buckets over any cap): {over}")
        return booked, over
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        drop_database(database)

if __name__ == "__main__":
    main()
