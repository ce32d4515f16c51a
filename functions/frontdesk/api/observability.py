"""Request id, structured logs and metrics, as one small ASGI middleware.

* Correlation id: the API Gateway request id in Lambda (``requestContext.requestId``), else a valid
  ``X-Request-Id`` from the client, else a fresh one. Echoed as ``X-Request-Id`` and in every problem.
* Logs: Powertools ``Logger`` (JSON), one line per request (method, route, status, latency) with the
  correlation id; unexpected exceptions logged with their traceback and answered with a 500 problem.
* Metrics: routes call :func:`metric`; values are buffered per request and, in Lambda only, flushed as
  CloudWatch EMF through Powertools ``Metrics`` (namespace ``FrontDesk``) with the cold-start metric.
  Outside Lambda (uvicorn) they are dropped: the EMF sink is stdout-in-Lambda only.

Powertools is imported on the first request, never at import time, and the X-Ray SDK never.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

NAMESPACE = "FrontDesk"
SERVICE = "api"  # the `service` dimension the alarms and dashboard (infra_cdk) watch
HOLD_PLACED = "HoldPlaced"
HOLD_REJECTED = "HoldRejected"
HOLD_DEGRADED = "HoldDegraded"
RESERVATION_COMMITTED = "ReservationCommitted"
COMMIT_CONFLICT = "CommitConflict"
COMMIT_LATENCY_MS = "CommitLatencyMs"

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:=-]{1,128}$")
_metrics_buffer: contextvars.ContextVar[list[tuple[str, str, float]] | None] = contextvars.ContextVar(
    "frontdesk_metrics", default=None)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def metric(name: str, value: float = 1, unit: str = "Count") -> None:
    """Record a metric for the current request (a no-op outside a request)."""
    buffer = _metrics_buffer.get()
    if buffer is not None:
        buffer.append((name, unit, float(value)))


class _Powertools:
    """Powertools Logger and Metrics, built on first use and shared by every app in the process."""

    logger: Any = None
    metrics: Any = None
    app_logs_structured = False

    @classmethod
    def get_logger(cls) -> Any:
        if cls.logger is None:
            from aws_lambda_powertools import Logger

            cls.logger = Logger(service=SERVICE)
        return cls.logger

    @classmethod
    def structure_app_logs(cls) -> None:
        """In Lambda, every ``frontdesk.*`` logger (adapters, API, webhooks) writes through the Powertools
        handler too: JSON, with the correlation id of the invocation."""
        if cls.app_logs_structured:
            return
        logger = cls.get_logger()
        parent = logging.getLogger("frontdesk")
        parent.handlers = [logger.registered_handler]
        parent.setLevel(logger.log_level)
        parent.propagate = False
        cls.app_logs_structured = True

    @classmethod
    def get_metrics(cls) -> Any:
        if cls.metrics is None:
            from aws_lambda_powertools import Metrics

            cls.metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
        return cls.metrics


def request_id_for(scope: Scope) -> str:
    event = scope.get("aws.event")
    if isinstance(event, dict):
        context = event.get("requestContext")
        if isinstance(context, dict) and isinstance(context.get("requestId"), str):
            return str(context["requestId"])
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class ObservabilityMiddleware:
    """Outermost app middleware: ids, one log line, metrics, and the last line of defence (no 500 ever
    carries a traceback or escapes as a bare exception)."""

    def __init__(self, app: ASGIApp, on_unhandled: Callable[[Scope], Any]) -> None:
        self.app = app
        self.on_unhandled = on_unhandled
        self.cold_start = True  # one app per Lambda function: its first invocation is the cold one

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        in_lambda = "aws.context" in scope
        logger = _Powertools.get_logger()
        if in_lambda:
            _Powertools.structure_app_logs()
            logger.set_correlation_id(request_id)  # one request at a time per Lambda environment
        else:
            logger.thread_safe_append_keys(correlation_id=request_id)
        buffer: list[tuple[str, str, float]] = []
        token = _metrics_buffer.set(buffer)
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error",
                             extra={"route": _route_of(scope), "method": scope.get("method")})
            if not response_started:
                response = self.on_unhandled(scope)
                await response(scope, receive, send_with_id)
            status = 500
        finally:
            _metrics_buffer.reset(token)
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            logger.info("request", extra={"method": scope.get("method"), "route": _route_of(scope),
                                          "status": status, "duration_ms": elapsed_ms})
            if in_lambda:
                if self.cold_start:
                    self.cold_start = False
                    buffer.append(("ColdStart", "Count", 1.0))
                _flush_metrics(buffer)
            else:
                logger.thread_safe_remove_keys(["correlation_id"])


def _flush_metrics(buffer: list[tuple[str, str, float]]) -> None:
    metrics = _Powertools.get_metrics()
    try:
        for name, unit, value in buffer:
            metrics.add_metric(name=name, unit=unit, value=value)
        if metrics.metric_set:
            metrics.flush_metrics()
    except Exception:  # metrics must never fail a booking
        logging.getLogger("frontdesk.api").warning("could not emit metrics", exc_info=True)
        metrics.clear_metrics()
