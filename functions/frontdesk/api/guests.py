"""Guest memory: look a guest up by phone, and record what staff know (name, notes, allergies)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import Field, StringConstraints, model_validator

from frontdesk.api import errors
from frontdesk.api.deps import provider, require_json
from frontdesk.api.errors import OutModel
from frontdesk.api.reservation_status import Actor
from frontdesk.api.schemas import SLUG_OR_UUID_PATTERN, GuestName, WireModel
from frontdesk.core.guests import MAX_ALLERGIES, MAX_GUEST_NOTES, GuestChanges, GuestProfile

if TYPE_CHECKING:
    from frontdesk.core.guests import GuestBook

router = APIRouter(prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_json)])

RestaurantPath = Annotated[str, Path(pattern=SLUG_OR_UUID_PATTERN, description="The restaurant's id (UUID) or slug.")]
PhonePath = Annotated[str, Path(max_length=32, description="The guest's E.164 number, e.g. `+12125550123` "
                                                           "(`%2B` for the plus sign also works).")]


async def guest_book(request: Request) -> GuestBook:
    book: GuestBook = provider(request).guests
    return book


if TYPE_CHECKING:
    Guests = GuestBook
else:
    Guests = Annotated[Any, Depends(guest_book)]


class GuestOut(OutModel):
    restaurant_id: UUID
    phone: str
    name: str = Field(description="'' when nobody has given a name yet.")
    notes: str
    allergies: str
    visit_count: int = Field(description="Reservations seated or completed (each counts once).")
    no_show_count: int
    last_visit_on: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, guest: GuestProfile) -> GuestOut:
        return cls(restaurant_id=guest.restaurant_id, phone=guest.phone, name=guest.name, notes=guest.notes,
                   allergies=guest.allergies, visit_count=guest.visit_count, no_show_count=guest.no_show_count,
                   last_visit_on=guest.last_visit_on, created_at=guest.created_at, updated_at=guest.updated_at)


class GuestPatch(WireModel):
    """What staff know about a guest. Omitted fields stay; `""` clears notes or allergies. An unknown number
    is created, so a regular can be noted before their first booking."""

    name: GuestName | None = None
    notes: Annotated[str, StringConstraints(max_length=MAX_GUEST_NOTES, pattern=r"^[^\x00]*$")] | None = None
    allergies: Annotated[str, StringConstraints(max_length=MAX_ALLERGIES, pattern=r"^[^\x00]*$")] | None = None
    actor: Actor = "api"

    @model_validator(mode="after")
    def _something_to_change(self) -> Any:
        if self.name is None and self.notes is None and self.allergies is None:
            raise ValueError("nothing to change: give name, notes or allergies")
        return self


@router.get(
    "/restaurants/{slug}/guests/{phone}",
    response_model=GuestOut,
    summary="A guest by phone number: name, notes, allergies, visits and no-shows",
    description="404 `guest_not_found` when the number has never booked (and nobody noted it).",
    responses=errors.problem_responses(404, 422, 503),
)
def get_guest(slug: RestaurantPath, phone: PhonePath, guests: Guests) -> GuestOut:
    return GuestOut.from_domain(guests.lookup(slug, phone))


@router.patch(
    "/restaurants/{slug}/guests/{phone}",
    response_model=GuestOut,
    summary="Record a guest's name, notes or allergies (logged with the actor)",
    responses=errors.problem_responses(400, 404, 413, 415, 422, 503),
)
def update_guest(slug: RestaurantPath, phone: PhonePath, patch: Annotated[GuestPatch, Body()],
                 guests: Guests) -> GuestOut:
    changes = GuestChanges(name=patch.name, notes=patch.notes, allergies=patch.allergies)
    return GuestOut.from_domain(guests.update(slug, phone, changes, actor=patch.actor))
