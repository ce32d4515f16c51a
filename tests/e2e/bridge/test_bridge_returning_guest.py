"""Returning callers through the whole bridge: the model's instructions welcome a known number by name, and
the guest lookup can never delay or break the greeting (it runs beside the restaurant fetch, bounded)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.doubles.bridge_harness import BridgeHarness, run
from tests.doubles.fake_booking_api import FakeBookingApi

pytestmark = pytest.mark.slow

CALLER = "+15551230000"
NORMAL_GREETING = '"Thanks for calling Demo Bistro, how can I help?"'


def test_a_known_caller_is_welcomed_back_by_name_with_their_allergies() -> None:
    fake = FakeBookingApi()
    fake.add_guest(CALLER, "Ana Lopez", notes="celebrates in June", allergies="shellfish")

    async def scenario() -> None:
        async with BridgeHarness(fake_booking=fake) as h:
            caller, model = await h.call(caller_number=CALLER)
            instructions = model.session_config["instructions"]
            assert "Welcome back, Ana!" in instructions
            assert 'Allergies: "shellfish"' in instructions and "celebrates in June" in instructions
            assert h.model.violations == []
            await caller.stop()
    run(scenario())


def test_an_unknown_or_withheld_number_gets_the_normal_greeting() -> None:
    async def scenario() -> None:
        async with BridgeHarness() as h:
            _, model = await h.call(caller_number="+15559990000")
            assert NORMAL_GREETING in model.session_config["instructions"]
            _, withheld = await h.call(caller_number="anonymous")
            assert NORMAL_GREETING in withheld.session_config["instructions"]
            # an unknown number is asked about once; a withheld one is not asked about at all
            assert [p for _, p, _ in h.fake_booking.calls_to("/guests/")] == [
                f"/api/v1/restaurants/{h.restaurant_id}/guests/+15559990000"]
    run(scenario())


@pytest.mark.parametrize("trouble", ["down", "slow"])
def test_a_failing_or_hanging_guest_lookup_never_holds_up_the_greeting(trouble: str) -> None:
    fake = FakeBookingApi()
    fake.add_guest(CALLER, "Ana")
    if trouble == "down":
        fake.guest_down = True
    else:
        fake.guest_delay = 3600  # never answers within the call

    async def scenario() -> None:
        async with BridgeHarness(fake_booking=fake, guest_lookup_timeout_seconds=0.3) as h:
            caller, model = await h.call(caller_number=CALLER)  # the greeting was requested
            assert NORMAL_GREETING in model.session_config["instructions"]
            assert len(fake.calls_to("/guests/")) == 1
            await caller.stop()
    run(scenario(), timeout=20)


@dataclass
class _RestaurantWaitsForGuestLookup(FakeBookingApi):
    """Answers the restaurant only once the guest lookup has arrived: a bridge that asked one after the
    other would never get its restaurant."""

    guest_asked: asyncio.Event = field(default_factory=asyncio.Event)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if "/guests/" in request.url.path:
            self.guest_asked.set()
        elif request.url.path.startswith("/api/v1/restaurants/"):
            await asyncio.wait_for(self.guest_asked.wait(), timeout=5)
        return await super()._handle(request)


def test_the_guest_lookup_runs_beside_the_restaurant_fetch() -> None:
    fake = _RestaurantWaitsForGuestLookup()
    fake.add_guest(CALLER, "Ana")

    async def scenario() -> None:
        async with BridgeHarness(fake_booking=fake) as h:
            _, model = await h.call(caller_number=CALLER)
            assert "Welcome back, Ana!" in model.session_config["instructions"]
    run(scenario())


def test_a_guest_seated_through_the_real_api_is_welcomed_back_on_the_next_call(booking_api: Any) -> None:
    info = httpx.get(f"{booking_api.url}/api/v1/restaurants/{booking_api.restaurant_slug}", timeout=10).json()
    soon = (date.today() + timedelta(days=2)).isoformat()
    day = next(h["local_date"] for h in info["hours"] if not h["closed"] and h["local_date"] >= soon)
    with httpx.Client(base_url=booking_api.url, timeout=10) as api:
        booked = api.post("/api/v1/reservations/commit", json={
            "restaurant_id": booking_api.restaurant_slug, "local_date": day, "local_time": "19:00",
            "party_size": 2, "guest_name": "Ana Lopez", "guest_phone": CALLER})
        assert booked.status_code == 201, booked.text
        seated = api.post(f"/api/v1/reservations/{booked.json()['id']}/status", json={"status": "seated"})
        assert seated.status_code == 200, seated.text
        noted = api.patch(f"/api/v1/restaurants/{booking_api.restaurant_slug}/guests/{CALLER}",
                          json={"allergies": "peanuts", "actor": "maria"})
        assert noted.status_code == 200, noted.text

    async def scenario() -> None:
        async with BridgeHarness(booking_url=booking_api.url) as h:
            caller, model = await h.call(restaurant_id=booking_api.restaurant_id, caller_number=CALLER)
            instructions = model.session_config["instructions"]
            assert "Welcome back, Ana!" in instructions and 'Allergies: "peanuts"' in instructions
            assert "Lopez" not in instructions
            await caller.stop()
    run(scenario(), timeout=60)
