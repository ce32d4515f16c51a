"""The SMS backlog the sweep reports to CloudWatch (what the on-call alarm watches), read on real PostgreSQL as
app_user: messages in every state of the outbox, placed there the way senders and the clock would."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from frontdesk.adapters.outbox_pg import PostgresOutboxStore
from frontdesk.core.booking import BookingService
from frontdesk.core.notifications import OutboxBacklog
from tests.integration.sms.conftest import book
from tests.support.databases import TestDatabase


def _set(database: TestDatabase, reservation_id: UUID, assignments: str) -> None:
    """Put a reservation's outbox rows in a state (as the database owner: app_user cannot write the outbox)."""
    with database.connect() as conn:
        updated = conn.execute(f"UPDATE notification_outbox SET {assignments} WHERE reservation_id = %s",
                               [reservation_id]).rowcount
    assert updated >= 1


def test_an_empty_outbox_has_no_backlog(outbox: PostgresOutboxStore) -> None:
    assert outbox.backlog() == OutboxBacklog(due=0, unsent=0, oldest_unsent_seconds=0.0)


def test_the_backlog_counts_due_and_unsent_messages_and_ages_the_oldest_unsent_one(
        booking: BookingService, outbox: PostgresOutboxStore, database: TestDatabase) -> None:
    phones = iter(f"+1212555{3000 + i:04d}" for i in range(20))

    def reservation(hour: int, weeks: int = 1) -> UUID:
        return book(booking, next(phones), hour=hour, weeks=weeks).id

    backing_off = reservation(17)  # pending, retry not yet due, written 30 minutes ago: the oldest unsent
    _set(database, backing_off, "created_at = now() - interval '30 minutes', attempts = 1,"
                                " next_attempt_at = now() + interval '5 minutes'")
    due_now = reservation(18)  # pending and due (just written)
    queued_behind = reservation(19)  # due, and its reservation changed: the change waits for it
    booking.modify(queued_behind, party_size=3)
    dead_sender = reservation(20)  # leased by a sender that died: due again
    _set(database, dead_sender, "status = 'sending', claim_token = gen_random_uuid(), attempts = 1,"
                                " lease_until = now() - interval '1 second'")
    in_flight = reservation(21)  # leased by a live sender: unsent, not due
    _set(database, in_flight, "status = 'sending', claim_token = gen_random_uuid(), attempts = 1,"
                              " lease_until = now() + interval '1 minute'")
    # Settled messages, however old, are no backlog.
    for hour, (status, extra) in enumerate((("sent", ", sent_at = now()"), ("failed", ""), ("suppressed", ""))):
        settled = reservation(18 + hour, weeks=2)
        _set(database, settled, f"status = '{status}', created_at = now() - interval '2 hours'{extra}")
        booking.cancel(settled)  # its cancellation message is unsent: count it below
        _set(database, settled, "next_attempt_at = now() + interval '1 hour'")

    backlog = outbox.backlog()

    assert backlog.due == 3  # due_now, queued_behind's confirmation, dead_sender
    assert backlog.unsent == 9  # those, the queued change, the backing-off one, the in-flight one, 3 cancellations
    assert 30 * 60 <= backlog.oldest_unsent_seconds < 30 * 60 + 60
    # "Due" is exactly what a sender would claim now.
    claimed = outbox.claim(500, timedelta(seconds=30))
    assert {m.reservation_id for m in claimed} == {due_now, queued_behind, dead_sender}
    assert len(claimed) == backlog.due


def test_the_backlog_drains_as_messages_settle(
        booking: BookingService, outbox: PostgresOutboxStore, database: TestDatabase) -> None:
    first = book(booking, "+12125550101", hour=18).id
    book(booking, "+12125550102", hour=19)
    _set(database, first, "created_at = now() - interval '12 minutes'")
    before = outbox.backlog()
    assert (before.due, before.unsent) == (2, 2) and before.oldest_unsent_seconds >= 12 * 60
    for message in outbox.claim(500, timedelta(seconds=30)):
        assert outbox.finish(message, "sent", provider_sid=f"SM{message.id.hex}")
    assert outbox.backlog() == OutboxBacklog(due=0, unsent=0, oldest_unsent_seconds=0.0)


@pytest.mark.parametrize("minutes", [0, 11])
def test_the_age_is_measured_from_when_the_change_was_written_not_from_the_last_attempt(
        booking: BookingService, outbox: PostgresOutboxStore, database: TestDatabase, minutes: int) -> None:
    reservation = book(booking).id
    _set(database, reservation, f"created_at = now() - make_interval(mins => {minutes}), attempts = 3,"
                                " next_attempt_at = now() - interval '1 second'")
    backlog = outbox.backlog()
    assert backlog.due == 1 and minutes * 60 <= backlog.oldest_unsent_seconds < minutes * 60 + 60
