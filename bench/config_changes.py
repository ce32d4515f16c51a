"""Configuration-change benchmark: how long a capacity, hours or special-day change takes (stranding check
included, as app_user through the 0007 functions) on a restaurant with many future bookings. A change holds
the restaurant's configuration lock for that long, so bookings wait that long. Prints figures; asserts nothing.

    python bench/config_changes.py --bookings 10000
Environment: FRONTDESK_BENCH_PG_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

ADMIN_URL = os.environ.get("FRONTDESK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PER_DAY = 50


def url_for(database: str, user: str = "postgres") -> str:
    parts = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    parts.update(dbname=database, user=user)
    return psycopg.conninfo.make_conninfo(**parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from frontdesk.db.migrate import migrate, seed

    name = f"fd_bench_config_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        migrate(url_for(name))
        seed(url_for(name))
        days = max(1, args.bookings // PER_DAY)
        with psycopg.connect(url_for(name), autocommit=True) as conn:
            rid = conn.execute("SELECT id FROM restaurants WHERE slug = 'demo-bistro'").fetchone()[0]  # type: ignore[index]
            conn.execute("UPDATE capacity_rules SET max_covers_present = 1000, max_parties_present = 1000,"
                         " max_covers_starting = 1000 WHERE restaurant_id = %s", [rid])
            conn.execute(
                "INSERT INTO reservations (restaurant_id, service_date, during, party_size, guest_name, guest_phone,"
                " channel) SELECT %(r)s, d::date, tstzrange("
                "  (d::date + time '17:00' + (g %% 16) * interval '15 min') AT TIME ZONE 'America/New_York',"
                "  (d::date + time '19:00' + (g %% 16) * interval '15 min') AT TIME ZONE 'America/New_York'),"
                "  2, 'Bench', '+1' || (2000000000 + g * 1000 + (d::date - current_date))::text, 'staff'"
                " FROM generate_series(current_date + 1, current_date + %(days)s, interval '1 day') d,"
                "      generate_series(1, %(per)s) g", {"r": rid, "days": days, "per": PER_DAY})
            booked = conn.execute("SELECT count(*) FROM reservations").fetchone()[0]  # type: ignore[index]
        cases = {
            "capacity rule (nothing stranded)": (
                "SELECT add_capacity_rule_v1(%s, NULL, 3, NULL, NULL, 900, 900, 900, 'bench', false);"
                "SELECT remove_capacity_rule_v1(%s, (SELECT max(id) FROM capacity_rules), 'bench', false)", 2),
            "capacity rule (Fridays stranded, forced)": (
                "SELECT add_capacity_rule_v1(%s, NULL, 5, NULL, NULL, 5, 900, 900, 'bench', true);"
                "SELECT remove_capacity_rule_v1(%s, (SELECT max(id) FROM capacity_rules), 'bench', true)", 2),
            "weekly hours of one day": (
                "SELECT set_weekly_hours_v1(%s, '{\"2\": [[\"16:00\", \"23:00\"]]}', 'bench', false);"
                "SELECT set_weekly_hours_v1(%s, '{\"2\": [[\"17:00\", \"22:00\"]]}', 'bench', false)", 2),
            "one-week closure (forced)": (
                "SELECT add_special_day_v1(%s, current_date + 30, current_date + 36, true, NULL, NULL, '', 'bench',"
                " true); SELECT remove_special_day_v1(%s, (SELECT max(id) FROM special_days), 'bench', true)", 2),
        }
        print(f"{booked} future bookings over {days} days, as app_user; each change and its undo, "
              f"{args.repeat} times (median per statement)")
        with psycopg.connect(url_for(name, "app_user"), autocommit=True) as conn:
            for label, (statements, _) in cases.items():
                timings = []
                for _ in range(args.repeat):
                    for statement in statements.split(";"):
                        if statement.strip():
                            started = time.perf_counter()
                            conn.execute(statement, [rid])
                            timings.append((time.perf_counter() - started) * 1000)
                print(f"  {label:45s} {statistics.median(timings):8.1f} ms")
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
