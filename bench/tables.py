"""Tables benchmark: the engine load of bench/engine.py (hold + commit through the use cases, parties of 2,
spread over 60 days and 20 start times) against restaurants with a floor plan and restaurants without, in
the same run on the same database. Prints figures; asserts nothing.

    python bench/tables.py --seconds 10
Same environment as bench/engine.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import ADMIN_URL, OVER_CAP, prepare, run_load, url_for

# A small room: four 2-tops, four 4-tops, two 6-tops, and two pairs that can be pushed together.
FLOOR = [(f"T2-{n}", 1, 2) for n in range(4)] + [(f"T4-{n}", 2, 4) for n in range(4)] + \
        [(f"T6-{n}", 4, 6) for n in range(2)]
COMBINATIONS = [("T4-0+T4-1", ["T4-0", "T4-1"], 6, 8), ("T6-0+T6-1", ["T6-0", "T6-1"], 9, 12)]


def furnish(database: str, restaurants: list[str]) -> None:
    with psycopg.connect(url_for(database), autocommit=True) as conn:
        for rid in restaurants:
            for name, low, high in FLOOR:
                conn.execute("SELECT add_dining_table_v1(%s, %s, '', %s, %s, true, 'bench')", [rid, name, low, high])
            for name, members, low, high in COMBINATIONS:
                conn.execute("SELECT add_table_combination_v1(%s, %s, %s, %s, %s, true, 'bench')",
                             [rid, name, members, low, high])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    database = f"fd_bench_tables_{uuid.uuid4().hex[:8]}"
    print(f"tables benchmark: {os.cpu_count()} cores, {args.seconds:.0f} s per run")
    try:
        restaurants = prepare(database)
        restaurants.pop()  # the hot one: its huge caps make no sense with ten tables
        half = len(restaurants) // 2
        plain, furnished = restaurants[:half], restaurants[half:]
        furnish(database, furnished)
        runs = []
        for clients in (8, 50):  # alternate, so neither side always runs on a warmer cache
            runs.append((f"no tables, {clients} clients", run_load(database, plain, clients, args.seconds, None)))
            runs.append((f"10 tables, {clients} clients",
                         run_load(database, furnished, clients, args.seconds, None)))
        with psycopg.connect(url_for(database)) as conn:
            over = conn.execute(OVER_CAP).fetchone()[0]
            double = conn.execute(
                "SELECT count(*) FROM reservation_tables a JOIN reservation_tables b"
                "  ON a.table_id = b.table_id AND a.reservation_id < b.reservation_id AND a.during && b.during"
                " WHERE a.live AND b.live").fetchone()[0]
            assigned = conn.execute("SELECT count(DISTINCT reservation_id) FROM reservation_tables").fetchone()[0]
        print()
        print(f"{'run':<24}{'commits/s':>10}{'booked':>8}{'refused':>8}{'errors':>7}{'hold p50':>10}"
              f"{'hold p99':>10}{'commit p50':>11}{'commit p99':>11}{'deadlocks':>10}")
        for name, r in runs:
            print(f"{name:<24}{r['commits_per_s']:>10.0f}{r['booked']:>8}{r['refused']:>8}{r['errors']:>7}"
                  f"{r['hold_p50']:>8.1f}ms{r['hold_p99']:>8.1f}ms{r['commit_p50']:>9.1f}ms"
                  f"{r['commit_p99']:>9.1f}ms{r['deadlocks']:>10}")
        print(f"\nbookings with tables: {assigned}; tables given twice at once: {double}; "
              f"overbooked buckets: {over}")
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    main()
