"""SMS outbox benchmark: what the outbox trigger adds to a commit, and how fast senders drain the outbox into
the fake Twilio REST server (the real ``twilio`` client over HTTP on 127.0.0.1). Prints figures; asserts
nothing.

    python bench/sms_outbox.py --commits 400
Environment: FRONTDESK_TEST_PG_URL (admin URL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]  # this checkout's code, whatever is installed

from frontdesk.adapters.outbox_pg import PostgresOutboxStore  # noqa: E402
from frontdesk.adapters.sms_twilio import TwilioSmsGateway  # noqa: E402
from frontdesk.core.notifications import NotificationSender  # noqa: E402
from frontdesk.db.migrate import migrate, seed  # noqa: E402
from tests.doubles.fake_twilio_rest import FakeTwilioRest, serve_in_thread  # noqa: E402
from tests.support.databases import (  # noqa: E402
    RestaurantSpec,
    TestDatabase,
    create_database,
    create_restaurant,
    drop_database,
    unique_name,
)

TRIGGER = "reservations_enqueue_sms"


def commits(db: TestDatabase, restaurant: object, count: int, first_day: int) -> list[float]:
    """Milliseconds per commit_reservation_v1 call, as app_user, one connection."""
    base = datetime.now(ZoneInfo("America/New_York")).replace(hour=0, minute=0, second=0, microsecond=0)
    took = []
    with psycopg.connect(db.app_url, autocommit=True, prepare_threshold=None) as conn:
        for i in range(count):
            start = (base + timedelta(days=first_day + i // 40, minutes=30 * (i % 40))).astimezone(UTC)
            began = time.perf_counter()
            conn.execute("SELECT commit_reservation_v1(%s, %s, 2, 'Ana', %s, '', 'staff', NULL, NULL, NULL,"
                         " 'bench')", [restaurant, start, f"+1212{first_day:03d}{i:04d}"])
            took.append((time.perf_counter() - began) * 1000)
    return sorted(took)


def figures(label: str, took: list[float]) -> None:
    p99 = took[int(0.99 * len(took))]
    print(f"  {label:<22} n={len(took)}  p50 {statistics.median(took):.2f} ms  p99 {p99:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=400, help="commits per run (default 400)")
    args = parser.parse_args()
    logging.disable(logging.ERROR)
    name = unique_name("smsbench")
    create_database(name)
    try:
        db = TestDatabase(name)
        migrate(db.admin_url)
        seed(db.admin_url)
        restaurant = create_restaurant(db, RestaurantSpec(
            slug="bench", twilio_number="+15555550142", max_covers_present=10**6, max_parties_present=10**6,
            max_covers_starting=10**6, hours={d: [(wall(0), wall(23, 45))] for d in range(1, 8)}))
        print("commit_reservation_v1, with and without the outbox trigger (alternating runs):")
        day = 2
        for run in range(2):
            for enabled in (False, True):
                with db.connect() as conn:
                    conn.execute(f"ALTER TABLE reservations {'ENABLE' if enabled else 'DISABLE'} TRIGGER {TRIGGER}")
                figures(f"{'with' if enabled else 'without'} trigger, run {run + 1}", commits(db, restaurant,
                                                                                         args.commits, day))
                day += args.commits // 40 + 1
        total = db.scalar("SELECT count(*) FROM notification_outbox")
        print(f"draining {total} outbox rows into the fake Twilio REST server:")
        with serve_in_thread(FakeTwilioRest()) as fake:
            for senders in (1, 4):
                with db.connect() as conn:
                    conn.execute("UPDATE notification_outbox SET status = 'pending', attempts = 0, provider_sid = NULL,"
                                 " sent_at = NULL")
                store = PostgresOutboxStore(db.app_url, max_size=senders * 2)
                before = len(fake.messages)
                workers = [NotificationSender(store, TwilioSmsGateway(
                    account_sid=fake.account_sid, auth_token=lambda: fake.auth_token, base_url=fake.url))
                    for _ in range(senders)]
                threads = [threading.Thread(target=w.deliver_due, kwargs={"max_batches": 10**6}) for w in workers]
                began = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                elapsed = time.perf_counter() - began
                sent = len(fake.messages) - before
                marked = db.scalar("SELECT count(*) FROM notification_outbox WHERE status = 'sent'")
                print(f"  {senders} sender(s): {sent} SMS in {elapsed:.2f} s = {sent / elapsed:.0f}/s; "
                      f"rows marked sent {marked}; Twilio requests beyond one per row {sent - marked}")
                store.close()
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
