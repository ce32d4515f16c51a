"""Engine benchmark: bookings (hold + commit) through the use cases on real PostgreSQL and Redis, then
pgbench's built-in TPC-B-like load on the same server as the baseline. Prints figures; asserts nothing.

    make bench-engine                      # or: python bench/engine.py --seconds 10
Environment: FRONTDESK_BENCH_PG_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres),
FRONTDESK_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from datetime import time as wall
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADMIN_URL = os.environ.get("FRONTDESK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRONTDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RESTAURANTS = 200
PROCESSES = 2  # one per core: the GIL would otherwise be the thing measured

OVER_CAP = """
SELECT count(*) FROM (
  SELECT DISTINCT r0.restaurant_id, b.bucket
    FROM reservations r0
    CROSS JOIN LATERAL bucket_state_v1(r0.restaurant_id, r0.service_date, fd_bucket_floor(lower(r0.during)),
                                       fd_bucket_ceil(upper(r0.during)), NULL) b
   WHERE r0.status IN ('confirmed', 'seated')
     AND (b.covers_present > b.max_covers_present OR b.parties_present > b.max_parties_present
          OR b.covers_starting > b.max_covers_starting)) x
"""


def url_for(database: str, user: str = "postgres") -> str:
    parts = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    parts.update(dbname=database, user=user)
    return psycopg.conninfo.make_conninfo(**parts)


def prepare(database: str) -> list[str]:
    from frontdesk.db.migrate import migrate

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    migrate(url_for(database))
    ids = []
    with psycopg.connect(url_for(database)) as conn:
        for n in range(RESTAURANTS + 1):
            hot = n == RESTAURANTS
            rid = conn.execute(
                "INSERT INTO restaurants (slug, name, timezone, min_notice_minutes) VALUES (%s, %s, %s, 0)"
                " RETURNING id", [f"bench-{n}", f"Bench {n}", "America/New_York"]).fetchone()[0]
            conn.execute("INSERT INTO operating_hours (restaurant_id, weekday, opens, closes)"
                         " SELECT %s, d, '17:00', '23:00' FROM generate_series(1, 7) d", [rid])
            caps = (100_000, 100_000, 100_000) if hot else (40, 10, 16)
            conn.execute("INSERT INTO capacity_rules (restaurant_id, max_covers_present, max_parties_present,"
                         " max_covers_starting) VALUES (%s, %s, %s, %s)", [rid, *caps])
            conn.execute("INSERT INTO turn_times (restaurant_id, min_party, max_party, minutes)"
                         " VALUES (%s, 1, 2, 90), (%s, 3, 100, 120)", [rid, rid])
            ids.append(str(rid))
    return ids


def client_process(database: str, prefix: str, restaurants: list[str], hot: str | None, threads: int,
                   seconds: float, seed: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from frontdesk.adapters.postgres import PostgresBookingStore
    from frontdesk.adapters.redis_holds import RedisHoldStore
    from frontdesk.core.booking import BookingService, SlotRequest
    from frontdesk.core.errors import FrontDeskError, SlotUnavailable
    from frontdesk.core.model import Guest

    store = PostgresBookingStore(url_for(database, "app_user"), max_size=threads)
    service = BookingService(store, RedisHoldStore.from_url(REDIS_URL, prefix=prefix))
    first_day = date.today() + timedelta(days=2)
    for r in restaurants:  # warm the restaurant cache outside the timed window
        service.restaurant(r)
    samples: list[tuple[float, float]] = []
    counts = {"booked": 0, "refused": 0, "errors": 0}
    lock = threading.Lock()
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds

    def run(worker: int) -> None:
        rng = random.Random(seed * 1000 + worker)
        local: list[tuple[float, float]] = []
        mine = {"booked": 0, "refused": 0, "errors": 0}
        n = 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while time.monotonic() < stop_at:
            n += 1
            phone = f"+1{2 + seed}{worker:03d}{n:06d}"
            if hot:
                restaurant, day, at = hot, first_day, wall(19)
            else:
                restaurant = rng.choice(restaurants)
                day = first_day + timedelta(days=rng.randrange(60))
                at = wall(17 + rng.randrange(5), rng.choice((0, 15, 30, 45)))
            t0 = time.perf_counter()
            try:
                held = service.check_and_hold(restaurant, SlotRequest(2, local_date=day, local_time=at))
                t1 = time.perf_counter()
                service.commit(held.hold.hold_id, Guest("Bench", phone))
                t2 = time.perf_counter()
                local.append((t1 - t0, t2 - t1))
                mine["booked"] += 1
            except SlotUnavailable:
                mine["refused"] += 1
            except FrontDeskError:
                mine["errors"] += 1
        with lock:
            samples.extend(local)
            for k, v in mine.items():
                counts[k] += v

    workers = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    store.close()
    out.put((samples, counts))


def run_load(database: str, restaurants: list[str], clients: int, seconds: float, hot: str | None) -> dict:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    per = [clients // PROCESSES + (1 if i < clients % PROCESSES else 0) for i in range(PROCESSES)]
    procs = [ctx.Process(target=client_process, args=(database, prefix, restaurants, hot, n, seconds, i, queue))
             for i, n in enumerate(per) if n]
    deadlocks_before = deadlocks(database)
    for p in procs:
        p.start()
    samples, counts = [], {"booked": 0, "refused": 0, "errors": 0}
    for _ in procs:
        s, c = queue.get()
        samples += s
        for k in counts:
            counts[k] += c[k]
    for p in procs:
        p.join()
    totals = sorted(h + c for h, c in samples)
    commits = sorted(c for _, c in samples)
    holds = sorted(h for h, _ in samples)
    return {"clients": clients, "commits_per_s": counts["booked"] / seconds, **counts,
            "booking_p50": pct(totals, 50), "booking_p99": pct(totals, 99),
            "hold_p50": pct(holds, 50), "hold_p99": pct(holds, 99),
            "commit_p50": pct(commits, 50), "commit_p99": pct(commits, 99),
            "deadlocks": deadlocks(database) - deadlocks_before}


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000


def deadlocks(database: str) -> int:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        return int(conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s",
                                [database]).fetchone()[0])


def pgbench(database: str, clients: int, seconds: float) -> float:
    exe = shutil.which("pgbench")
    if exe is None:
        return float("nan")
    parts = psycopg.conninfo.conninfo_to_dict(url_for(database))
    args = [exe, "-h", parts.get("host", "127.0.0.1"), "-p", str(parts.get("port", 5432)), "-U", "postgres"]
    result = subprocess.run([*args, "-c", str(clients), "-j", "2", "-T", str(int(seconds)), database],
                            capture_output=True, text=True, check=True)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", result.stdout)
    return float(match.group(1)) if match else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    database = f"fd_bench_{uuid.uuid4().hex[:8]}"
    baseline_db = f"{database}_pgbench"
    print(f"engine benchmark: {os.cpu_count()} cores, {args.seconds:.0f} s per run, {RESTAURANTS} restaurants")
    try:
        restaurants = prepare(database)
        hot = restaurants.pop()
        results = [run_load(database, restaurants, c, args.seconds, None) for c in (8, 50)]
        hot_result = run_load(database, restaurants, 50, args.seconds, hot)
        with psycopg.connect(url_for(database)) as conn:
            over = conn.execute(OVER_CAP).fetchone()[0]

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(baseline_db)))
        parts = psycopg.conninfo.conninfo_to_dict(url_for(baseline_db))
        subprocess.run(["pgbench", "-h", parts.get("host", "127.0.0.1"), "-p", str(parts.get("port", 5432)),
                        "-U", "postgres", "-i", "-s", "10", "-q", baseline_db],
                       check=True, capture_output=True)
        baseline = {c: pgbench(baseline_db, c, args.seconds) for c in (8, 50)}

        print()
        print(f"{'run':<22}{'commits/s':>10}{'booked':>8}{'refused':>8}{'errors':>7}{'hold p50':>10}"
              f"{'hold p99':>10}{'commit p50':>11}{'commit p99':>11}{'total p99':>10}{'deadlocks':>10}")
        for name, r in [("spread, 8 clients", results[0]), ("spread, 50 clients", results[1]),
                        ("hot slot, 50 clients", hot_result)]:
            print(f"{name:<22}{r['commits_per_s']:>10.0f}{r['booked']:>8}{r['refused']:>8}{r['errors']:>7}"
                  f"{r['hold_p50']:>8.1f}ms{r['hold_p99']:>8.1f}ms{r['commit_p50']:>9.1f}ms"
                  f"{r['commit_p99']:>9.1f}ms{r['booking_p99']:>8.1f}ms{r['deadlocks']:>10}")
        print()
        for r in results:
            tps = baseline[r["clients"]]
            print(f"pgbench TPC-B-like (scale 10), {r['clients']:>2} clients: {tps:8.0f} tps;"
                  f"  ours / pgbench = {r['commits_per_s'] / tps:.2f}")
        print(f"overbooked buckets found afterwards: {over}")
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for name in (database, baseline_db):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
