"""The call-outcome record (frontdesk_contract.call_record) and the after-stream decision."""

from __future__ import annotations

import json

import pytest

from frontdesk_contract.call_record import (
    CallOutcome,
    CallRecord,
    CallRecordError,
    CallState,
    after_stream_action,
    call_record_key,
    decode_call_record,
    encode_call_record,
)


def test_the_key_is_the_prefix_then_call_then_the_call_sid() -> None:
    assert call_record_key("CA1") == "fd:call:CA1"
    assert call_record_key("CA1", "x:") == "x:call:CA1"


def test_a_record_round_trips_with_every_contract_field() -> None:
    record = CallRecord(state=CallState.COMPLETED, outcome=CallOutcome.BOOKED, reason="end_call",
                        reservation_ids=("r1",), hold_id=None, restaurant_id="rest", call_sid="CA1",
                        caller="+1555", context={"guest_name": "Ana"})
    raw = encode_call_record(record)
    body = json.loads(raw)
    assert {"state", "outcome", "reason", "reservation_ids", "hold_id", "restaurant_id", "updated_at"} <= set(body)
    decoded = decode_call_record(raw)
    assert decoded.state is CallState.COMPLETED and decoded.outcome is CallOutcome.BOOKED
    assert decoded.reservation_ids == ("r1",) and decoded.context == {"guest_name": "Ana"}
    assert decoded.updated_at


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    raw = json.dumps({"state": "transfer", "outcome": "failed", "restaurant_id": "r", "new_field": 1})
    assert decode_call_record(raw).state is CallState.TRANSFER


@pytest.mark.parametrize("raw", ["nope", "[]", '{"state":"weird","restaurant_id":"r"}',
                                 '{"state":"active","outcome":"great","restaurant_id":"r"}',
                                 '{"state":"active"}', '{"state":"active","restaurant_id":"r","reservation_ids":[1]}'])
def test_garbage_is_not_a_record(raw: str) -> None:
    with pytest.raises(CallRecordError):
        decode_call_record(raw)


@pytest.mark.parametrize(("state", "outcome", "action"), [
    (CallState.COMPLETED, CallOutcome.BOOKED, "hangup"),
    (CallState.COMPLETED, CallOutcome.ABANDONED, "hangup"),
    (CallState.TRANSFER, CallOutcome.TRANSFERRED, "dial_failover"),
    (CallState.TRANSFER, CallOutcome.FAILED, "dial_failover"),
    (CallState.ACTIVE, None, "dial_failover"),
])
def test_after_stream_hangs_up_only_for_a_completed_call(state: CallState, outcome: CallOutcome | None,
                                                         action: str) -> None:
    assert after_stream_action(CallRecord(state=state, outcome=outcome, restaurant_id="r")) == action


def test_no_record_means_dial_the_failover_number() -> None:
    assert after_stream_action(None) == "dial_failover"


def test_the_contract_package_uses_only_the_standard_library() -> None:
    import subprocess
    import sys

    code = ("import sys, frontdesk_contract; "
            "bad=[m for m in ('pydantic','redis','orjson','websockets','httpx','frontdesk','frontdesk_bridge') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
