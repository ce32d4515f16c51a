"""The booking tools the model may call, and their execution against the booking HTTP API.

Arguments are in the restaurant's local terms (``date`` ``YYYY-MM-DD``, ``time`` ``HH:MM``). Every path
returns a small JSON-able result the model can speak from — refusals carry a short ``message`` and the
``alternates`` — and :meth:`ToolExecutor.run` never raises: a failure becomes words, never silence.
The per-call facts worth keeping across a model reconnect live in :class:`CallFacts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from frontdesk_bridge.booking_api import BookingApi, BookingProblem, BookingUnavailable
from frontdesk_bridge.phrases import problem_phrase, speak_date, speak_time, spoken_hours, unavailable_phrase
from frontdesk_bridge.realtime.provider import ToolSpec
from frontdesk_contract.call_record import CallOutcome

__all__ = ["TOOL_SPECS", "CallFacts", "ToolControl", "ToolExecutor", "ToolResult", "normalise_phone"]

_DATE = {"type": "string", "description": "Restaurant-local date, YYYY-MM-DD"}
_TIME = {"type": "string", "description": "Restaurant-local time, 24-hour HH:MM"}
_PARTY = {"type": "integer", "minimum": 1, "description": "Number of guests"}


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("get_restaurant_info", "Opening hours, address, phone and policies of the restaurant.", _obj({}, [])),
    ToolSpec("check_availability",
             "Check whether a table is free and hold it for five minutes. Call before booking.",
             _obj({"date": _DATE, "time": _TIME, "party_size": _PARTY}, ["date", "time", "party_size"])),
    ToolSpec("book_reservation", "Confirm the table currently held by check_availability.",
             _obj({"guest_name": {"type": "string", "description": "Name for the booking"},
                   "phone": {"type": "string", "description": "Only if different from the caller's number"},
                   "notes": {"type": "string", "description": "Allergies, occasion, seating wishes"}},
                  ["guest_name"])),
    ToolSpec("find_reservations", "Look up the caller's upcoming reservations.",
             _obj({"phone": {"type": "string", "description": "Only if different from the caller's number"}}, [])),
    ToolSpec("cancel_reservation", "Cancel a reservation found with find_reservations.",
             _obj({"reservation_id": {"type": "string"}}, ["reservation_id"])),
    ToolSpec("modify_reservation", "Change the date, time or party size of a reservation found with "
             "find_reservations.",
             _obj({"reservation_id": {"type": "string"}, "date": _DATE, "time": _TIME, "party_size": _PARTY},
                  ["reservation_id"])),
    ToolSpec("transfer_to_host", "Hand the call to a person at the restaurant.",
             _obj({"reason": {"type": "string"}}, ["reason"])),
    ToolSpec("end_call", "End the call after you have said goodbye.", _obj({}, [])),
)

_E164 = re.compile(r"\+[1-9]\d{7,14}")


def normalise_phone(raw: str | None, caller: str) -> str | None:
    """E.164 or None. Missing → the caller id; 10 digits next to a +1 caller id → +1 prefix."""
    if raw is None or not raw.strip():
        return caller if _E164.fullmatch(caller or "") else None
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        candidate = "+" + digits
    elif len(digits) == 10 and (caller or "").startswith("+1"):
        candidate = "+1" + digits
    elif len(digits) == 11 and digits.startswith("1"):
        candidate = "+" + digits
    else:
        candidate = "+" + digits
    return candidate if _E164.fullmatch(candidate) else None


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _hhmm(value: str) -> str:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", value)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError("time must be HH:MM")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


class _CheckArgs(_Args):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    time: str
    party_size: int = Field(ge=1, le=500)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        return _hhmm(v)


class _BookArgs(_Args):
    guest_name: str = Field(min_length=1, max_length=100)
    phone: str | None = None
    notes: str | None = Field(default=None, max_length=500)


class _FindArgs(_Args):
    phone: str | None = None


class _IdArgs(_Args):
    reservation_id: str = Field(min_length=1, max_length=64)


class _ModifyArgs(_IdArgs):
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    time: str | None = None
    party_size: int | None = Field(default=None, ge=1, le=500)

    @field_validator("time")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        return None if v is None else _hhmm(v)


class _TransferArgs(_Args):
    reason: str = ""


class ToolControl(Enum):
    NONE = "none"
    END_CALL = "end_call"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class ToolResult:
    output: dict[str, Any]
    control: ToolControl = ToolControl.NONE
    reason: str | None = None
    changed: bool = False  # facts worth persisting changed

    def output_json(self) -> str:
        return orjson.dumps(self.output).decode()


@dataclass(slots=True)
class CallFacts:
    """What the call has established. Persisted under the call SID so a reconnect can resume."""

    restaurant_id: str
    caller: str
    hold: dict[str, Any] | None = None
    guest_name: str | None = None
    party_size: int | None = None
    booked: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=dict)  # reservation id → short description
    helped: bool = False  # any tool answered (the caller got information)

    @property
    def reservation_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.booked, *self.modified, *self.cancelled]))

    def outcome(self) -> CallOutcome:
        if self.booked:
            return CallOutcome.BOOKED
        if self.modified:
            return CallOutcome.MODIFIED
        if self.cancelled:
            return CallOutcome.CANCELLED
        return CallOutcome.INFO if self.helped else CallOutcome.ABANDONED

    def to_context(self) -> dict[str, Any]:
        return {"hold": self.hold, "guest_name": self.guest_name, "party_size": self.party_size,
                "booked": self.booked, "modified": self.modified, "cancelled": self.cancelled,
                "known": self.known, "helped": self.helped}

    def restore(self, ctx: dict[str, Any]) -> None:
        hold = ctx.get("hold")
        self.hold = hold if isinstance(hold, dict) else None
        self.guest_name = ctx.get("guest_name") if isinstance(ctx.get("guest_name"), str) else None
        self.party_size = ctx.get("party_size") if isinstance(ctx.get("party_size"), int) else None
        for name in ("booked", "modified", "cancelled"):
            value = ctx.get(name)
            if isinstance(value, list):
                setattr(self, name, [v for v in value if isinstance(v, str)])
        known = ctx.get("known")
        if isinstance(known, dict):
            self.known = {str(k): str(v) for k, v in known.items()}
        self.helped = bool(ctx.get("helped"))

    def summary(self) -> str:
        """A few sentences for the model after a reconnect."""
        parts: list[str] = []
        if self.guest_name:
            parts.append(f"The caller's name is {self.guest_name}.")
        if self.hold:
            parts.append(f"A table for {self.hold.get('party_size')} is held on {self.hold.get('local_date')} "
                         f"at {self.hold.get('local_time')}, not yet booked.")
        for rid in self.booked:
            parts.append(f"Booked on this call: {self.known.get(rid, rid)} (id {rid}).")
        for rid in self.modified:
            parts.append(f"Changed on this call: {self.known.get(rid, rid)} (id {rid}).")
        for rid in self.cancelled:
            parts.append(f"Cancelled on this call: reservation {rid}.")
        return " ".join(parts) or "Nothing has been booked or held yet."


def _describe(res: dict[str, Any]) -> str:
    return (f"{res.get('guest_name', '')}, {res.get('party_size')} people, "
            f"{speak_date(str(res.get('local_date', '')))} at {speak_time(str(res.get('local_time', '')))}").strip(", ")


def _alternates(problem: BookingProblem) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for alt in problem.alternates[:3]:
        d, t = str(alt.get("local_date", "")), str(alt.get("local_time", ""))
        out.append({"date": d, "time": t, "spoken": f"{speak_date(d)} at {speak_time(t)}"})
    return out


def _refusal(problem: BookingProblem, **extra: Any) -> dict[str, Any]:
    alts = _alternates(problem)
    message = problem_phrase(problem.reason, problem.status)
    if alts:
        dates = {a["date"] for a in alts}
        if len(dates) == 1:  # same day: say the day once
            times = [speak_time(a["time"]) for a in alts]
            listed = ", ".join(times[:-1]) + " or " + times[-1] if len(times) > 1 else times[0]
            message += f" I could offer {listed} on {speak_date(alts[0]['date'])}."
        else:
            message += " I could offer " + ", or ".join(a["spoken"] for a in alts) + "."
    return {"ok": False, "reason": problem.reason or "refused", "message": message, "alternates": alts, **extra}


def _unavailable() -> dict[str, Any]:
    return {"ok": False, "reason": "system_unavailable",
            "message": unavailable_phrase() + " Offer to transfer the caller to the restaurant."}


class ToolExecutor:
    def __init__(self, api: BookingApi, facts: CallFacts, restaurant: dict[str, Any], call_sid: str) -> None:
        self._api = api
        self.facts = facts
        self._restaurant = restaurant
        self._call_sid = call_sid

    async def run(self, name: str, arguments: str) -> ToolResult:
        """Execute one tool call. Never raises."""
        handler = getattr(self, f"_tool_{name}", None) if name in _NAMES else None
        if handler is None:
            return ToolResult({"ok": False, "message": f"There is no tool called {name[:40]}."})
        try:
            args = orjson.loads(arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments are not an object")
        except (orjson.JSONDecodeError, ValueError):
            return ToolResult({"ok": False, "message": "I didn't catch the details; please ask again."})
        try:
            return await handler(args)
        except ValidationError as exc:
            fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")}))
            return ToolResult({"ok": False, "message": f"Some details were missing or unclear: {fields}. "
                               "Please ask the caller again."})
        except BookingUnavailable:
            return ToolResult(_unavailable())
        except BookingProblem as problem:
            return ToolResult(_refusal(problem))

    # -- tools -----------------------------------------------------------------------------------

    async def _tool_get_restaurant_info(self, args: dict[str, Any]) -> ToolResult:
        r = self._restaurant
        hours = [said for _, said in spoken_hours(r)]
        self.facts.helped = True
        return ToolResult({"ok": True, "name": r.get("name"), "address": r.get("address"),
                           "phone": r.get("phone"), "hours": hours, "policies": r.get("policies"),
                           "max_party_size": r.get("max_party_size")}, changed=True)

    async def _tool_check_availability(self, args: dict[str, Any]) -> ToolResult:
        a = _CheckArgs.model_validate(args)
        self.facts.party_size = a.party_size
        self.facts.helped = True
        try:
            body = await self._api.check_availability(self.facts.restaurant_id, a.date, a.time, a.party_size,
                                                      normalise_phone(None, self.facts.caller))
        except BookingProblem as problem:
            self.facts.hold = None
            return ToolResult(_refusal(problem, available=False), changed=True)
        local_date = str(body.get("local_date") or a.date)
        local_time = str(body.get("local_time") or a.time)[:5]
        self.facts.hold = {"hold_id": body.get("hold_id"), "start_ts": body.get("start_ts"),
                           "local_date": local_date, "local_time": local_time, "party_size": a.party_size,
                           "expires_at": body.get("expires_at")}
        return ToolResult({"ok": True, "available": True, "date": local_date, "time": local_time,
                           "spoken": f"{speak_date(local_date)} at {speak_time(local_time)}",
                           "party_size": a.party_size, "held_minutes": 5,
                           "next_step": "Ask for the name for the booking, then call book_reservation."},
                          changed=True)

    async def _tool_book_reservation(self, args: dict[str, Any]) -> ToolResult:
        a = _BookArgs.model_validate(args)
        self.facts.guest_name = a.guest_name
        hold = self.facts.hold
        if not hold:
            return ToolResult({"ok": False, "reason": "no_hold", "message": "No table is held yet. "
                               "Check availability for the date, time and party size first."}, changed=True)
        phone = normalise_phone(a.phone, self.facts.caller)
        if phone is None:
            return ToolResult({"ok": False, "reason": "phone", "message": "I need a phone number with the "
                               "area code to book. Please ask for it."}, changed=True)
        body: dict[str, Any] = {"guest_name": a.guest_name, "guest_phone": phone}
        if a.notes:
            body["notes"] = a.notes
        if hold.get("hold_id"):
            body["hold_id"] = hold["hold_id"]
            body["idempotency_key"] = f"{self._call_sid}:{hold['hold_id']}"
        else:  # degraded: the API answered without a hold; commit re-checks capacity under locks
            body.update(restaurant_id=self.facts.restaurant_id, start_ts=hold.get("start_ts"),
                        party_size=hold.get("party_size"),
                        idempotency_key=f"{self._call_sid}:{hold.get('start_ts')}")
        try:
            res = await self._api.commit(body)
        except BookingProblem as problem:
            self.facts.hold = None
            out = _refusal(problem)
            out["message"] += " Check availability again before booking."
            return ToolResult(out, changed=True)
        rid = str(res.get("id"))
        self.facts.hold = None
        if rid not in self.facts.booked:
            self.facts.booked.append(rid)
        self.facts.known[rid] = _describe(res)
        return ToolResult({"ok": True, "booked": True, "reservation_id": rid, "name": res.get("guest_name"),
                           "party_size": res.get("party_size"), "date": res.get("local_date"),
                           "time": res.get("local_time"),
                           "spoken": f"{speak_date(str(res.get('local_date')))} at "
                                     f"{speak_time(str(res.get('local_time')))}"}, changed=True)

    async def _tool_find_reservations(self, args: dict[str, Any]) -> ToolResult:
        a = _FindArgs.model_validate(args)
        phone = normalise_phone(a.phone, self.facts.caller)
        if phone is None:
            return ToolResult({"ok": False, "message": "I need the phone number the booking was made with."})
        items = await self._api.find_reservations(self.facts.restaurant_id, phone)
        self.facts.helped = True
        found = []
        for res in items[:5]:
            rid = str(res.get("id"))
            self.facts.known[rid] = _describe(res)
            found.append({"reservation_id": rid, "name": res.get("guest_name"),
                          "party_size": res.get("party_size"), "date": res.get("local_date"),
                          "time": res.get("local_time"), "status": res.get("status"),
                          "spoken": _describe(res)})
        if not found:
            return ToolResult({"ok": True, "reservations": [],
                               "message": "I don't see any upcoming reservations for that number."}, changed=True)
        return ToolResult({"ok": True, "reservations": found}, changed=True)

    def _unknown_reservation(self, rid: str) -> ToolResult | None:
        if rid in self.facts.known:
            return None
        return ToolResult({"ok": False, "reason": "unknown_reservation", "message": "I can only change a "
                           "reservation I've looked up on this call. Let me look it up first."})

    async def _tool_cancel_reservation(self, args: dict[str, Any]) -> ToolResult:
        a = _IdArgs.model_validate(args)
        if (refused := self._unknown_reservation(a.reservation_id)) is not None:
            return refused
        res = await self._api.cancel(a.reservation_id)
        if a.reservation_id not in self.facts.cancelled:
            self.facts.cancelled.append(a.reservation_id)
        return ToolResult({"ok": True, "cancelled": True, "reservation_id": a.reservation_id,
                           "spoken": _describe(res)}, changed=True)

    async def _tool_modify_reservation(self, args: dict[str, Any]) -> ToolResult:
        a = _ModifyArgs.model_validate(args)
        if (refused := self._unknown_reservation(a.reservation_id)) is not None:
            return refused
        changes: dict[str, Any] = {}
        if a.date:
            changes["local_date"] = a.date
        if a.time:
            changes["local_time"] = a.time
        if (a.date and not a.time) or (a.time and not a.date):
            # the API takes local date and time together; fill the missing half from what we know
            current = await self._current(a.reservation_id)
            changes.setdefault("local_date", current.get("local_date"))
            changes.setdefault("local_time", str(current.get("local_time", ""))[:5])
        if a.party_size:
            changes["party_size"] = a.party_size
        if not changes:
            return ToolResult({"ok": False, "message": "What would the caller like to change?"})
        try:
            res = await self._api.modify(a.reservation_id, changes)
        except BookingProblem as problem:
            return ToolResult(_refusal(problem, modified=False))
        if a.reservation_id not in self.facts.modified:
            self.facts.modified.append(a.reservation_id)
        self.facts.known[a.reservation_id] = _describe(res)
        return ToolResult({"ok": True, "modified": True, "reservation_id": a.reservation_id,
                           "spoken": _describe(res)}, changed=True)

    async def _current(self, rid: str) -> dict[str, Any]:
        phone = normalise_phone(None, self.facts.caller)
        for res in await self._api.find_reservations(self.facts.restaurant_id, phone or ""):
            if str(res.get("id")) == rid:
                return res
        return {}

    async def _tool_transfer_to_host(self, args: dict[str, Any]) -> ToolResult:
        a = _TransferArgs.model_validate(args)
        return ToolResult({"ok": True, "message": "Transferring now."}, control=ToolControl.TRANSFER,
                          reason=a.reason[:200] or "transfer_requested")

    async def _tool_end_call(self, args: dict[str, Any]) -> ToolResult:
        return ToolResult({"ok": True, "message": "The line will close after your goodbye."},
                          control=ToolControl.END_CALL, reason="end_call")


_NAMES = frozenset(t.name for t in TOOL_SPECS)
