"""Everything the bridge itself puts into words, in one place.

* :func:`problem_phrase` maps a booking-API refusal (its ``reason``) to one short sentence the model can
  say as is; :func:`unavailable_phrase` covers "the API could not answer".
* The Twilio-spoken lines (``<Say>``) used when the model cannot speak: transfer apology, idle goodbye.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

__all__ = [
    "APOLOGY_TRANSFER",
    "HOST_TRANSFER",
    "IDLE_GOODBYE",
    "problem_phrase",
    "speak_date",
    "speak_time",
    "unavailable_phrase",
]

APOLOGY_TRANSFER = "I'm sorry, I'm having trouble on my end. Let me connect you with someone at the restaurant."
HOST_TRANSFER = "Connecting you with someone at the restaurant now. Please hold."
IDLE_GOODBYE = "It seems we've lost each other. Thanks for calling, goodbye."

_REASONS: dict[str, str] = {
    "closed": "We're closed at that time.",
    "blackout": "We're not taking reservations at that time.",
    "full": "We're fully booked at that time.",
    "party_too_large": "That party is larger than we can book by phone.",
    "too_soon": "That's too soon for us to book.",
    "too_far": "That's further ahead than we take bookings.",
    "too_far_ahead": "That's further ahead than we take bookings.",
    "in_the_past": "That time has already passed.",
    "past": "That time has already passed.",
    "nonexistent_local_time": "That time doesn't exist on that day because of the clock change.",
    "duplicate": "There's already a booking for this phone number around that time.",
    "duplicate_booking": "There's already a booking for this phone number around that time.",
    "hold_expired": "The table I was holding has been released.",
    "hold_unknown": "The table I was holding has been released.",
    "hold_used": "That hold has already been booked.",
    "capacity": "That time just filled up.",
    "capacity_gone": "That time just filled up.",
    "not_found": "I couldn't find that reservation.",
    "already_cancelled": "That reservation is already cancelled.",
    "cancelled": "That reservation is cancelled.",
}


def problem_phrase(reason: str, status: int = 409) -> str:
    if reason in _REASONS:
        return _REASONS[reason]
    if status == 404:
        return "I couldn't find that."
    if status == 409:
        return "That time isn't available."
    return "I couldn't do that with those details."


def unavailable_phrase() -> str:
    return "Our booking system isn't answering right now."


def speak_time(hhmm: str) -> str:
    """``"19:00"`` → ``"7 PM"``, ``"19:30"`` → ``"7:30 PM"``; anything else is returned unchanged."""
    try:
        t = time.fromisoformat(hhmm)
    except (TypeError, ValueError):
        return hhmm
    hour = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def speak_date(iso: str) -> str:
    """``"2026-12-05"`` → ``"Saturday, December 5"``."""
    try:
        d = date.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    return f"{d:%A}, {d:%B} {d.day}"


def spoken_hours(restaurant: dict[str, Any], limit: int = 7) -> list[tuple[str, str]]:
    """(local date, how to say that day's hours) for the restaurant's next ``limit`` service dates."""
    days = []
    for h in (restaurant.get("hours") or [])[:limit]:
        if not isinstance(h, dict):
            continue
        d = str(h.get("local_date", ""))
        if h.get("closed"):
            said = f"{speak_date(d)}: closed" + (f", {h['reason']}" if h.get("reason") else "")
        else:
            said = f"{speak_date(d)}: {speak_time(str(h.get('opens')))} to {speak_time(str(h.get('closes')))}"
        days.append((d, said))
    return days
