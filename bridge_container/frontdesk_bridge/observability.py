"""Structured JSON logs (one line per event worth knowing, never per frame) and EMF metrics per call."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["CallMetrics", "JsonFormatter", "configure_logging", "emit_active_calls"]

_STD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                body[key] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(body, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("websockets", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class CallMetrics:
    """Powertools EMF metrics for one call, flushed to stdout once when the call ends."""

    def __init__(self, namespace: str, service: str, call_sid: str) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics

        self._namespace = namespace
        self._service = service
        self._metrics = EphemeralMetrics(namespace=namespace, service=service)
        self._metrics.add_metadata(key="call_sid", value=call_sid)
        self._call_sid = call_sid
        self._empty = True

    def ms(self, name: str, value: float) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=round(value, 3))
        self._empty = False

    def count(self, name: str, value: float = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        self._empty = False

    def seconds(self, name: str, value: float) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=round(value, 3))
        self._empty = False

    def flush(self, outcome: str | None) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        try:
            if not self._empty:
                self._metrics.flush_metrics()
            if outcome:
                by_outcome = EphemeralMetrics(namespace=self._namespace, service=self._service)
                by_outcome.add_dimension(name="outcome", value=outcome)
                by_outcome.add_metadata(key="call_sid", value=self._call_sid)
                by_outcome.add_metric(name="CallOutcome", unit=MetricUnit.Count, value=1)
                by_outcome.flush_metrics()
        except Exception:
            logging.getLogger("frontdesk_bridge.metrics").warning("metrics flush failed", exc_info=True)


def emit_active_calls(namespace: str, service: str, active: int) -> None:
    """One EMF datapoint of live calls in this process. Emitted every minute, zeros included: the service
    scales on the average per task, and a task that says nothing would count as missing, not idle."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    try:
        metrics = EphemeralMetrics(namespace=namespace, service=service)
        metrics.add_metric(name="ActiveCalls", unit=MetricUnit.Count, value=active)
        metrics.flush_metrics()
    except Exception:
        logging.getLogger("frontdesk_bridge.metrics").warning("metrics flush failed", exc_info=True)
