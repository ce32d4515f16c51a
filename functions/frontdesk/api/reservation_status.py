"""The floor's reservation changes: seat, complete, mark a no-show. One use case, one route."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path
from pydantic import Field, StringConstraints

from frontdesk.api import errors
from frontdesk.api.deps import Booking, require_json
from frontdesk.api.reservations import _out, _reservation_id
from frontdesk.api.schemas import ReservationOut, WireModel

router = APIRouter(prefix="/api/v1", tags=["reservations"], dependencies=[Depends(require_json)])

Actor = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e][\x20-\x7e]*$"),
    Field(description="Who made the change, for the audit log (a staff name or initials); `api` by default."),
]


class StatusChange(WireModel):
    """`seated` and `completed` count a visit for the guest (once per reservation), `no_show` a no-show.
    Allowed: confirmed → seated | completed | no_show, seated → completed, and the correction no_show → seated."""

    status: Literal["seated", "completed", "no_show"]
    actor: Actor = "api"


@router.post(
    "/reservations/{reservation_id}/status",
    response_model=ReservationOut,
    summary="Seat, complete, or mark a no-show",
    description="The same status again returns the reservation unchanged. 409 `invalid_state` for a change "
                "the floor does not allow (e.g. a cancelled or completed reservation); 409 `slot_unavailable` "
                "(`duplicate_booking`) when seating a no-show would overlap the same phone's other booking.",
    responses=errors.problem_responses(400, 404, 409, 413, 415, 422, 503),
)
def set_status(
    reservation_id: Annotated[str, Path(description="The reservation's id (UUID); anything else is a 404.")],
    change: Annotated[StatusChange, Body()],
    booking: Booking,
) -> ReservationOut:
    return _out(booking, booking.set_status(_reservation_id(reservation_id), change.status, actor=change.actor))
