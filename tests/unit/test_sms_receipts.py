"""Delivery receipts and retention in the core: what a Twilio status means, which errors are opt-outs, and how
pruning is batched (a small fake store; the SQL state machine is tested on PostgreSQL in tests/integration/sms)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

import pytest

from frontdesk.core.notifications import (
    DELIVERY_STATUSES,
    TWILIO_MESSAGE_STATUSES,
    DeliveryOutcome,
    DeliveryReceipt,
    DeliveryStatus,
    RetentionPolicy,
    TwilioMessageStatus,
    prune_outbox,
    record_receipt,
)

SID = "SM" + "0" * 32


@dataclass
class FakeDeliveryStore:
    outcome: DeliveryOutcome = "recorded"
    settled: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)

    def record_delivery(self, message_sid: str, status: DeliveryStatus, *, error: str | None, opted_out: bool,
                        actor: str) -> DeliveryOutcome:
        self.calls.append({"sid": message_sid, "status": status, "error": error, "opted_out": opted_out,
                           "actor": actor})
        return self.outcome

    def prune(self, older_than_days: int, batch: int) -> int:
        deleted = min(batch, self.settled)
        self.settled -= deleted
        self.batches.append(deleted)
        return deleted


def test_every_twilio_message_status_maps_onto_one_of_the_five_delivery_states() -> None:
    assert set(TWILIO_MESSAGE_STATUSES) == set(get_args(TwilioMessageStatus))
    assert set(TWILIO_MESSAGE_STATUSES.values()) == set(DELIVERY_STATUSES)


@pytest.mark.parametrize(("code", "opted_out"), [(21610, True), (30004, True), (30003, False), (30008, False),
                                                 (None, False)])
def test_only_unsubscribed_and_blocked_errors_count_as_opt_outs(code: int | None, opted_out: bool) -> None:
    assert DeliveryReceipt(SID, "undelivered", code).opted_out is opted_out


def test_an_error_is_kept_only_for_a_message_that_did_not_arrive() -> None:
    assert DeliveryReceipt(SID, "undelivered", 30003).error == "Twilio error 30003"
    assert DeliveryReceipt(SID, "failed").error == "Twilio: failed"
    assert DeliveryReceipt(SID, "delivered", 0).error is None
    assert DeliveryReceipt(SID, "sent", 30003).error is None


def test_a_receipt_is_handed_to_the_store_with_its_state_error_and_opt_out() -> None:
    store = FakeDeliveryStore()
    assert record_receipt(store, DeliveryReceipt(SID, "canceled", 21610)) == "recorded"
    assert store.calls == [{"sid": SID, "status": "failed", "error": "Twilio error 21610", "opted_out": True,
                            "actor": "twilio:21610"}]


def test_pruning_repeats_full_batches_and_stops_at_the_first_short_one() -> None:
    store = FakeDeliveryStore(settled=7)
    assert prune_outbox(store, RetentionPolicy(days=90, batch=3, max_batches=10)) == 7
    assert store.batches == [3, 3, 1]


def test_pruning_stops_after_its_budget_of_batches() -> None:
    store = FakeDeliveryStore(settled=100)
    assert prune_outbox(store, RetentionPolicy(days=90, batch=10, max_batches=3)) == 30
    assert store.settled == 70


def test_the_default_retention_is_ninety_days() -> None:
    from frontdesk.config import Settings

    assert RetentionPolicy().days == 90 == Settings().sms_retention_days
