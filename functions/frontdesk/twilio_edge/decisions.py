"""What the Twilio webhooks decide, as pure functions. Standard library and the contract package only.

The one promise behind every rule here: a restaurant's phone never goes dead. A call is streamed to the AI
only when everything needed for that is in place; otherwise it goes to the restaurant's failover number; and
when there is no number to go to, the caller hears a short sentence before the line closes — never silence.

* :func:`answer` — ``/twilio/voice``: stream to the AI, ``<Dial>`` the failover number (agent switched off,
  outside its hours, or the stream cannot be set up), or say why not and hang up (unknown number).
* :func:`after_stream` — ``/twilio/after-stream`` when the stream ends: hang up when the bridge marked the
  call completed (:func:`frontdesk_contract.call_record.after_stream_action`), otherwise say a line and dial.
* :func:`after_dial` — the same URL is the ``action`` of every failover ``<Dial>``: when nobody answered, the
  caller hears so (and the call is never dialled again: no loops).
* :func:`final_outcome` — which outcome a finished call is recorded with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk.twilio_edge import phrases
from frontdesk_contract.call_record import CallOutcome, CallRecord, CallState, after_stream_action

__all__ = [
    "DIAL_ANSWERED",
    "TERMINAL_STATUSES",
    "Action",
    "CallRoute",
    "Reply",
    "after_dial",
    "after_stream",
    "agent_answers",
    "answer",
    "final_outcome",
    "reservation_of",
]

#: Twilio ``CallStatus`` values after which nothing more happens on a call.
TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
#: ``DialCallStatus`` values meaning somebody at the restaurant picked up.
DIAL_ANSWERED = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class CallRoute:
    """The restaurant a Twilio number belongs to, as far as answering its calls is concerned.
    ``agent_opens``/``agent_closes``: local times the AI answers between (both None: always)."""

    restaurant_id: UUID
    name: str
    timezone: str
    failover_number: str | None
    agent_enabled: bool
    agent_opens: time | None = None
    agent_closes: time | None = None


class Action(StrEnum):
    STREAM = "stream"          # <Connect><Stream> to the bridge
    DIAL = "dial"              # [<Say>] <Dial> the failover number
    SAY_HANGUP = "say_hangup"  # <Say> then <Hangup/>
    HANGUP = "hangup"          # <Hangup/>


@dataclass(frozen=True)
class Reply:
    """One webhook answer. ``outcome``: what to record for the call (None keeps what is recorded)."""

    action: Action
    say: str | None = None
    number: str | None = None
    outcome: CallOutcome | None = None
    why: str = ""


def agent_answers(route: CallRoute, now: datetime) -> bool:
    """Is the AI switched on, and is ``now`` inside its optional local hours (``opens`` inclusive,
    ``closes`` exclusive; ``closes`` at or before ``opens`` runs past midnight)?"""
    if not route.agent_enabled:
        return False
    opens, closes = route.agent_opens, route.agent_closes
    if opens is None or closes is None:
        return True
    try:
        local = now.astimezone(ZoneInfo(route.timezone)).time().replace(tzinfo=None)
    except ZoneInfoNotFoundError:
        local = now.astimezone(UTC).time().replace(tzinfo=None)
    if opens < closes:
        return opens <= local < closes
    return local >= opens or local < closes


def _dial_or_say(route: CallRoute | None, say: str | None, apology_no_one: str, outcome: CallOutcome,
                 why: str) -> Reply:
    if route is not None and route.failover_number:
        return Reply(Action.DIAL, say=say, number=route.failover_number, outcome=outcome, why=why)
    return Reply(Action.SAY_HANGUP, say=apology_no_one,
                 outcome=outcome if outcome is not CallOutcome.TRANSFERRED else CallOutcome.FAILED,
                 why=f"{why}; no failover number")


def answer(route: CallRoute | None, now: datetime, *, can_stream: bool) -> Reply:
    """``/twilio/voice``. ``can_stream``: a stream token can be issued and the bridge URL is configured."""
    if route is None:
        return Reply(Action.SAY_HANGUP, say=phrases.NOT_IN_SERVICE, outcome=CallOutcome.FAILED,
                     why="unknown number")
    if not route.agent_enabled:
        return _dial_or_say(route, None, phrases.CANNOT_TAKE_CALL, CallOutcome.TRANSFERRED, "agent switched off")
    if not agent_answers(route, now):
        return _dial_or_say(route, None, phrases.CANNOT_TAKE_CALL, CallOutcome.TRANSFERRED,
                            "outside agent hours")
    if not can_stream:
        return _dial_or_say(route, None, phrases.CANNOT_TAKE_CALL, CallOutcome.TRANSFERRED,
                            "stream cannot be set up")
    return Reply(Action.STREAM, why="agent answers")


def after_stream(record: CallRecord | None, route: Callable[[], CallRoute | None]) -> Reply:
    """``/twilio/after-stream``. ``record``: the bridge's record (None when missing, unreadable or Redis is
    down — all of which mean "send the caller to a person"). ``route`` is only called when a number to dial
    is needed, so a call that ended normally never waits on the database."""
    if after_stream_action(record) == "hangup":
        assert record is not None
        return Reply(Action.HANGUP, outcome=record.outcome, why="bridge completed the call")
    requested = (record is not None and record.state is CallState.TRANSFER
                 and record.outcome is CallOutcome.TRANSFERRED)
    outcome = record.outcome if record is not None and record.outcome is not None else CallOutcome.TRANSFERRED
    why = ("transfer requested" if requested else
           "no call record" if record is None else f"bridge state {record.state.value}")
    return _dial_or_say(route(), phrases.CONNECTING if requested else phrases.APOLOGY_CONNECTING,
                        phrases.APOLOGY_NO_ONE, outcome, why)


def after_dial(dial_status: str) -> Reply:
    """The failover ``<Dial>`` finished. Answered → hang up; anything else → say so and hang up."""
    if dial_status in DIAL_ANSWERED:
        return Reply(Action.HANGUP, why="restaurant answered")
    return Reply(Action.SAY_HANGUP, say=phrases.NOBODY_ANSWERED, why=f"failover dial {dial_status}")


def final_outcome(status: str, record: CallRecord | None) -> CallOutcome | None:
    """The outcome to record with a call status: the bridge's when it has one; for a call that ended before
    anyone spoke (busy, no answer, cancelled) ``abandoned``; a failed call ``failed``; else keep."""
    if record is not None and record.outcome is not None:
        return record.outcome
    if status in ("busy", "no-answer", "canceled"):
        return CallOutcome.ABANDONED
    if status == "failed":
        return CallOutcome.FAILED
    return None


def reservation_of(record: CallRecord | None) -> UUID | None:
    """The reservation a call is linked to: the last one it booked, changed or cancelled."""
    if record is None:
        return None
    for candidate in reversed(record.reservation_ids):
        try:
            return UUID(candidate)
        except ValueError:
            continue
    return None
