"""Guest memory: what a restaurant knows about the people who book (by E.164 phone), and the staff's edits.

Visits and no-shows are counted by PostgreSQL from reservation status changes (``BookingService.set_status``);
this module reads them and lets staff keep a name, notes and allergies. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from frontdesk.core.booking import MAX_NAME, validate_phone
from frontdesk.core.errors import GuestNotFound, InvalidRequest
from frontdesk.core.model import Restaurant

MAX_GUEST_NOTES = 1000
MAX_ALLERGIES = 300
MAX_SEARCH = 100
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class GuestProfile:
    """One guest of one restaurant. ``name`` is '' when nobody has given one yet."""

    restaurant_id: UUID
    phone: str
    name: str
    notes: str
    allergies: str
    visit_count: int
    no_show_count: int
    last_visit_on: date | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GuestChanges:
    """What staff change; None keeps a field as it is, '' clears it (except the name, which stays set)."""

    name: str | None = None
    notes: str | None = None
    allergies: str | None = None

    @property
    def empty(self) -> bool:
        return self.name is None and self.notes is None and self.allergies is None


class GuestStore(Protocol):
    def get(self, restaurant_id: UUID, phone: str) -> GuestProfile | None: ...

    def search(self, restaurant_id: UUID, text: str | None, limit: int) -> list[GuestProfile]:
        """Guests whose name contains ``text`` (any case) or whose phone contains its digits; all without it.
        Most recent visitors first."""
        ...

    def update(self, restaurant_id: UUID, phone: str, changes: GuestChanges, *, actor: str) -> GuestProfile:
        """Apply the changes (creating the guest if unknown) and log them with the actor."""
        ...


class RestaurantLookup(Protocol):
    def restaurant(self, key: str | UUID) -> Restaurant: ...


def validate_changes(changes: GuestChanges) -> GuestChanges:
    if changes.empty:
        raise InvalidRequest("nothing to change: give a name, notes or allergies")
    name = changes.name
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME or _CONTROL.search(name):
            raise InvalidRequest(f"a guest's name must be 1 to {MAX_NAME} characters without control characters")
    for label, value, limit in (("notes", changes.notes, MAX_GUEST_NOTES),
                                ("allergies", changes.allergies, MAX_ALLERGIES)):
        if value is not None and (len(value) > limit or "\x00" in value):
            raise InvalidRequest(f"{label} must be at most {limit} characters, without NUL characters")
    return GuestChanges(name=name, notes=changes.notes, allergies=changes.allergies)


class GuestBook:
    """The guest use cases: look a caller up, list or search, and record what staff know."""

    def __init__(self, guests: GuestStore, restaurants: RestaurantLookup) -> None:
        self.guests = guests
        self.restaurants = restaurants

    def lookup(self, restaurant_key: str | UUID, phone: str) -> GuestProfile:
        restaurant = self.restaurants.restaurant(restaurant_key)
        found = self.guests.get(restaurant.id, validate_phone(phone))
        if found is None:
            raise GuestNotFound(f"no guest with that number at {restaurant.name}")
        return found

    def list(self, restaurant_key: str | UUID, search: str | None = None,
             limit: int = DEFAULT_LIST_LIMIT) -> list[GuestProfile]:
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidRequest(f"limit must be between 1 and {MAX_LIST_LIMIT}")
        text = (search or "").strip() or None
        if text is not None and (len(text) > MAX_SEARCH or _CONTROL.search(text)):
            raise InvalidRequest(f"search text must be at most {MAX_SEARCH} characters, without control characters")
        restaurant = self.restaurants.restaurant(restaurant_key)
        return self.guests.search(restaurant.id, text, limit)

    def update(self, restaurant_key: str | UUID, phone: str, changes: GuestChanges, *,
               actor: str) -> GuestProfile:
        changes = validate_changes(changes)
        restaurant = self.restaurants.restaurant(restaurant_key)
        return self.guests.update(restaurant.id, validate_phone(phone), changes, actor=actor)


__all__ = ["GuestBook", "GuestChanges", "GuestProfile", "GuestStore", "validate_changes"]
