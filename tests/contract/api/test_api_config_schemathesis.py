"""Property-based, for the configuration routes: schemathesis generates requests from their OpenAPI document
(garbage and valid alike, against a real database) and checks that no answer is a 5xx and every answer is
one the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.api import restaurant_admin
from tests.contract.api.schemathesis_support import CHECKS, PROPERTY_SETTINGS, app_schema

SERVICES, schema = app_schema([restaurant_admin.router])


@pytest.fixture(autouse=True)
def _services_for_this_test(app_services: Any) -> Iterator[None]:
    with SERVICES.serving(app_services):
        yield


@schema.parametrize()
@PROPERTY_SETTINGS
def test_every_configuration_operation_answers_as_its_openapi_document_says(case: Any) -> None:
    # The seeded restaurant, so generated bodies reach the use cases and the database rather than a 404
    # (unknown restaurants and ids have their own tests).
    for key in ("slug", "restaurant"):
        if case.path_parameters and key in case.path_parameters:
            case.path_parameters[key] = "demo-bistro"
    case.call_and_validate(checks=CHECKS)


def test_the_configuration_routes_are_published_with_their_conflicts() -> None:
    paths = schema.raw_schema["paths"]
    assert set(paths) == {
        "/api/v1/restaurants/{slug}", "/api/v1/restaurants/{restaurant}/hours",
        "/api/v1/restaurants/{restaurant}/special-days",
        "/api/v1/restaurants/{restaurant}/special-days/{special_day_id}",
        "/api/v1/restaurants/{restaurant}/capacity-rules", "/api/v1/restaurants/{restaurant}/capacity-rules/{rule_id}",
        "/api/v1/restaurants/{restaurant}/turn-times"}
    problem = schema.raw_schema["components"]["schemas"]["Problem"]["properties"]
    assert {"affected", "forceable"} <= set(problem)
    assert "409" in paths["/api/v1/restaurants/{restaurant}/special-days"]["post"]["responses"]
