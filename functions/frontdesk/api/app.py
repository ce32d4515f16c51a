"""The app factory, and ``serve`` for running every route under uvicorn (``frontdesk serve``).

Adding a group of routes is one module with a ``router`` (an ``APIRouter`` that carries its own prefix)
and, for Lambda, one handler ``Mangum(create_app(routers=[that.router]), lifespan="off")``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from frontdesk.api import errors
from frontdesk.api.deps import BodyLimitMiddleware, LazyServices, ServiceProvider
from frontdesk.api.errors import Problem
from frontdesk.api.observability import ObservabilityMiddleware

API_TITLE = "Front Desk booking API"
API_VERSION = "1.0.0"
OPENAPI_URL = "/api/v1/openapi.json"


def default_routers() -> list[APIRouter]:
    """Every route the API serves (what ``frontdesk serve`` runs)."""
    from frontdesk.api import availability, health, reservations, twilio

    routers = [health.router, availability.router, reservations.router, twilio.router]
    from frontdesk.api import guests, reservation_status

    routers += [reservation_status.router, guests.router]
    from frontdesk.api import restaurant_admin

    routers += [restaurant_admin.router]
    from frontdesk.api import sms

    routers.append(sms.router)
    from frontdesk.api import tables

    routers.append(tables.router)
    return routers


def create_app(
    routers: Sequence[APIRouter] | None = None,
    services: ServiceProvider | Callable[[], ServiceProvider] | None = None,
) -> FastAPI:
    """An app serving ``routers`` (all of them by default) over ``services`` (``frontdesk.wiring.services()``
    on first use by default). Building it reads no settings and opens no connection."""
    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description="Availability, holds and reservations for the Front Desk phone host. Errors are RFC 9457 "
                    "`application/problem+json` with a machine-readable `reason`.",
        openapi_url=OPENAPI_URL,
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    lazy = LazyServices(services)
    app.state.services = lazy
    errors.install(app)
    for router in routers if routers is not None else default_routers():
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=lambda: lazy.get().settings.max_request_bytes)
    app.add_middleware(ObservabilityMiddleware,
                       on_unhandled=lambda scope: errors.internal_error(Request(scope)))
    app.openapi = _openapi_with_problem(app)  # type: ignore[method-assign]
    return app


def _openapi_with_problem(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated schema plus the ``Problem`` component every error response refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem.pop("$defs", {}))
            components["Problem"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Every route under uvicorn, one worker: what ``frontdesk serve`` / ``make dev`` run."""
    import uvicorn

    from frontdesk.config import get_settings

    get_settings()  # refuse to start on invalid settings (e.g. unsigned Twilio webhooks in prod), not per request
    from frontdesk.sms_sweeper import start_local_sweeper
    from frontdesk.wiring import services

    sweeper = start_local_sweeper(services())  # no SQS locally: SMS go out from this process
    try:
        uvicorn.run(create_app(services=services()), host=host, port=port, workers=1, access_log=False,
                    proxy_headers=False)
    finally:
        if sweeper is not None:
            sweeper.stop()
