"""SMS to guests: templates, and the sender that drains the transactional outbox.

The outbox row is written by the database in the same transaction as the reservation change (see
``sql/migrations/0006_notifications.sql``). This module only delivers: claim due rows (a lease), render,
send through an :class:`SmsGateway`, record the outcome on the claim.

What "exactly once" means here, honestly: the database records each message as sent at most once (the
outcome is a conditional UPDATE on the claim token), and nothing is lost (unsent rows stay due until they are
sent or given up). A sender that crashes after Twilio accepted a message but before the UPDATE leaves the
row leased; once the lease runs out another sender sends it again. That window is one HTTP round trip plus
one UPDATE, and the lease is long enough that a slow but live sender is never overtaken.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

from frontdesk.core.errors import FrontDeskError, InvalidRequest

log = logging.getLogger(__name__)

Kind = Literal["confirmed", "modified", "cancelled"]
KINDS: tuple[Kind, ...] = ("confirmed", "modified", "cancelled")

#: Placeholders a template may use, with the longest text each can become (the schema's bounds), so a
#: template is checked against its worst case when it is saved, never discovered too long at send time.
PLACEHOLDERS: Mapping[str, int] = {
    "guest_name": 120,
    "restaurant": 200,
    "restaurant_phone": 16,
    "date": 20,        # "Thu 10 Dec"
    "time": 5,         # "19:30"
    "party_size": 3,
    "previous_date": 20,
    "previous_time": 5,
    "previous_party_size": 3,
}
#: Placeholders only a change message has.
MODIFIED_ONLY = frozenset({"previous_date", "previous_time", "previous_party_size"})
MAX_TEMPLATE_CHARS = 480
#: Twilio refuses a longer body (error 21617).
MAX_BODY_CHARS = 1600

DEFAULT_TEMPLATES: Mapping[Kind, str] = {
    "confirmed": "{restaurant}: {guest_name}, your table for {party_size} is booked for {date} at {time}. "
                 "Reply STOP to stop texts.",
    "modified": "{restaurant}: {guest_name}, your booking is now for {party_size} on {date} at {time} "
                "(was {previous_party_size} on {previous_date} at {previous_time}).",
    "cancelled": "{restaurant}: {guest_name}, your booking for {party_size} on {date} at {time} is cancelled.",
}


class TemplateInvalid(InvalidRequest):
    """The SMS template cannot be used."""

    code = "invalid_template"


def _fields(text: str) -> list[tuple[str, str | None, str | None]]:
    try:
        return [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:  # a lone { or }
        raise TemplateInvalid(f"the template is not valid: {exc} (write {{{{ or }}}} for a literal brace)") from None


def validate_template(kind: str, text: str) -> str:
    """The template, stripped, or TemplateInvalid saying what to fix."""
    if kind not in KINDS:
        raise TemplateInvalid(f"unknown message kind {kind[:40]!r}; use one of {', '.join(KINDS)}")
    text = text.strip()
    if not text:
        raise TemplateInvalid("the template is empty")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateInvalid(f"the template is {len(text)} characters; the limit is {MAX_TEMPLATE_CHARS}")
    if any(ord(c) < 32 and c != "\n" for c in text):
        raise TemplateInvalid("the template contains control characters")
    allowed = set(PLACEHOLDERS) - (set() if kind == "modified" else MODIFIED_ONLY)
    worst = len(text)
    for name, spec, conversion in _fields(text):
        if name not in allowed:
            known = ", ".join("{" + p + "}" for p in sorted(allowed))
            raise TemplateInvalid(f"unknown placeholder {{{name[:40]}}} in a {kind} template; use {known}")
        if spec or conversion:
            raise TemplateInvalid(f"placeholder {{{name}}} takes no format spec or conversion")
        worst += PLACEHOLDERS[name]
    if worst > MAX_BODY_CHARS:
        raise TemplateInvalid(f"with the longest names this template could reach {worst} characters; "
                              f"an SMS body is at most {MAX_BODY_CHARS}")
    return text


def human_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


def render(template: str, payload: Mapping[str, Any]) -> str:
    """The message for ``payload`` (the outbox snapshot). Only plain ``{name}`` fields are substituted,
    never attributes or indexes, so a template cannot reach into anything."""
    values: dict[str, str] = {
        "guest_name": str(payload.get("guest_name", "")),
        "restaurant": str(payload.get("restaurant", "")),
        "restaurant_phone": str(payload.get("restaurant_phone") or ""),
        "party_size": str(payload.get("party_size", "")),
        "time": str(payload.get("local_time", "")),
        "date": human_date(payload["local_date"]) if payload.get("local_date") else "",
        "previous_party_size": str(payload.get("previous_party_size", "")),
        "previous_time": str(payload.get("previous_local_time", "")),
        "previous_date": human_date(payload["previous_local_date"]) if payload.get("previous_local_date") else "",
    }
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)[:MAX_BODY_CHARS]


# -- ports ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimedMessage:
    id: UUID
    claim: UUID
    restaurant_id: UUID
    reservation_id: UUID
    kind: Kind
    to_phone: str
    payload: Mapping[str, Any]
    attempts: int


class OutboxStore(Protocol):
    def claim(self, limit: int, lease: timedelta, reservation_id: UUID | None = None) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages (rows to opted-out numbers are settled as suppressed instead)."""
        ...

    def templates(self, restaurant_ids: Iterable[UUID]) -> dict[tuple[UUID, str], str]: ...

    def finish(self, message: ClaimedMessage, outcome: Literal["sent", "retry", "failed", "opted_out"], *,
               provider_sid: str | None = None, error: str | None = None,
               retry_in: timedelta | None = None) -> bool:
        """Record the outcome if ``message``'s claim still holds; False when it no longer does."""
        ...


@dataclass(frozen=True)
class OutboxBacklog:
    """What is still unsent, for the on-call metrics. ``due``: messages a sender may take right now (pending
    and their time has come, or leased by a sender that died) — a healthy sweep leaves none. ``unsent``: every
    message not yet settled (also those waiting out a retry's backoff or in flight). ``oldest_unsent_seconds``:
    how long the guest of the oldest unsent message has been waiting (0 when nothing is unsent)."""

    due: int
    unsent: int
    oldest_unsent_seconds: float


class OutboxBacklogSource(Protocol):
    def backlog(self) -> OutboxBacklog: ...


class SmsSendError(FrontDeskError):
    """Twilio did not take the message. ``transient``: worth retrying later; ``opted_out``: the number has
    unsubscribed (Twilio error 21610)."""

    code = "sms_send_failed"

    def __init__(self, detail: str, *, transient: bool, opted_out: bool = False) -> None:
        self.transient = transient
        self.opted_out = opted_out
        super().__init__(detail)


class SmsGateway(Protocol):
    @property
    def configured(self) -> bool:
        """False when there are no credentials: nothing is claimed, messages stay pending."""
        ...

    def send(self, to: str, body: str, from_number: str | None) -> str:
        """Send one SMS; the provider's message sid. Raises SmsSendError."""
        ...


class ChangePublisher(Protocol):
    """Told after a reservation change committed, so a sender can deliver its message now (SQS in AWS, a
    wake-up of the local sweeper in development). Best effort: the sweep delivers whatever it misses."""

    def reservation_changed(self, reservation_id: UUID) -> None: ...


# -- the sender ---------------------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    opted_out: int = 0
    lost_claims: int = 0
    skipped_unconfigured: bool = False
    sids: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.opted_out + self.lost_claims

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.opted_out += other.opted_out
        self.lost_claims += other.lost_claims
        self.skipped_unconfigured = self.skipped_unconfigured or other.skipped_unconfigured
        self.sids += other.sids


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first`` after the first failure, doubling, at most ``cap``; after
    ``max_attempts`` sends the message is failed."""

    max_attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=30)

    def delay(self, attempts: int) -> timedelta:
        return min(self.first * (2 ** max(attempts - 1, 0)), self.cap)


class NotificationSender:
    def __init__(self, outbox: OutboxStore, gateway: SmsGateway, *, lease: timedelta = timedelta(seconds=60),
                 retry: RetryPolicy | None = None, batch: int = 20) -> None:
        self.outbox = outbox
        self.gateway = gateway
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.batch = batch
        self._warned_unconfigured = False

    def deliver_due(self, *, reservation_id: UUID | None = None, max_batches: int = 50,
                    keep_going: Callable[[], bool] = lambda: True) -> DeliveryReport:
        """Deliver what is due (of one reservation, or all), batch by batch, until nothing is due,
        ``max_batches`` ran or ``keep_going`` says stop (a Lambda near its timeout)."""
        report = DeliveryReport()
        if not self.gateway.configured:
            if not self._warned_unconfigured:
                self._warned_unconfigured = True
                log.warning("SMS not sent: no Twilio credentials (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or "
                            "TWILIO_SECRET_ARN); messages stay pending in notification_outbox until they are set")
            report.skipped_unconfigured = True
            return report
        for _ in range(max_batches):
            claimed = self.outbox.claim(self.batch, self.lease, reservation_id)
            if not claimed:
                break
            templates = self.outbox.templates({m.restaurant_id for m in claimed})
            for message in claimed:
                report.add(self._deliver_one(message, templates))
            if not keep_going():
                break
        return report

    def _deliver_one(self, message: ClaimedMessage, templates: Mapping[tuple[UUID, str], str]) -> DeliveryReport:
        report = DeliveryReport()
        if message.attempts > self.retry.max_attempts:  # its senders kept dying mid-send: stop trying
            self._record(report, message, "failed", error="gave up: too many interrupted attempts")
            return report
        template = templates.get((message.restaurant_id, message.kind)) or DEFAULT_TEMPLATES[message.kind]
        try:
            body = render(template, message.payload)
        except (KeyError, ValueError) as exc:  # a snapshot we cannot read will not improve
            self._record(report, message, "failed", error=f"cannot render: {type(exc).__name__}")
            return report
        try:
            sid = self.gateway.send(message.to_phone, body, message.payload.get("restaurant_phone"))
        except SmsSendError as exc:
            if exc.opted_out:
                self._record(report, message, "opted_out", error=exc.detail)
            elif exc.transient and message.attempts < self.retry.max_attempts:
                self._record(report, message, "retry", error=exc.detail,
                             retry_in=self.retry.delay(message.attempts))
            else:
                self._record(report, message, "failed", error=exc.detail)
            return report
        # Twilio has it: record at once (the only window in which a crash can cause a second send).
        self._record(report, message, "sent", provider_sid=sid)
        return report

    def _record(self, report: DeliveryReport, message: ClaimedMessage,
                outcome: Literal["sent", "retry", "failed", "opted_out"], *, provider_sid: str | None = None,
                error: str | None = None, retry_in: timedelta | None = None) -> None:
        recorded = self.outbox.finish(message, outcome, provider_sid=provider_sid, error=error, retry_in=retry_in)
        extra = {"outbox_id": str(message.id), "kind": message.kind, "attempts": message.attempts,
                 "outcome": outcome}
        if not recorded:
            # Our lease ran out and another sender took the message over; it records the outcome.
            report.lost_claims += 1
            log.warning("SMS outcome not recorded: the claim was lost", extra=extra)
            return
        if outcome == "sent":
            report.sent += 1
            report.sids.append(provider_sid or "")
            log.info("SMS sent", extra=extra)
        elif outcome == "retry":
            report.retrying += 1
            log.warning("SMS will be retried: %s", error, extra=extra)
        elif outcome == "opted_out":
            report.opted_out += 1
            log.info("SMS suppressed: the number unsubscribed", extra=extra)
        else:
            report.failed += 1
            log.error("SMS failed: %s", error, extra=extra)


# -- staff: templates and opt-outs --------------------------------------------------------------------------

#: What a preview fills the placeholders with.
SAMPLE_PAYLOAD: Mapping[str, Any] = {
    "restaurant": "Demo Bistro", "restaurant_phone": "+15555550100", "guest_name": "Ana", "party_size": 4,
    "local_date": "2026-12-10", "local_time": "19:30", "previous_party_size": 2,
    "previous_local_date": "2026-12-09", "previous_local_time": "18:00"}


@dataclass(frozen=True)
class TemplateView:
    kind: str
    text: str
    custom: bool
    preview: str


class SmsAdminStore(Protocol):
    def templates(self, restaurant_ids: Iterable[UUID]) -> dict[tuple[UUID, str], str]: ...

    def set_template(self, restaurant_id: UUID, kind: str, body: str | None, *, actor: str) -> None: ...

    def set_opt_out(self, restaurant_id: UUID, phone: str, opted_out: bool, *, actor: str) -> bool: ...


class SmsAdmin:
    """What staff change: a restaurant's wording per kind (validated before it is saved) and opt-outs."""

    def __init__(self, store: SmsAdminStore) -> None:
        self.store = store

    def templates(self, restaurant_id: UUID, kind: str | None = None) -> list[TemplateView]:
        if kind is not None and kind not in KINDS:
            raise TemplateInvalid(f"unknown message kind {kind[:40]!r}; use one of {', '.join(KINDS)}")
        saved = self.store.templates([restaurant_id])
        views = []
        for each in KINDS if kind is None else (kind,):
            text = saved.get((restaurant_id, each))
            shown = text or DEFAULT_TEMPLATES[each]
            views.append(TemplateView(each, shown, text is not None, render(shown, SAMPLE_PAYLOAD)))
        return views

    def set_template(self, restaurant_id: UUID, kind: str, text: str | None, *, actor: str) -> TemplateView:
        """Save ``text`` for ``kind`` (None: back to the default). Refused, saving nothing, unless valid."""
        body = validate_template(kind, text) if text is not None else None
        self.store.set_template(restaurant_id, kind, body, actor=actor)
        return self.templates(restaurant_id, kind)[0]

    def set_opt_out(self, restaurant_id: UUID, phone: str, opted_out: bool, *, actor: str) -> bool:
        from frontdesk.core.booking import validate_phone

        return self.store.set_opt_out(restaurant_id, validate_phone(phone), opted_out, actor=actor)


# -- delivery receipts and retention (0008_sms_receipts.sql) --------------------------------------------------

DeliveryStatus = Literal["queued", "sent", "delivered", "undelivered", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("queued", "sent", "delivered", "undelivered", "failed")
#: Twilio's MessageStatus values, as the few states a restaurant cares about. ``read`` (WhatsApp/RCS) implies
#: delivered; ``canceled`` (a scheduled message called off) never reached the guest.
TwilioMessageStatus = Literal["accepted", "scheduled", "queued", "sending", "sent", "delivered", "read",
                             "undelivered", "failed", "canceled"]
TWILIO_MESSAGE_STATUSES: Mapping[TwilioMessageStatus, DeliveryStatus] = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued",
    "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed", "canceled": "failed",
}
#: Error codes that mean the recipient does not want (or cannot be allowed) our texts: 21610 the recipient
#: replied STOP, 30004 the message was blocked (the recipient blocks the sender, or is on a do-not-text list).
#: The restaurant stops texting them, as when the send itself is refused with 21610.
OPT_OUT_ERROR_CODES = frozenset({21610, 30004})
DeliveryOutcome = Literal["recorded", "unchanged", "unknown"]


@dataclass(frozen=True)
class DeliveryReceipt:
    """One status callback from Twilio, already parsed and validated at the edge."""

    message_sid: str
    twilio_status: TwilioMessageStatus
    error_code: int | None = None

    @property
    def status(self) -> DeliveryStatus:
        return TWILIO_MESSAGE_STATUSES[self.twilio_status]

    @property
    def opted_out(self) -> bool:
        return self.error_code in OPT_OUT_ERROR_CODES

    @property
    def error(self) -> str | None:
        if self.status not in ("undelivered", "failed"):
            return None
        return f"Twilio error {self.error_code}" if self.error_code else f"Twilio: {self.twilio_status}"


class DeliveryStore(Protocol):
    def record_delivery(self, message_sid: str, status: DeliveryStatus, *, error: str | None, opted_out: bool,
                        actor: str) -> DeliveryOutcome:
        """Move the message forward to ``status`` (never back; final states stay); 'unknown' for a sid that is
        not in the outbox."""
        ...

    def prune(self, older_than_days: int, batch: int) -> int:
        """Delete up to ``batch`` settled messages older than ``older_than_days``; how many were deleted."""
        ...


def record_receipt(store: DeliveryStore, receipt: DeliveryReceipt) -> DeliveryOutcome:
    outcome = store.record_delivery(receipt.message_sid, receipt.status, error=receipt.error,
                                    opted_out=receipt.opted_out, actor=f"twilio:{receipt.error_code or 'receipt'}")
    extra = {"message_sid": receipt.message_sid, "delivery_status": receipt.status, "outcome": outcome,
             "error_code": receipt.error_code}
    if outcome == "unknown":
        log.info("SMS receipt for a message not in the outbox; ignored", extra=extra)
    elif receipt.status in ("undelivered", "failed") and outcome == "recorded":
        log.warning("SMS not delivered: %s", receipt.error, extra=extra)
    return outcome


@dataclass(frozen=True)
class RetentionPolicy:
    """Settled messages (sent, suppressed, failed) older than ``days`` are deleted, ``batch`` rows per
    statement, at most ``max_batches`` statements per run (the next sweep goes on)."""

    days: int = 90
    batch: int = 500
    max_batches: int = 20


def prune_outbox(store: DeliveryStore, policy: RetentionPolicy, *,
                 keep_going: Callable[[], bool] = lambda: True) -> int:
    """Delete what the retention policy says is old enough, in bounded batches; how many rows went."""
    if policy.days < 1 or policy.batch < 1:
        raise InvalidRequest("retention needs at least one day and a batch of at least one")
    total = 0
    for _ in range(policy.max_batches):
        deleted = store.prune(policy.days, policy.batch)
        total += deleted
        if deleted < policy.batch or not keep_going():
            break
    if total:
        log.info("SMS outbox pruned", extra={"deleted": total, "older_than_days": policy.days})
    return total
