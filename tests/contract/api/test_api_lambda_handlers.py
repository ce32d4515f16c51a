"""The Lambda handlers, driven by API Gateway HTTP API (payload 2.0) events from tests/fixtures/apigw."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.api.apigw_events import (
    FIXTURES,
    LambdaEnv,
    booking_date,
    emf_metrics,
    json_body,
    metric_names,
)

ROOT = Path(__file__).resolve().parents[3]


def _hold(env: LambdaEnv) -> dict[str, object]:
    response = env.invoke("availability", "availability_check.json")
    assert response["statusCode"] == 200, response
    return json_body(response)  # type: ignore[no-any-return]


def _book(env: LambdaEnv) -> dict[str, object]:
    hold = _hold(env)
    response = env.invoke("reservations", "reservation_commit.json", hold_id=str(hold["hold_id"]))
    assert response["statusCode"] == 201, response
    return json_body(response)  # type: ignore[no-any-return]


def test_every_fixture_is_a_payload_2_0_event_with_its_request_id() -> None:
    for path in FIXTURES.glob("*.json"):
        event = json.loads(path.read_text())
        assert event["version"] == "2.0", path.name
        assert event["requestContext"]["http"]["method"] in {"GET", "POST", "PATCH"}, path.name
        assert event["requestContext"]["requestId"], path.name


def test_healthz_through_lambda_needs_neither_aws_nor_the_database() -> None:
    event = (FIXTURES / "healthz.json").read_text()
    probe = (
        "import json, sys\n"
        "from frontdesk.handlers.health import handler\n"
        "class Ctx: function_name='f'; memory_limit_in_mb=128; aws_request_id='r'; "
        "invoked_function_arn='arn:aws:lambda:us-east-1:1:function:f'\n"
        f"out = handler(json.loads({event!r}), Ctx())\n"
        "heavy = [m for m in ('psycopg', 'redis', 'boto3', 'botocore.client', 'aws_xray_sdk', 'pydantic_settings',"
        " 'frontdesk.core.booking') if m in sys.modules]\n"
        "print(json.dumps({'status': out['statusCode'], 'body': out['body'], 'heavy': heavy}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)})
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome == {"status": 200, "body": '{"status":"ok"}', "heavy": []}


@pytest.mark.parametrize("handler", ["health", "availability", "reservations", "restaurant_admin"])
def test_importing_a_handler_loads_no_driver_sdk_tracer_or_settings(handler: str) -> None:
    probe = (
        f"import sys, frontdesk.handlers.{handler} as h\n"
        "assert callable(h.handler)\n"
        "print([m for m in ('psycopg', 'psycopg_pool', 'redis', 'boto3', 'botocore', 'aws_xray_sdk',"
        " 'pydantic_settings', 'aws_lambda_powertools.logging', 'aws_lambda_powertools.metrics',"
        " 'uvicorn') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_readiness_reads_the_database_credentials_from_secrets_manager(lambda_env: LambdaEnv) -> None:
    response = lambda_env.invoke("health", "readiness.json")
    assert response["statusCode"] == 200, response
    assert json_body(response) == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}}


def test_the_restaurant_event_with_a_path_parameter_returns_its_facts(lambda_env: LambdaEnv) -> None:
    response = lambda_env.invoke("availability", "restaurant_get.json")
    assert response["statusCode"] == 200, response
    body = json_body(response)
    assert body["slug"] == "demo-bistro" and len({h["local_date"] for h in body["hours"]}) == 14


def test_an_availability_event_places_a_hold_and_emits_hold_placed_with_the_cold_start(
        lambda_env: LambdaEnv, capsys: pytest.CaptureFixture[str]) -> None:
    response = lambda_env.invoke("availability", "availability_check.json")
    assert response["statusCode"] == 200, response
    assert response["headers"]["content-type"] == "application/json"
    assert response["headers"]["x-request-id"] == "Hc9aTnXyIAMEbYw="
    body = json_body(response)
    assert body["hold_id"].startswith("h_") and body["local_date"] == booking_date().isoformat()
    documents = emf_metrics(capsys.readouterr().out)
    assert sorted(metric_names(documents)) == ["ColdStart", "HoldPlaced"]
    assert {d["Namespace"] for doc in documents for d in doc["_aws"]["CloudWatchMetrics"]} == {"FrontDesk"}

    again = lambda_env.invoke("availability", "availability_check_base64.json")
    assert again["statusCode"] == 200, again
    assert json_body(again)["local_time"] == "19:30"
    assert metric_names(emf_metrics(capsys.readouterr().out)) == ["HoldPlaced"]  # warm: no cold start


def test_logs_carry_the_api_gateway_request_id_as_correlation_id(lambda_env: LambdaEnv) -> None:
    lambda_env.invoke("availability", "availability_check.json")
    lines = [line for line in lambda_env.log_lines() if line.get("message") == "request"]
    assert lines and lines[-1]["correlation_id"] == "Hc9aTnXyIAMEbYw="
    assert (lines[-1]["route"], lines[-1]["status"]) == ("/api/v1/availability/check", 200)
    assert "+12125550123" not in lambda_env.logs.getvalue()


def test_every_frontdesk_logger_writes_json_with_the_correlation_id_in_lambda(lambda_env: LambdaEnv) -> None:
    from frontdesk.api.observability import _Powertools

    lambda_env.invoke("availability", "restaurant_get.json")
    powertools = _Powertools.get_logger().registered_handler
    assert powertools in logging.getLogger("frontdesk").handlers
    assert logging.getLogger("frontdesk").propagate is False
    record = logging.getLogger("frontdesk.adapters.postgres").makeRecord(
        "frontdesk.adapters.postgres", logging.WARNING, __file__, 1, "database connection failed", (), None)
    line = json.loads(powertools.format(record))
    assert (line["level"], line["message"], line["correlation_id"]) == \
        ("WARNING", "database connection failed", "Hc9aSmLqIAMEbXQ=")


def test_a_commit_event_books_and_its_retry_replays_with_metrics_for_each(
        lambda_env: LambdaEnv, capsys: pytest.CaptureFixture[str]) -> None:
    hold = _hold(lambda_env)
    capsys.readouterr()
    first = lambda_env.invoke("reservations", "reservation_commit.json", hold_id=str(hold["hold_id"]))
    assert first["statusCode"] == 201, first
    created = json_body(first)
    assert first["headers"]["location"] == f"/api/v1/reservations/{created['id']}"
    names = metric_names(emf_metrics(capsys.readouterr().out))
    assert sorted(names) == ["ColdStart", "CommitLatencyMs", "ReservationCommitted"]

    again = lambda_env.invoke("reservations", "reservation_commit.json", hold_id=str(hold["hold_id"]))
    assert (again["statusCode"], again["headers"]["idempotent-replayed"]) == (200, "true")
    assert json_body(again) == created
    assert metric_names(emf_metrics(capsys.readouterr().out)) == ["CommitLatencyMs"]
    assert lambda_env.database.scalar("SELECT idempotency_key FROM reservations") == \
        f"CA0123456789abcdef0123456789abcdef:{hold['hold_id']}"


def test_a_base64_commit_without_a_hold_books_the_slot(lambda_env: LambdaEnv) -> None:
    response = lambda_env.invoke("reservations", "reservation_commit_base64_slot.json")
    assert response["statusCode"] == 201, response
    assert (json_body(response)["local_time"], json_body(response)["guest_name"]) == ("17:30", "Grace Hopper")


def test_query_string_events_find_by_phone_and_list_by_date(lambda_env: LambdaEnv) -> None:
    booked = _book(lambda_env)
    by_phone = lambda_env.invoke("reservations", "reservations_by_phone.json")
    by_date = lambda_env.invoke("reservations", "reservations_by_date.json")
    assert (by_phone["statusCode"], by_date["statusCode"]) == (200, 200)
    assert [r["id"] for r in json_body(by_phone)["items"]] == [booked["id"]]
    assert [r["id"] for r in json_body(by_date)["items"]] == [booked["id"]]


def test_path_parameter_events_read_patch_and_cancel_a_reservation(lambda_env: LambdaEnv) -> None:
    rid = str(_book(lambda_env)["id"])
    read = lambda_env.invoke("reservations", "reservation_get.json", reservation_id=rid)
    assert (read["statusCode"], json_body(read)["party_size"]) == (200, 4)
    patched = lambda_env.invoke("reservations", "reservation_patch_base64.json", reservation_id=rid)
    assert (patched["statusCode"], json_body(patched)["party_size"]) == (200, 6)
    cancelled = lambda_env.invoke("reservations", "reservation_cancel.json", reservation_id=rid)
    assert (cancelled["statusCode"], json_body(cancelled)["status"]) == (200, "cancelled")


def test_a_naive_timestamp_event_is_a_422_problem_carrying_the_request_id(lambda_env: LambdaEnv) -> None:
    response = lambda_env.invoke("availability", "availability_check_naive_ts.json")
    assert response["statusCode"] == 422
    assert response["headers"]["content-type"] == "application/problem+json"
    assert response["isBase64Encoded"] is False  # problems are text to API Gateway, readable in its logs
    problem = json_body(response)
    assert problem["request_id"] == "Hc9aVq01IAMEbaQ="
    assert problem["errors"][0]["pointer"] == "/start_ts"


def test_each_function_serves_only_its_own_routes(lambda_env: LambdaEnv) -> None:
    misrouted = lambda_env.invoke("availability", "reservations_by_phone.json")
    assert misrouted["statusCode"] == 404
    assert json_body(misrouted)["reason"] == "not_found"
    unknown = lambda_env.invoke("reservations", "unknown_route.json", reservation_id="x")
    assert (unknown["statusCode"], json_body(unknown)["reason"]) == (404, "not_found")


def test_the_database_connection_is_made_once_and_reused_across_invocations(lambda_env: LambdaEnv) -> None:
    from frontdesk import wiring

    lambda_env.invoke("availability", "restaurant_get.json")
    store = wiring.services().store
    pool = store._db._pool
    lambda_env.invoke("availability", "availability_check.json")
    lambda_env.invoke("reservations", "reservations_by_phone.json")
    assert wiring.services().store is store and store._db._pool is pool and pool is not None


def test_a_configuration_change_through_lambda_is_logged_as_the_iam_caller_not_a_header(
        lambda_env: LambdaEnv) -> None:
    response = lambda_env.invoke("restaurant_admin", "config_special_day_add.json")
    assert response["statusCode"] == 201, response
    assert json_body(response)["special_day"]["reason"] == "private event"
    expected = "iam:arn:aws:sts::123456789012:assumed-role/frontdesk-staff/ana"
    assert lambda_env.database.scalar("SELECT actor FROM event_log WHERE kind = 'special_day.added'") == expected
    again = lambda_env.invoke("restaurant_admin", "config_special_day_add.json")  # the same date: overlaps
    assert again["statusCode"] == 422 and "overlaps special day" in json_body(again)["detail"]
