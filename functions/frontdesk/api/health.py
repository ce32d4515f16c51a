"""Liveness and readiness. Public in AWS (no IAM auth), so they reveal nothing but up/down."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from frontdesk.api import errors
from frontdesk.api.deps import Services
from frontdesk.api.errors import OutModel

router = APIRouter(prefix="/api/v1", tags=["health"])
log = logging.getLogger("frontdesk.api")
CHECK_TIMEOUT_SECONDS = 3.0


class Health(OutModel):
    status: Literal["ok"] = "ok"


class Readiness(OutModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, Literal["ok", "unavailable"]]


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers (touches nothing)")
async def healthz() -> Health:
    return Health()


async def _check(name: str, ping: Any) -> tuple[str, Literal["ok", "unavailable"]]:
    try:
        await asyncio.wait_for(run_in_threadpool(ping), CHECK_TIMEOUT_SECONDS)
        return name, "ok"
    except Exception as exc:  # any failure, including a missing setting, means "not ready"
        log.warning("readiness: %s unavailable: %s", name, type(exc).__name__)
        return name, "unavailable"


@router.get(
    "/readiness",
    response_model=Readiness,
    summary="Readiness: PostgreSQL `SELECT 1` and Redis `PING`",
    responses=errors.problem_responses(503),
)
async def readiness(request: Request, services: Services) -> Readiness | Response:
    checks = dict(await asyncio.gather(
        _check("postgres", lambda: services.store.ping()),
        _check("redis", lambda: services.holds.ping()),
    ))
    failed = sorted(name for name, state in checks.items() if state != "ok")
    if failed:
        return errors.problem(request, 503, "service_unavailable",
                              f"not ready: {', '.join(failed)} unavailable",
                              reason="not_ready", checks=checks)
    return Readiness(checks=checks)
