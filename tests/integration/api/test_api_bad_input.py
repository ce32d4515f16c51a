"""Whatever arrives, the answer is a 4xx problem that says what is wrong — never a 500, never a traceback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from frontdesk.api.app import create_app
from frontdesk.core.booking import BookingService
from frontdesk.core.errors import DatabaseUnavailable
from frontdesk.wiring import Services
from tests.integration.api.conftest import PHONE, assert_problem, weekday_ahead

pytestmark = pytest.mark.anyio

GOOD_CHECK = {"restaurant_id": "demo-bistro", "local_date": "2030-01-08", "local_time": "19:00", "party_size": 2}
GARBAGE: list[Any] = [
    None, [], "a string", 42, True, {"restaurant_id": {}}, {"restaurant_id": None, "party_size": None},
    {**GOOD_CHECK, "party_size": "4"}, {**GOOD_CHECK, "party_size": 4.0}, {**GOOD_CHECK, "party_size": True},
    {**GOOD_CHECK, "party_size": 10**30}, {**GOOD_CHECK, "party_size": -1},
    {**GOOD_CHECK, "local_time": "7pm"}, {**GOOD_CHECK, "local_time": "24:00"},
    {**GOOD_CHECK, "local_time": "19:00+01:00"}, {**GOOD_CHECK, "local_date": "2030-13-01"},
    {**GOOD_CHECK, "local_date": "9999-12-31"}, {**GOOD_CHECK, "local_date": "0001-01-01"},
    {"restaurant_id": "demo-bistro", "start_ts": "9999-12-31T23:59:59-12:00", "party_size": 2},
    {"restaurant_id": "demo-bistro", "start_ts": 1893456000, "party_size": 2},
    {"restaurant_id": "demo-bistro", "start_ts": "tomorrow at 7", "party_size": 2},
    {"restaurant_id": "demo-bistro", "start_ts": "2030-01-08T19:00:00", "party_size": 2},
    {"restaurant_id": "demo-bistro", "party_size": 2},
    {**GOOD_CHECK, "start_ts": "2030-01-08T19:00:00Z"},
    {"restaurant_id": "demo-bistro", "local_date": "2030-01-08", "party_size": 2},
    {**GOOD_CHECK, "restaurant_id": "demo\x00bistro"}, {**GOOD_CHECK, "restaurant_id": "'; DROP TABLE x; --"},
    {**GOOD_CHECK, "caller_phone": "+1 212 555 0123"}, {**GOOD_CHECK, "caller_phone": 12125550123},
    {**GOOD_CHECK, "extra": 1}, {**GOOD_CHECK, "channel": "staff"},
    {"a": {"b": {"c": {"d": {"e": [[[[[[[[[[[]]]]]]]]]]]}}}}},
]


@pytest.mark.parametrize("body", GARBAGE, ids=[f"garbage-{i}" for i in range(len(GARBAGE))])
async def test_garbage_availability_bodies_get_a_422_that_names_the_field(client: httpx.AsyncClient,
                                                                          body: Any) -> None:
    response = await client.post("/api/v1/availability/check", json=body)
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] and all(e["message"] and e["code"] for e in problem["errors"])
    assert problem["detail"].startswith(problem["errors"][0]["field"])


async def test_a_naive_timestamp_is_refused_with_a_hint_about_the_offset(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json={
        "restaurant_id": "demo-bistro", "start_ts": "2030-01-08T19:00:00", "party_size": 2})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] == [{"field": "body.start_ts", "pointer": "/start_ts", "code": "timezone_aware",
                                  "message": "must carry a UTC offset, e.g. 2026-12-01T19:00:00-05:00"}]


async def test_a_party_of_zero_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json={**GOOD_CHECK, "party_size": 0})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/party_size"


async def test_unknown_fields_are_refused_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json={**GOOD_CHECK, "partysize": 2})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"] == [{"field": "body.partysize", "pointer": "/partysize", "code": "extra_forbidden",
                                  "message": "is not a field of this request"}]


async def test_a_phone_that_is_not_e164_is_refused_with_an_example(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", json={**GOOD_CHECK, "caller_phone": "2125550123"})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["message"] == "must be an E.164 phone number, like +12125550123"


@pytest.mark.parametrize("raw", [b"{", b'{"restaurant_id": "demo-bistro",}', b"\xff\xfe", b"{'a': 1}",
                                 b'{"a": NaN}' + b" trailing"])
async def test_malformed_json_is_a_400_problem(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post("/api/v1/availability/check", content=raw,
                                 headers={"content-type": "application/json"})
    assert_problem(response, 400, "malformed_json")


async def test_an_empty_body_where_one_is_required_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check")
    assert_problem(response, 422, "validation_failed")


async def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(client: httpx.AsyncClient,
                                                                  services: Services) -> None:
    limit = services.settings.max_request_bytes
    body = json.dumps({**GOOD_CHECK, "caller_phone": "+1" + "2" * limit}).encode()
    response = await client.post("/api/v1/availability/check", content=body,
                                 headers={"content-type": "application/json"})
    problem = assert_problem(response, 413, "payload_too_large")
    assert str(limit) in problem["detail"]


async def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(client: httpx.AsyncClient,
                                                                        services: Services) -> None:
    chunk = b" " * 8192
    chunks = services.settings.max_request_bytes // len(chunk) + 2

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    response = await client.post("/api/v1/reservations/commit", content=stream(),
                                 headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")


async def test_a_body_that_is_not_json_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/availability/check", content=b"restaurant_id=demo-bistro",
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert_problem(response, 415, "unsupported_media_type")


async def test_a_body_without_a_content_type_is_a_415_that_asks_for_json(client: httpx.AsyncClient) -> None:
    body = {"restaurant_id": "demo-bistro", "local_date": weekday_ahead().isoformat(), "local_time": "19:00",
            "party_size": 2}
    request = client.build_request("POST", "/api/v1/availability/check", content=json.dumps(body).encode())
    assert "content-type" not in request.headers
    problem = assert_problem(await client.send(request), 415, "unsupported_media_type")
    assert "application/json" in problem["detail"]


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/api/v1/nope"), 404, "not_found")
    assert "/api/v1/nope" in problem["detail"]
    assert_problem(await client.get("/"), 404, "not_found")


async def test_a_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/availability/check")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_a_valid_client_request_id_is_echoed_and_a_bad_one_replaced(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/api/v1/nope", headers={"X-Request-Id": "bridge-call-42"})
    assert echoed.headers["x-request-id"] == echoed.json()["request_id"] == "bridge-call-42"
    replaced = await client.get("/api/v1/nope", headers={"X-Request-Id": "<script>" * 30})
    assert replaced.headers["x-request-id"] != "<script>" * 30


class _DownStore:
    """A BookingStore whose database is down."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise DatabaseUnavailable()

        return fail


async def test_a_database_outage_is_a_503_with_retry_after(services: Services) -> None:
    broken = _BrokenServices(services)
    broken.store = _DownStore()  # type: ignore[assignment]
    broken.booking = BookingService(broken.store, services.holds)  # type: ignore[arg-type]
    app = create_app(services=broken)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.post("/api/v1/availability/check", json=GOOD_CHECK)
    problem = assert_problem(response, 503, "database_unavailable")
    assert response.headers["retry-after"] == "2"
    assert "try again" in problem["detail"]


class _BrokenStore:
    """A BookingStore whose every read fails in a way nobody planned for."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals: password=hunter2")

        return fail


class _BrokenServices:
    def __init__(self, real: Services) -> None:
        self.settings = real.settings
        self.store = _BrokenStore()
        self.holds = real.holds
        self.booking = BookingService(self.store, real.holds)  # type: ignore[arg-type]


async def test_an_unexpected_failure_is_a_bare_500_problem_without_internals(services: Services) -> None:
    app = create_app(services=_BrokenServices(services))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=True),
                                 base_url="http://testserver") as client:
        response = await client.post("/api/v1/availability/check", json={**GOOD_CHECK, "caller_phone": PHONE})
    problem = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert set(problem) == {"type", "title", "status", "detail", "reason", "instance", "request_id"}
