"""The call-outcome record: the ONE place its format is defined.

The realtime bridge writes it; the ``/twilio/after-stream`` webhook (Twilio calls it when the
``<Connect>`` stream ends) reads it to decide between ``<Hangup/>`` and dialling the restaurant's
failover number. The bridge also keeps the conversation facts it needs to resume a call (hold, name,
party size) in it, so a model reconnect can pick up where the call was.

Storage
    Redis key ``{prefix}call:{call_sid}`` (see :func:`call_record_key`; ``prefix`` is the
    ``REDIS_KEY_PREFIX`` setting, default ``"fd:"``). Value: one UTF-8 JSON object (a plain ``SET`` with
    ``EX`` :data:`RECORD_TTL_SECONDS`, one day), written whole each time so a reader never sees half an
    update.

Fields (JSON object, version ``"v": 1``)
    ``state``            ``"active"`` (call in progress), ``"completed"`` (ended normally: hang up) or
                         ``"transfer"`` (send to a human).
    ``outcome``          ``null`` while active; then one of ``booked | cancelled | modified | info |
                         transferred | abandoned | failed`` (the same vocabulary as the ``calls`` table).
    ``reason``           short machine-readable why (``"end_call"``, ``"caller_hung_up"``,
                         ``"transfer_requested"``, ``"dtmf_0"``, ``"model_lost"``, ``"max_duration"``,
                         ``"idle"``, ``"shutdown"``, ``"error"``, …) or ``null``.
    ``reservation_ids``  list of reservation UUID strings booked, modified or cancelled on this call.
    ``hold_id``          the current hold's id or ``null``.
    ``restaurant_id``    the restaurant's UUID string.
    ``updated_at``       ISO 8601 UTC timestamp of the write (``2026-11-27T10:00:00.123456+00:00``).
    ``call_sid``, ``caller``                     optional strings.
    ``context``          optional object of resume facts (guest name, party size, held date/time …);
                         free-form for the bridge, ignored by the webhook.

Decoders ignore unknown fields (forward compatible) and reject records whose ``state`` or ``outcome``
is outside the vocabulary (:class:`CallRecordError`). :func:`after_stream_action` is the whole decision
the webhook needs: no record, an unreadable one, or any state but ``completed`` → ``"dial_failover"``
(a restaurant's phone never goes dead because a record is missing).

Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "DEFAULT_PREFIX",
    "RECORD_TTL_SECONDS",
    "RECORD_VERSION",
    "CallOutcome",
    "CallRecord",
    "CallRecordError",
    "CallState",
    "after_stream_action",
    "call_record_key",
    "decode_call_record",
    "encode_call_record",
]

RECORD_VERSION = 1
RECORD_TTL_SECONDS = 24 * 3600
DEFAULT_PREFIX = "fd:"


class CallState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    TRANSFER = "transfer"


class CallOutcome(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    MODIFIED = "modified"
    INFO = "info"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"
    FAILED = "failed"


class CallRecordError(ValueError):
    """The stored bytes are not a call-outcome record."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    state: CallState
    restaurant_id: str
    outcome: CallOutcome | None = None
    reason: str | None = None
    reservation_ids: tuple[str, ...] = ()
    hold_id: str | None = None
    updated_at: str = ""
    call_sid: str | None = None
    caller: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def call_record_key(call_sid: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Redis key of a call's record: ``{prefix}call:{call_sid}``."""
    return f"{prefix}call:{call_sid}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def encode_call_record(record: CallRecord) -> bytes:
    """Serialise ``record`` to the stored JSON; ``updated_at`` is stamped now when left empty."""
    body: dict[str, Any] = {
        "v": RECORD_VERSION,
        "state": CallState(record.state).value,
        "outcome": CallOutcome(record.outcome).value if record.outcome is not None else None,
        "reason": record.reason,
        "reservation_ids": list(record.reservation_ids),
        "hold_id": record.hold_id,
        "restaurant_id": record.restaurant_id,
        "updated_at": record.updated_at or _now_iso(),
    }
    if record.call_sid is not None:
        body["call_sid"] = record.call_sid
    if record.caller is not None:
        body["caller"] = record.caller
    if record.context:
        body["context"] = record.context
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _opt_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    raise CallRecordError(f"{name} must be a string or null")


def decode_call_record(raw: bytes | str) -> CallRecord:
    """Parse stored bytes into a :class:`CallRecord`; raise :class:`CallRecordError` if they are not one."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallRecordError("call record is not JSON") from exc
    if not isinstance(obj, dict):
        raise CallRecordError("call record is not an object")
    state_raw = obj.get("state")
    if not isinstance(state_raw, str):
        raise CallRecordError("state must be a string")
    try:
        state = CallState(state_raw)
        outcome_raw = obj.get("outcome")
        outcome = CallOutcome(outcome_raw) if outcome_raw is not None else None
    except ValueError as exc:
        raise CallRecordError(str(exc)) from exc
    ids = obj.get("reservation_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise CallRecordError("reservation_ids must be a list of strings")
    restaurant_id = obj.get("restaurant_id")
    if not isinstance(restaurant_id, str):
        raise CallRecordError("restaurant_id must be a string")
    context = obj.get("context") or {}
    if not isinstance(context, dict):
        raise CallRecordError("context must be an object")
    return CallRecord(
        state=state,
        outcome=outcome,
        reason=_opt_str(obj, "reason"),
        reservation_ids=tuple(ids),
        hold_id=_opt_str(obj, "hold_id"),
        restaurant_id=restaurant_id,
        updated_at=_opt_str(obj, "updated_at") or "",
        call_sid=_opt_str(obj, "call_sid"),
        caller=_opt_str(obj, "caller"),
        context=context,
    )


def after_stream_action(record: CallRecord | None) -> Literal["hangup", "dial_failover"]:
    """What ``/twilio/after-stream`` does: hang up only when the bridge marked the call completed."""
    if record is not None and record.state is CallState.COMPLETED:
        return "hangup"
    return "dial_failover"
