"""Restaurant facts for the voice agent, and the availability check that places a 5-minute hold."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from frontdesk.api import errors
from frontdesk.api.deps import Booking, require_json
from frontdesk.api.observability import HOLD_DEGRADED, HOLD_PLACED, HOLD_REJECTED, metric
from frontdesk.api.schemas import SLUG_OR_UUID, AvailabilityCheck, HoldOut, RestaurantOut, channel
from frontdesk.core.errors import RestaurantNotFound, SlotUnavailable

router = APIRouter(prefix="/api/v1", tags=["availability"], dependencies=[Depends(require_json)])
HOURS_DAYS = 14


@router.get(
    "/restaurants/{slug}",
    response_model=RestaurantOut,
    summary="Name, hours for the next 14 service dates, special days, policies, max party size",
    responses=errors.problem_responses(404, 422, 503),
)
def get_restaurant(
    booking: Booking,
    slug: str = Path(description="The restaurant's slug (or id); anything else is a 404."),
) -> RestaurantOut:
    if not SLUG_OR_UUID.match(slug):
        raise RestaurantNotFound(f"no restaurant {slug[:64]!r}")
    overview = booking.overview(slug, days=HOURS_DAYS)
    return RestaurantOut.from_domain(overview.restaurant, list(overview.days), list(overview.special_days))


@router.post(
    "/availability/check",
    response_model=HoldOut,
    summary="Check a time and hold it for 5 minutes",
    description="200 with a `hold_id` to commit within `expires_at`. When holds are degraded (Redis down) "
                "the time is free but not held: `hold_id` is null and `degraded` true; commit with the slot "
                "instead. 409 `slot_unavailable` says why (`reason`) and offers `alternates`.",
    responses=errors.problem_responses(400, 404, 409, 413, 415, 422, 503),
)
def check_availability(body: AvailabilityCheck, booking: Booking) -> HoldOut:
    try:
        result = booking.check_and_hold(body.restaurant_id, body.slot_request(), channel(body.channel))
    except SlotUnavailable:
        metric(HOLD_REJECTED)
        raise
    metric(HOLD_PLACED if result.hold is not None else HOLD_DEGRADED)
    return HoldOut.from_domain(result)
