"""API Gateway HTTP API (payload 2.0) events from tests/fixtures/apigw, a Lambda context, and readers for
what a handler returns and prints (CloudWatch EMF)."""

from __future__ import annotations

import base64
import importlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.support.databases import TestDatabase

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "apigw"


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools and mangum read."""

    function_name: str = "frontdesk-api-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:frontdesk-api-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "6f1c2b9e-3d4a-4f5b-9c8d-7e6f5a4b3c2d"
    log_group_name: str = "/aws/lambda/frontdesk-api-test"
    log_stream_name: str = "2026/11/27/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def booking_date() -> date:
    """A Tuesday at least a week ahead: open, inside the horizon, past the notice period."""
    day = date.today() + timedelta(days=7)
    while day.isoweekday() != 2:
        day += timedelta(days=1)
    return day


def load_event(name: str, **placeholders: str) -> dict[str, Any]:
    """A fixture event with ``__NAME__`` placeholders filled in — inside a base64 body too — and its
    content-length made true again."""
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    values = {"__LOCAL_DATE__": booking_date().isoformat(),
              **{f"__{k.upper()}__": v for k, v in placeholders.items()}}

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    body = event.pop("body", None)
    event = json.loads(fill(json.dumps(event)))
    if body is not None:
        raw = base64.b64decode(body).decode() if event["isBase64Encoded"] else body
        raw = fill(raw)
        event["body"] = base64.b64encode(raw.encode()).decode() if event["isBase64Encoded"] else raw
        event["headers"]["content-length"] = str(len(raw.encode()))
    return event


@dataclass
class LambdaEnv:
    database: TestDatabase
    secret_arn: str
    logs: io.StringIO = field(default_factory=io.StringIO)

    def invoke(self, handler: str, fixture: str, **placeholders: str) -> dict[str, Any]:
        module = importlib.import_module(f"frontdesk.handlers.{handler}")
        return module.handler(load_event(fixture, **placeholders), LambdaContext())  # type: ignore[no-any-return]

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.startswith("{")]


def json_body(response: dict[str, Any]) -> Any:
    body = response["body"]
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


def emf_metrics(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF documents printed to stdout."""
    return [doc for doc in (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
            if "_aws" in doc]


def metric_names(documents: list[dict[str, Any]]) -> list[str]:
    return [m["Name"] for doc in documents for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
