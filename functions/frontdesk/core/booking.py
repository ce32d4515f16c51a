"""Use cases: check availability and hold, commit, cancel, modify, find, list.

Holds (Redis) are promises; PostgreSQL is the guarantee: every write re-checks under bucket locks.
When Redis cannot answer, availability still answers (no hold, degraded) and commits go straight to the
locked SQL path, so nothing is lost and nothing is oversold.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from frontdesk.core.errors import (
    Alternate,
    HoldExpired,
    HoldsUnavailable,
    InvalidRequest,
    RestaurantNotFound,
    SlotUnavailable,
)
from frontdesk.core.model import (
    BucketCapacity,
    BucketState,
    Channel,
    Guest,
    Hold,
    HoldResult,
    Load,
    Reservation,
    ReservationStatus,
    Restaurant,
    RestaurantOverview,
    Slot,
    SlotEvaluation,
    SpecialDay,
)
from frontdesk.core.notifications import ChangePublisher
from frontdesk.core.ports import BookingStore, Clock, HoldStore
from frontdesk.core.timeutil import (
    BUCKET,
    buckets,
    floor_bucket,
    local_to_utc,
    require_aware,
    to_local,
    window_local_starts,
    zone,
)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_NOTES = 500
MAX_NAME = 120
MAX_ALTERNATES = 5
SAME_DAY_FIRST = 3
NEXT_DAYS = 7
_log = logging.getLogger(__name__)
NO_ALTERNATES_FOR = frozenset({"party_too_large", "too_far_ahead", "duplicate_booking"})
FLOOR_STATUSES = frozenset({"seated", "completed", "no_show"})


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class SlotRequest:
    """When a party wants to come: exactly one of an instant or a local date + time."""

    party_size: int
    start: datetime | None = None
    local_date: date | None = None
    local_time: time | None = None

    def resolve(self, restaurant: Restaurant) -> datetime:
        has_local = self.local_date is not None or self.local_time is not None
        if (self.start is None) == (not has_local):
            raise InvalidRequest("give either start_ts, or local_date and local_time — exactly one of them")
        if self.start is not None:
            return require_aware(self.start).astimezone(UTC)
        if self.local_date is None or self.local_time is None:
            raise InvalidRequest("local_date and local_time go together")
        return local_to_utc(self.local_date, self.local_time, restaurant.timezone)


def validate_phone(phone: str) -> str:
    if not E164.match(phone or ""):
        raise InvalidRequest(f"phone numbers must be E.164, like +12125550123 (got {phone!r})")
    return phone


def validate_guest(guest: Guest) -> Guest:
    name = (guest.name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidRequest(f"guest name must be 1 to {MAX_NAME} characters")
    if len(guest.notes or "") > MAX_NOTES:
        raise InvalidRequest(f"notes must be at most {MAX_NOTES} characters")
    validate_phone(guest.phone)
    return Guest(name=name, phone=guest.phone, notes=guest.notes or "")


def new_hold_id() -> str:
    return "h_" + secrets.token_urlsafe(18)


class BookingService:
    def __init__(
        self,
        store: BookingStore,
        holds: HoldStore,
        clock: Clock | None = None,
        hold_ttl: timedelta = timedelta(seconds=300),
        changes: ChangePublisher | None = None,
    ) -> None:
        self.store = store
        self.holds = holds
        self.clock = clock or SystemClock()
        self.hold_ttl = hold_ttl
        self.changes = changes

    # -- reads -------------------------------------------------------------------------------------

    def restaurant(self, key: str | UUID) -> Restaurant:
        return self.store.restaurant(key)

    def get(self, reservation_id: UUID) -> Reservation:
        return self.store.get(reservation_id)

    def overview(self, restaurant_key: str | UUID, days: int = 14) -> RestaurantOverview:
        """The restaurant, its next ``days`` service dates from today (its wall clock) and the special
        days within its booking horizon."""
        restaurant = self.store.restaurant(restaurant_key)
        today = to_local(self.clock.now(), restaurant.timezone).date()
        plans = self.store.day_plans(restaurant.id, today, today + timedelta(days=days - 1))
        specials = self.store.special_days(
            restaurant.id, today, today + timedelta(days=restaurant.booking_horizon_days))
        return RestaurantOverview(restaurant, tuple(plans), tuple(specials))

    def find_by_phone(self, restaurant_key: str | UUID, phone: str) -> list[Reservation]:
        restaurant = self.store.restaurant(restaurant_key)
        return self.store.find_by_phone(restaurant.id, validate_phone(phone), self.clock.now())

    def list_for_date(self, restaurant_key: str | UUID, service_date: date) -> list[Reservation]:
        restaurant = self.store.restaurant(restaurant_key)
        return self.store.list_for_date(restaurant.id, service_date)

    # -- availability and holds ---------------------------------------------------------------------

    def check_and_hold(
        self, restaurant_key: str | UUID, request: SlotRequest, channel: Channel = Channel.PHONE_AGENT
    ) -> HoldResult:
        restaurant = self.store.restaurant(restaurant_key)
        start = request.resolve(restaurant)
        if request.party_size < 1:
            raise InvalidRequest("party size must be at least 1")
        evaluation = self._evaluate(restaurant, start, request.party_size, channel, exclude=None)
        return self._hold(restaurant, start, request.party_size, evaluation, channel, exclude=None)

    def _evaluate(
        self, restaurant: Restaurant, start: datetime, party_size: int, channel: Channel, exclude: UUID | None
    ) -> SlotEvaluation:
        evaluation = self.store.evaluate(
            restaurant.id, start, party_size, exclude=exclude, enforce_notice=channel != Channel.STAFF,
            channel=channel,
        )
        if evaluation.reason == "restaurant_not_found":
            raise RestaurantNotFound()
        if evaluation.reason is None:
            first = floor_bucket(start)
            full = next((b for b in evaluation.buckets if not b.admits(party_size, b.bucket == first)), None)
            if full is not None:
                local = to_local(full.bucket, restaurant.timezone)
                evaluation = replace(evaluation, reason="full",
                                     detail=f"no room for {party_size} at {local.strftime('%H:%M')}")
        if evaluation.reason is not None:
            raise self._unavailable(restaurant, start, party_size, channel, exclude, evaluation.reason,
                                    evaluation.detail, evaluation.service_date)
        return evaluation

    def _hold(
        self,
        restaurant: Restaurant,
        start: datetime,
        party_size: int,
        evaluation: SlotEvaluation,
        channel: Channel,
        exclude: UUID | None,
    ) -> HoldResult:
        assert evaluation.service_date is not None and evaluation.end is not None
        slot = Slot(restaurant.id, start, evaluation.end, party_size, evaluation.service_date)
        hold = Hold(new_hold_id(), slot, self.clock.now() + self.hold_ttl)
        local_start = to_local(start, restaurant.timezone)
        try:
            held = self.holds.place(hold, evaluation.buckets)
        except HoldsUnavailable:
            capacity = _capacity_left(evaluation.buckets, party_size, {})
            return HoldResult(slot, local_start, None, degraded=True, capacity=capacity)
        if held is None:
            raise self._unavailable(restaurant, start, party_size, channel, exclude, "full",
                                    "another caller is holding that time", slot.service_date)
        return HoldResult(slot, local_start, hold, degraded=False,
                          capacity=_capacity_left(evaluation.buckets, 0, held))

    def _held_or_empty(self, restaurant_id: UUID, bucket_list: list[datetime]) -> dict[datetime, Load]:
        try:
            return self.holds.held_loads(restaurant_id, bucket_list)
        except HoldsUnavailable:
            return {}

    # -- alternates ---------------------------------------------------------------------------------

    def _unavailable(
        self,
        restaurant: Restaurant,
        start: datetime,
        party_size: int,
        channel: Channel,
        exclude: UUID | None,
        reason: str,
        detail: str | None,
        service_date: date | None,
    ) -> SlotUnavailable:
        error = SlotUnavailable(reason, detail)
        if reason in NO_ALTERNATES_FOR:
            return error
        return error.with_alternates(
            self.alternates(restaurant, start, party_size, channel, exclude, service_date)
        )

    def alternates(
        self,
        restaurant: Restaurant,
        start: datetime,
        party_size: int,
        channel: Channel = Channel.PHONE_AGENT,
        exclude: UUID | None = None,
        service_date: date | None = None,
    ) -> tuple[Alternate, ...]:
        """Up to five bookable starts: the nearest on the same service date first (at most three while
        other days can fill the rest), then the same local time on the following days."""
        tz = zone(restaurant.timezone)
        local = to_local(start, tz)
        first_day = service_date or local.date()
        turn = timedelta(minutes=self.store.turn_minutes(restaurant.id, party_size))
        now = self.clock.now()
        earliest = now + timedelta(minutes=restaurant.min_notice_minutes if channel != Channel.STAFF else 0)
        latest = now + timedelta(days=restaurant.booking_horizon_days)
        plans = {p.service_date: p for p in self.store.day_plans(
            restaurant.id, first_day, first_day + timedelta(days=NEXT_DAYS))}

        def day_candidates(day: date) -> list[datetime]:
            plan = plans.get(day)
            if plan is None or not plan.is_open:
                return []
            found: list[datetime] = []
            for window in plan.windows:
                for naive in window_local_starts(day, window.opens, window.closes):
                    try:
                        instant = local_to_utc(naive.date(), naive.time(), tz)
                    except InvalidRequest:
                        continue  # inside a spring-forward gap
                    if earliest <= instant <= latest:
                        found.append(instant)
            return found

        same_day = [c for c in day_candidates(first_day) if c != start]
        same_day.sort(key=lambda c: (abs(c - start), c))
        later_days: list[tuple[date, datetime]] = []
        for offset in range(1, NEXT_DAYS + 1):
            day = first_day + timedelta(days=offset)
            try:
                wanted = local_to_utc(day + (local.date() - first_day), local.time(), tz)
            except InvalidRequest:
                continue  # inside a spring-forward gap that day
            if wanted in day_candidates(day):
                later_days.append((day, wanted))

        # One query for every bucket any candidate touches, one Redis call for the holds on them.
        spans = [(day, min(cs), max(cs) + turn) for day, cs in
                 [(first_day, same_day), *[(d, [w]) for d, w in later_days]] if cs]
        states = self.store.bucket_states(restaurant.id, spans, exclude)
        held = self._held_or_empty(restaurant.id, sorted({s.bucket for day in states.values() for s in day}))
        by_day = {day: {s.bucket: s for s in day_states} for day, day_states in states.items()}

        def fits(day: date, candidate: datetime) -> bool:
            by_bucket = by_day.get(day, {})
            first = floor_bucket(candidate)
            return all(
                b in by_bucket and by_bucket[b].admits(party_size, b == first, held.get(b, Load()))
                for b in buckets(candidate, candidate + turn)
            )

        same = [c for c in same_day if fits(first_day, c)]
        later = [w for d, w in later_days if fits(d, w)]
        if restaurant.has_tables:  # it also needs a free table for the whole turn (one more read)
            with_table = self.store.free_table_starts(restaurant.id, [*same, *later], turn, party_size,
                                                      channel=channel, exclude=exclude)
            same = [c for c in same if c in with_table]
            later = [w for w in later if w in with_table]
        same, later = same[:MAX_ALTERNATES], later[:MAX_ALTERNATES]
        # Same-day times lead; later days keep at least the places same-day times cannot fill.
        picked = (same[: max(SAME_DAY_FIRST, MAX_ALTERNATES - len(later))] + later)[:MAX_ALTERNATES]
        return tuple(_alternate(c, tz) for c in picked)

    # -- writes -------------------------------------------------------------------------------------

    def commit(
        self,
        hold_id: str,
        guest: Guest,
        *,
        idempotency_key: str | None = None,
        channel: Channel = Channel.PHONE_AGENT,
        actor: str = "api",
    ) -> Reservation:
        guest = validate_guest(guest)
        hold: Hold | None
        try:
            hold, unreadable = self.holds.get(hold_id), False
        except HoldsUnavailable:
            hold, unreadable = None, True
        if hold is None or hold.expires_at <= self.clock.now():
            # A retry of a commit that already succeeded finds its hold released (or unreadable), not expired.
            replay = self.store.find_replay(hold_id, idempotency_key)
            if replay is not None:
                return replay
            raise HoldsUnavailable() if unreadable else HoldExpired()
        reservation = self._commit_in_store(hold.slot, guest, channel, hold.hold_id, idempotency_key,
                                            hold.expires_at, actor)
        self._release_quietly(hold)
        return self._announce(reservation)

    def commit_slot(
        self,
        restaurant_key: str | UUID,
        request: SlotRequest,
        guest: Guest,
        *,
        idempotency_key: str | None = None,
        channel: Channel = Channel.API,
        actor: str = "api",
    ) -> Reservation:
        """Book without a prior hold (staff, API clients, or a caller whose hold could not be placed
        because Redis was down). Live holds are still respected when Redis answers."""
        guest = validate_guest(guest)
        restaurant = self.store.restaurant(restaurant_key)
        if idempotency_key:
            replay = self.store.find_replay(None, idempotency_key, restaurant.id)
            if replay is not None:
                return replay
        held = self.check_and_hold(restaurant.id, request, channel)
        reservation = self._commit_in_store(
            held.slot, guest, channel, held.hold.hold_id if held.hold else None, idempotency_key,
            held.hold.expires_at if held.hold else None, actor)
        if held.hold is not None:
            self._release_quietly(held.hold)
        return self._announce(reservation)

    def _commit_in_store(
        self,
        slot: Slot,
        guest: Guest,
        channel: Channel,
        hold_id: str | None,
        idempotency_key: str | None,
        hold_expires_at: datetime | None,
        actor: str,
    ) -> Reservation:
        try:
            return self.store.commit(
                restaurant_id=slot.restaurant_id, start=slot.start, party_size=slot.party_size, guest=guest,
                channel=channel, hold_id=hold_id, idempotency_key=idempotency_key,
                hold_expires_at=hold_expires_at, actor=actor)
        except SlotUnavailable as exc:
            if exc.reason in NO_ALTERNATES_FOR:
                raise
            restaurant = self.store.restaurant(slot.restaurant_id)
            raise exc.with_alternates(self.alternates(
                restaurant, slot.start, slot.party_size, channel, None, slot.service_date)) from None

    def cancel(self, reservation_id: UUID, *, actor: str = "api", reason: str = "") -> Reservation:
        return self._announce(self.store.cancel(reservation_id, actor=actor, reason=reason))

    def set_status(self, reservation_id: UUID, status: str, *, actor: str = "api") -> Reservation:
        """The floor's changes: seat, complete, or mark a no-show (``seated``, ``completed``, ``no_show``).
        confirmed -> any of them, seated -> completed, and the correction no_show -> seated; the same status
        again returns the reservation unchanged (``replayed``). Guest counters follow in the database."""
        if status not in FLOOR_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(sorted(FLOOR_STATUSES))} (got {status[:40]!r}); "
                                 "cancel with the cancel operation")
        return self.store.set_status(reservation_id, ReservationStatus(status), actor=actor)

    def modify(
        self,
        reservation_id: UUID,
        *,
        start: datetime | None = None,
        local_date: date | None = None,
        local_time: time | None = None,
        party_size: int | None = None,
        channel: Channel = Channel.PHONE_AGENT,
        actor: str = "api",
    ) -> Reservation:
        """Move a reservation and/or change its party size, atomically. A local date or time given alone
        keeps the other part of the current local start."""
        current = self.store.get(reservation_id)
        restaurant = self.store.restaurant(current.restaurant_id)
        new_start = current.start
        if start is not None or local_date is not None or local_time is not None:
            if start is not None and (local_date is not None or local_time is not None):
                raise InvalidRequest("give either start_ts, or local_date/local_time — not both")
            if start is None:
                current_local = to_local(current.start, restaurant.timezone)
                start = local_to_utc(local_date or current_local.date(),
                                     local_time or current_local.time(), restaurant.timezone)
            new_start = require_aware(start).astimezone(UTC)
        new_party = current.party_size if party_size is None else party_size
        if new_party < 1:
            raise InvalidRequest("party size must be at least 1")
        if new_start == current.start and new_party == current.party_size:
            return current

        # Respect other callers' holds on the new time: hold it ourselves for the length of the change.
        temporary: Hold | None = None
        if current.status == "confirmed":
            evaluation = self._evaluate(restaurant, new_start, new_party, channel, exclude=reservation_id)
            temporary = self._hold(restaurant, new_start, new_party, evaluation, channel,
                                   exclude=reservation_id).hold
        try:
            return self._announce(self.store.modify(reservation_id, start=new_start, party_size=new_party,
                                                    actor=actor, enforce_notice=channel != Channel.STAFF))
        except SlotUnavailable as exc:
            if exc.reason in NO_ALTERNATES_FOR:
                raise
            raise exc.with_alternates(self.alternates(
                restaurant, new_start, new_party, channel, reservation_id, None)) from None
        finally:
            if temporary is not None:
                self._release_quietly(temporary)

    # -- configuration --------------------------------------------------------------------------------

    def add_special_day(
        self, restaurant_key: str | UUID, day: SpecialDay, *, actor: str, force: bool = False
    ) -> tuple[int, list[Reservation]]:
        """Close or change the hours of a range of service dates. Returns the new special day's id and the
        live bookings it strands; without ``force`` any stranded booking refuses the change
        (WouldStrandBookings, listing them)."""
        if day.ends_on < day.starts_on:
            raise InvalidRequest("ends_on must not be before starts_on")
        if day.closed == (day.opens is not None and day.closes is not None):
            raise InvalidRequest("a special day is either closed, or open with both opens and closes")
        restaurant = self.store.restaurant(restaurant_key)
        return self.store.add_special_day(restaurant.id, day, actor=actor, force=force)

    def _announce(self, reservation: Reservation) -> Reservation:
        """After a change committed (its SMS is already in the outbox, same transaction), tell a sender so it
        goes out now. Best effort: a failure here never fails the booking; the scheduled sweep delivers it."""
        if self.changes is not None and not reservation.replayed:
            try:
                self.changes.reservation_changed(reservation.id)
            except Exception:
                _log.warning("change not published; the sweep will deliver its SMS", exc_info=True)
        return reservation

    def _release_quietly(self, hold: Hold) -> None:
        with contextlib.suppress(HoldsUnavailable):  # it expires by itself; PostgreSQL holds the truth
            self.holds.release(hold)


def _alternate(instant: datetime, tz: object) -> Alternate:
    local = to_local(instant, tz)  # type: ignore[arg-type]
    return Alternate(start=instant, local_date=local.date(), local_time=local.time().replace(tzinfo=None))


def _capacity_left(
    states: Iterable[BucketState], extra_party: int, held: dict[datetime, Load]
) -> tuple[BucketCapacity, ...]:
    """Covers and parties still free per bucket once ``extra_party`` (not yet in ``held``) is seated."""
    out = []
    for state in states:
        load = state.confirmed + held.get(state.bucket, Load())
        out.append(BucketCapacity(
            bucket=state.bucket,
            covers_left=max(0, state.caps.max_covers_present - load.covers_present - extra_party),
            parties_left=max(0, state.caps.max_parties_present - load.parties_present - (1 if extra_party else 0)),
        ))
    return tuple(out)


__all__ = ["BUCKET", "BookingService", "SlotRequest", "SystemClock", "validate_guest", "validate_phone"]
