"""The booking HTTP API contract in memory, as an httpx transport (for tests that are not about the API).

Scenario tests that prove bookings reach PostgreSQL use the real API (the ``booking_api`` fixture);
everything else uses this fake, which answers with the same JSON and problem+json shapes.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import orjson

from .http_server import HttpServer

__all__ = ["FakeBookingApi"]

RESTAURANT_ID = "11111111-1111-4111-8111-111111111111"


def _problem(status: int, reason: str, title: str, alternates: list[dict[str, Any]] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"type": f"https://frontdesk.example/problems/{reason}", "title": title,
                            "status": status, "detail": title, "reason": reason}
    if alternates is not None:
        body["alternates"] = alternates
    return httpx.Response(status, content=orjson.dumps(body), headers={"Content-Type": "application/problem+json"})


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers={"Content-Type": "application/json"})


@dataclass
class FakeBookingApi:
    restaurant_id: str = RESTAURANT_ID
    name: str = "Demo Bistro"
    phone: str = "+15550001111"  # the number the AI answers
    failover_phone: str = "+15550002222"  # the restaurant's own line, where transfers go
    full_times: set[str] = field(default_factory=set)  # "HH:MM" that answer 409 full
    delay: float = 0.0
    down: bool = False
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    reservations: dict[str, dict[str, Any]] = field(default_factory=dict)
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)
    guests: dict[str, dict[str, Any]] = field(default_factory=dict)  # phone -> the guest record the API returns
    guest_delay: float = 0.0  # extra delay of the guest lookup only
    guest_down: bool = False  # the guest lookup alone answers 503

    def add_guest(self, phone: str, name: str = "", notes: str = "", allergies: str = "") -> dict[str, Any]:
        guest = {"restaurant_id": self.restaurant_id, "phone": phone, "name": name, "notes": notes,
                 "allergies": allergies, "visit_count": 1, "no_show_count": 0, "last_visit_on": None,
                 "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        self.guests[phone] = guest
        return guest

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(self._handle)

    async def serve(self) -> HttpServer:
        """The same fake over real HTTP on 127.0.0.1 (for a bridge running in another process)."""
        async def handler(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
            request = httpx.Request(method, f"http://fake{target}", content=body, headers=headers)
            response = await self._handle(request)
            return response.status_code, response.headers.get("content-type", "application/json"), response.content

        server = HttpServer(handler)
        await server.start()
        return server

    def restaurant(self) -> dict[str, Any]:
        today = date.today()
        hours = [{"local_date": (today + timedelta(days=i)).isoformat(), "opens": "17:00", "closes": "22:00",
                  "closed": False, "reason": None} for i in range(14)]
        return {"id": self.restaurant_id, "slug": "demo-bistro", "name": self.name, "timezone": "America/New_York",
                "phone": self.phone, "failover_phone": self.failover_phone,
                "address": "1 Main St", "policies": {"cancellation": "24 hours notice"},
                "max_party_size": 8, "hours": hours, "special_days": []}

    def calls_to(self, fragment: str) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if fragment in r[1]]

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            return _json(503, {"title": "Service Unavailable", "status": 503})
        path, method = request.url.path, request.method
        if method == "GET" and path.startswith("/api/v1/restaurants/") and "/guests/" in path:
            if self.guest_delay:
                await asyncio.sleep(self.guest_delay)
            if self.guest_down:
                return _json(503, {"title": "Service Unavailable", "status": 503})
            guest = self.guests.get(path.rsplit("/", 1)[-1])
            return _json(200, guest) if guest else _problem(404, "guest_not_found", "No such guest")
        if method == "GET" and path.startswith("/api/v1/restaurants/"):
            return _json(200, self.restaurant())
        if method == "POST" and path == "/api/v1/availability/check":
            t = body["local_time"]
            if t in self.full_times:
                hh, mm = map(int, t.split(":"))
                alts = [{"start_ts": f"{body['local_date']}T{hh + d:02d}:{mm:02d}:00-05:00",
                         "local_date": body["local_date"], "local_time": f"{hh + d:02d}:{mm:02d}"} for d in (1, 2)]
                return _problem(409, "full", "No table at that time", alts)
            hold_id = str(uuid.uuid4())
            hold = {"hold_id": hold_id, "expires_at": "2030-01-01T00:05:00Z",
                    "start_ts": f"{body['local_date']}T{t}:00-05:00", "end_ts": None,
                    "local_date": body["local_date"], "local_time": t, "party_size": body["party_size"],
                    "degraded": False, "capacity": {}}
            self.holds[hold_id] = hold
            return _json(200, hold)
        if method == "POST" and path == "/api/v1/reservations/commit":
            hold = self.holds.pop(body.get("hold_id", ""), None)
            if hold is None:
                return _problem(409, "hold_expired", "Hold expired")
            rid = str(uuid.uuid4())
            res = {"id": rid, "restaurant_id": self.restaurant_id, "start_ts": hold["start_ts"],
                   "local_date": hold["local_date"], "local_time": hold["local_time"],
                   "party_size": hold["party_size"], "guest_name": body["guest_name"],
                   "guest_phone": body["guest_phone"], "notes": body.get("notes"), "status": "confirmed"}
            self.reservations[rid] = res
            return _json(201, res)
        if method == "GET" and path == "/api/v1/reservations":
            phone = request.url.params.get("phone")
            items = [r for r in self.reservations.values() if r["guest_phone"] == phone and r["status"] != "cancelled"]
            return _json(200, {"items": items})
        if method == "POST" and path.endswith("/cancel"):
            rid = path.split("/")[-2]
            if rid not in self.reservations:
                return _problem(404, "not_found", "Reservation not found")
            self.reservations[rid]["status"] = "cancelled"
            return _json(200, self.reservations[rid])
        if method == "PATCH" and path.startswith("/api/v1/reservations/"):
            rid = path.split("/")[-1]
            if rid not in self.reservations:
                return _problem(404, "not_found", "Reservation not found")
            self.reservations[rid].update({k: v for k, v in body.items() if k in ("local_date", "local_time",
                                                                                  "party_size")})
            return _json(200, self.reservations[rid])
        return _problem(404, "not_found", "Not found")
