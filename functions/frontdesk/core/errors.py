"""One tree of domain errors. Entry points map it once: to HTTP in the API, to speech in the bridge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time


class FrontDeskError(Exception):
    """Base of every error the core raises on purpose. ``code`` is stable and machine-readable."""

    code = "error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.__doc__ or self.code
        super().__init__(self.detail)


class InvalidRequest(FrontDeskError):
    """The request is not valid."""

    code = "invalid_request"


class NonexistentLocalTime(InvalidRequest):
    """That local time does not exist (the clocks spring forward over it)."""

    code = "nonexistent_local_time"


class NotFound(FrontDeskError):
    """Not found."""

    code = "not_found"


class RestaurantNotFound(NotFound):
    """No such restaurant."""

    code = "restaurant_not_found"


class ReservationNotFound(NotFound):
    """No such reservation."""

    code = "reservation_not_found"


class TableNotFound(NotFound):
    """No such table or combination."""

    code = "table_not_found"


@dataclass(frozen=True)
class Alternate:
    start: datetime
    local_date: date
    local_time: time


class SlotUnavailable(FrontDeskError):
    """The requested time cannot be booked. ``reason`` says why; ``alternates`` are bookable instead."""

    code = "slot_unavailable"
    reasons = frozenset(
        {"closed", "blackout", "full", "held", "party_too_large", "too_soon", "too_far_ahead", "duplicate_booking"}
    )

    def __init__(self, reason: str, detail: str | None = None, alternates: tuple[Alternate, ...] = ()) -> None:
        assert reason in self.reasons, reason
        self.reason = reason
        self.alternates = alternates
        super().__init__(detail or reason.replace("_", " "))

    def with_alternates(self, alternates: tuple[Alternate, ...]) -> SlotUnavailable:
        return SlotUnavailable(self.reason, self.detail, alternates)


class HoldExpired(FrontDeskError):
    """The hold has expired or was never placed; check availability again."""

    code = "hold_expired"


class InvalidStateTransition(FrontDeskError):
    """The reservation is not in a state that allows this change."""

    code = "invalid_state"


class WouldStrandBookings(FrontDeskError):
    """The change would leave live bookings outside the hours; repeat it with force to apply it anyway."""

    code = "would_strand_bookings"
    #: Whether repeating the change with force applies it (see TimezoneChangeBlocked).
    forceable = True

    def __init__(self, detail: str | None = None, affected: tuple[object, ...] = (),
                 timezone: str | None = None) -> None:
        self.affected = affected
        #: The restaurant's timezone, when known, so the affected bookings can be shown in local time.
        self.timezone = timezone
        super().__init__(detail)


class TimezoneChangeBlocked(WouldStrandBookings):
    """The timezone cannot change while bookings lie ahead (their local times would move); cancel or move
    them first. Force does not apply."""

    code = "timezone_change_blocked"
    forceable = False


class ServiceUnavailable(FrontDeskError):
    """A dependency is unavailable; try again shortly."""

    code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The reservation database is unavailable; try again shortly."""

    code = "database_unavailable"


class HoldsUnavailable(ServiceUnavailable):
    """Holds cannot be read right now; commit with the slot (restaurant, start, party size) instead."""

    code = "holds_unavailable"


class GuestNotFound(NotFound):
    """No guest with that phone number at this restaurant."""

    code = "guest_not_found"
