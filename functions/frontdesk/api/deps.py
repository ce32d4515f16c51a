"""What routes depend on: the services (built lazily, once) and JSON-only bodies, plus the body limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, Request

from frontdesk.api import errors
from frontdesk.api.observability import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from frontdesk.config import Settings
    from frontdesk.core.booking import BookingService


class ServiceProvider(Protocol):
    """What the API needs from wiring: ``frontdesk.wiring.Services`` or a test's own."""

    @property
    def settings(self) -> Settings: ...

    @property
    def booking(self) -> BookingService: ...

    @property
    def store(self) -> Any: ...

    @property
    def holds(self) -> Any: ...

    @property
    def guests(self) -> Any: ...


class LazyServices:
    """The app's services: given explicitly (tests, ``serve``), or ``frontdesk.wiring.services()`` resolved
    on the first request, so building an app (a Lambda cold start) reads no settings and connects nowhere."""

    def __init__(self, services: ServiceProvider | Callable[[], ServiceProvider] | None) -> None:
        self._given = services
        self._resolved: ServiceProvider | None = None
        self._lock = threading.Lock()

    def get(self) -> ServiceProvider:
        resolved = self._resolved
        if resolved is not None:
            return resolved
        with self._lock:
            if self._resolved is None:
                given = self._given
                if given is None:
                    from frontdesk.wiring import services

                    self._resolved = services()
                elif callable(given) and not hasattr(given, "booking"):
                    self._resolved = given()
                else:
                    self._resolved = given  # type: ignore[assignment]
            return self._resolved  # type: ignore[return-value]


def provider(request: Request) -> ServiceProvider:
    lazy: LazyServices = request.app.state.services
    return lazy.get()


async def booking_service(request: Request) -> BookingService:
    return provider(request).booking


if TYPE_CHECKING:
    Booking = BookingService
else:  # the core is imported by the routes that use it, not by every handler
    Booking = Annotated[Any, Depends(booking_service)]
Services = Annotated[ServiceProvider, Depends(provider)]


async def require_json(request: Request) -> None:
    """Bodies are JSON: a non-empty body sent as anything else (or with no Content-Type) is a 415 that says
    so, not a confusing 422. An empty body (``POST .../cancel``) needs no Content-Type."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    if await request.body():
        raise errors.UnsupportedMediaType(content_type or "no Content-Type")


class BodyLimitMiddleware:
    """Refuse bodies over ``settings.max_request_bytes`` with 413, by declared length before reading, and
    while reading for bodies without one (chunked). The limit (the settings) is looked up only when a
    request has a body, so a bodiless GET such as ``/healthz`` touches nothing."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if value == b"0":
                    break
                limit = self.limit()
                if not value.isdigit() or int(value) > limit:
                    refusal = errors.problem(Request(scope), 413, "payload_too_large",
                                             f"the request body is larger than {limit} bytes")
                    await refusal(scope, receive, send)
                    return
                break
        received = 0

        async def limited() -> Any:
            nonlocal received
            message = await receive()
            chunk = message.get("body", b"") if message.get("type") == "http.request" else b""
            if chunk:
                received += len(chunk)
                limit = self.limit()
                if received > limit:
                    raise errors.PayloadTooLarge(limit)
            return message

        await self.app(scope, limited, send)
