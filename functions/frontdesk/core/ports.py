"""What the use cases need from the outside world, as small Protocols. Adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol
from uuid import UUID

from frontdesk.core.model import (
    BucketState,
    Channel,
    DayPlan,
    Guest,
    Hold,
    Load,
    Reservation,
    ReservationStatus,
    Restaurant,
    SlotEvaluation,
    SpecialDay,
)


class BookingStore(Protocol):
    """The source of truth (PostgreSQL). Writes are race-free on their own: they lock and re-check."""

    def restaurant(self, key: str | UUID) -> Restaurant: ...

    def evaluate(
        self, restaurant_id: UUID, start: datetime, party_size: int, *, exclude: UUID | None, enforce_notice: bool,
        channel: Channel | None = None,
    ) -> SlotEvaluation:
        """Everything but capacity (hours, blackouts, party size, notice), plus the confirmed load and caps of
        the slot's buckets, so the caller applies the capacity rule to them. When the restaurant has tables
        and none would be free for this party (and channel), the reason is "full"."""
        ...

    def day_plans(self, restaurant_id: UUID, first: date, last: date) -> list[DayPlan]: ...

    def special_days(self, restaurant_id: UUID, first: date, last: date) -> list[SpecialDay]: ...

    def bucket_states(
        self, restaurant_id: UUID, spans: Sequence[tuple[date, datetime, datetime]], exclude: UUID | None
    ) -> dict[date, list[BucketState]]:
        """Confirmed load and caps of every bucket in each (service date, start, end) span, in one read."""
        ...

    def commit(
        self,
        *,
        restaurant_id: UUID,
        start: datetime,
        party_size: int,
        guest: Guest,
        channel: Channel,
        hold_id: str | None,
        idempotency_key: str | None,
        hold_expires_at: datetime | None,
        actor: str,
    ) -> Reservation: ...

    def find_replay(
        self, hold_id: str | None, idempotency_key: str | None, restaurant_id: UUID | None = None
    ) -> Reservation | None: ...

    def turn_minutes(self, restaurant_id: UUID, party_size: int) -> int: ...

    def cancel(self, reservation_id: UUID, *, actor: str, reason: str) -> Reservation: ...

    def modify(
        self,
        reservation_id: UUID,
        *,
        start: datetime | None,
        party_size: int | None,
        actor: str,
        enforce_notice: bool,
    ) -> Reservation: ...

    def add_special_day(
        self, restaurant_id: UUID, day: SpecialDay, *, actor: str, force: bool
    ) -> tuple[int, list[Reservation]]: ...

    def get(self, reservation_id: UUID) -> Reservation: ...

    def find_by_phone(self, restaurant_id: UUID, phone: str, now: datetime) -> list[Reservation]: ...

    def list_for_date(self, restaurant_id: UUID, service_date: date) -> list[Reservation]: ...

    def ping(self) -> None: ...

    def free_table_starts(
        self, restaurant_id: UUID, starts: Sequence[datetime], duration: timedelta, party_size: int, *,
        channel: Channel, exclude: UUID | None,
    ) -> set[datetime]:
        """Which of these starts would find a free table for the party (all of them when the restaurant
        has no tables), in one read."""
        ...

    def set_status(self, reservation_id: UUID, status: ReservationStatus, *, actor: str) -> Reservation:
        """Seat, complete or mark a no-show under the reservation's row lock; the same status again is a
        replay. Transitions the floor does not allow raise InvalidStateTransition."""
        ...


class HoldStore(Protocol):
    """Short-lived promises (Redis). Raises HoldsUnavailable when it cannot answer."""

    def place(self, hold: Hold, buckets: Sequence[BucketState]) -> dict[datetime, Load] | None:
        """Atomically add the hold if confirmed + held load plus this party fits every bucket. Returns the
        held load per bucket including this hold, or None when it did not fit."""
        ...

    def held_loads(self, restaurant_id: UUID, buckets: Sequence[datetime]) -> dict[datetime, Load]: ...

    def get(self, hold_id: str) -> Hold | None: ...

    def release(self, hold: Hold) -> None: ...

    def ping(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
