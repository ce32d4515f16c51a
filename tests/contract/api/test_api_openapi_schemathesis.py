"""Property-based: schemathesis generates requests from the app's own OpenAPI document and checks that no
answer is a 5xx and every answer (status, content type, headers, body) is one the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.api import availability, health, reservations
from tests.contract.api.schemathesis_support import CHECKS, PROPERTY_SETTINGS, app_schema

# The booking API's own routes (the Twilio webhooks are another contract, tested with their signatures).
SERVICES, schema = app_schema([health.router, availability.router, reservations.router])


@pytest.fixture(autouse=True)
def _services_for_this_test(app_services: Any) -> Iterator[None]:
    with SERVICES.serving(app_services):
        yield


@schema.parametrize()
@PROPERTY_SETTINGS
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
