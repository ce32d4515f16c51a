"""Retention: settled outbox rows (they hold guests' numbers and names) are deleted once older than the
retention period, in bounded batches, through ``prune_notification_outbox_v1``; unsettled rows never are."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.core.booking import BookingService
from frontdesk.core.errors import InvalidRequest
from frontdesk.core.notifications import RetentionPolicy, prune_outbox
from tests.integration.sms.conftest import book, outbox_rows
from tests.support.databases import TestDatabase

#: status -> what the row's CHECK constraints need alongside it
SETTLE = {
    "pending": "status = 'pending'",
    "sending": "status = 'sending', claim_token = gen_random_uuid(), lease_until = now() + interval '1 minute'",
    "sent": "status = 'sent', sent_at = created_at, provider_sid = 'SM' || replace(id::text, '-', '')",
    "failed": "status = 'failed', last_error = 'Twilio 400 error 21211'",
    "suppressed": "status = 'suppressed'",
}


def outbox_of(booking: BookingService, database: TestDatabase, rows: list[tuple[str, int]]) -> list[Any]:
    """One message per (status, age in days), as it would look after that long (set as the owner)."""
    ids = []
    for i, (status, days) in enumerate(rows):
        book(booking, f"+121255503{i:02d}", hour=18 + i % 4, weeks=1 + i)
        row_id = outbox_rows(database)[-1]["id"]
        database.scalar("UPDATE notification_outbox SET created_at = now() - make_interval(days => %s), "
                        "next_attempt_at = now() - make_interval(days => %s) WHERE id = %s RETURNING 1",
                        [days, days, row_id])
        database.scalar(f"UPDATE notification_outbox SET {SETTLE[status]} WHERE id = %s RETURNING 1", [row_id])
        ids.append(row_id)
    return ids


def remaining(database: TestDatabase) -> set[Any]:
    return {r["id"] for r in outbox_rows(database)}


def test_old_settled_messages_are_pruned_and_pending_sending_and_recent_ones_kept(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore) -> None:
    old_sent, old_failed, old_suppressed, old_pending, old_sending, recent_sent, edge_failed = outbox_of(
        booking, database, [("sent", 200), ("failed", 91), ("suppressed", 120), ("pending", 400),
                            ("sending", 300), ("sent", 10), ("failed", 89)])
    assert prune_outbox(outbox, RetentionPolicy(days=90)) == 3
    assert remaining(database) == {old_pending, old_sending, recent_sent, edge_failed}
    assert prune_outbox(outbox, RetentionPolicy(days=90)) == 0  # nothing left to do: a second run is a no-op
    assert {old_sent, old_failed, old_suppressed}.isdisjoint(remaining(database))


def test_pruning_goes_in_bounded_batches_and_stops_after_its_budget(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore) -> None:
    outbox_of(booking, database, [("sent", 100 + i) for i in range(8)] + [("pending", 100)])
    assert outbox.prune(90, 3) == 3  # one statement deletes at most its batch
    assert len(outbox_rows(database)) == 6
    # A run of at most two batches of two leaves the rest for the next sweep.
    assert prune_outbox(outbox, RetentionPolicy(days=90, batch=2, max_batches=2)) == 4
    assert [r["status"] for r in outbox_rows(database)] == ["sent", "pending"]
    assert prune_outbox(outbox, RetentionPolicy(days=90, batch=2, max_batches=5)) == 1
    assert [r["status"] for r in outbox_rows(database)] == ["pending"]


def test_age_counts_from_the_last_thing_that_happened_to_a_message(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore) -> None:
    sent_late, receipt_late, old = outbox_of(booking, database, [("sent", 200), ("sent", 200), ("sent", 200)])
    database.scalar("UPDATE notification_outbox SET sent_at = now() - interval '2 days' WHERE id = %s RETURNING 1",
                    [sent_late])
    database.scalar("UPDATE notification_outbox SET delivery_status = 'delivered', delivered_at = now(),"
                    " delivery_updated_at = now() - interval '1 day' WHERE id = %s RETURNING 1", [receipt_late])
    assert prune_outbox(outbox, RetentionPolicy(days=90)) == 1
    assert remaining(database) == {sent_late, receipt_late}
    assert old not in remaining(database)


def test_pruning_stops_when_the_caller_runs_out_of_time(
        booking: BookingService, database: TestDatabase, outbox: PostgresOutboxStore) -> None:
    outbox_of(booking, database, [("failed", 100 + i) for i in range(4)])
    assert prune_outbox(outbox, RetentionPolicy(days=90, batch=1), keep_going=lambda: False) == 1
    assert len(outbox_rows(database)) == 3


def test_the_api_role_cannot_delete_outbox_rows_except_through_the_pruner(
        booking: BookingService, database: TestDatabase) -> None:
    outbox_of(booking, database, [("sent", 200)])
    with psycopg.connect(database.app_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM notification_outbox")
    with psycopg.connect(database.app_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE notification_outbox SET delivery_status = 'delivered'")
    assert len(outbox_rows(database)) == 1


@pytest.mark.parametrize(("days", "batch"), [(0, 10), (-5, 10), (3651, 10), (90, 0), (90, 10001), (None, 10)])
def test_the_pruner_refuses_out_of_range_arguments(
        outbox: PostgresOutboxStore, days: Any, batch: int) -> None:
    with pytest.raises(InvalidRequest):
        outbox.prune(days, batch)


def test_a_retention_policy_of_zero_days_is_refused_before_reaching_the_database(
        outbox: PostgresOutboxStore) -> None:
    with pytest.raises(InvalidRequest):
        prune_outbox(outbox, RetentionPolicy(days=0))
