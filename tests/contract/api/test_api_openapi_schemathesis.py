"""Property-based: schemathesis generates requests from the app's own OpenAPI document and checks that no
answer is a 5xx and every answer (status, content type, headers, body) is one the document promises."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from frontdesk.api import availability, health, reservations
from frontdesk.api.app import OPENAPI_URL, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


class _CurrentServices:
    """The services of the test being run: the app is built once (schemathesis reads its OpenAPI at import),
    each test still gets its own database and Redis prefix."""

    current: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(type(self).current, name)

    @property
    def booking(self) -> Any:
        return type(self).current.booking


# The booking API's own routes (the Twilio webhooks are another contract, tested with their signatures).
APP = create_app(routers=[health.router, availability.router, reservations.router], services=_CurrentServices())
schema = schemathesis.openapi.from_asgi(OPENAPI_URL, APP)


@pytest.fixture(autouse=True)
def _services_for_this_test(app_services: Any) -> Any:
    _CurrentServices.current = app_services
    yield
    _CurrentServices.current = None


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_answers_as_its_openapi_document_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_openapi_document_publishes_every_route_and_the_problem_schema() -> None:
    document = schema.raw_schema
    assert set(document["paths"]) == {
        "/api/v1/healthz", "/api/v1/readiness", "/api/v1/restaurants/{slug}", "/api/v1/availability/check",
        "/api/v1/reservations/commit", "/api/v1/reservations/{reservation_id}", "/api/v1/reservations",
        "/api/v1/reservations/{reservation_id}/cancel"}
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "reason"} <= set(problem["required"])
    check = document["paths"]["/api/v1/availability/check"]["post"]["responses"]
    assert set(check) == {"200", "400", "404", "409", "413", "415", "422", "503"}
    assert "application/problem+json" in check["409"]["content"]
