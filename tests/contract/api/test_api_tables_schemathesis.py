"""Property-based, for the floor-plan routes: schemathesis generates requests from their OpenAPI document
(garbage and valid alike, against a real database that has a few tables) and checks that no answer is a 5xx
and every answer is one the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.api import tables
from tests.contract.api.schemathesis_support import CHECKS, PROPERTY_SETTINGS, app_schema

SERVICES, schema = app_schema([tables.router])


@pytest.fixture(autouse=True)
def _services_for_this_test(app_services: Any) -> Iterator[None]:
    from frontdesk.core.tables import DiningTable

    admin = app_services.tables  # something for generated names to hit, now and then
    for name, seats in (("T1", 2), ("T2", 4), ("0", 6)):
        admin.add_table("demo-bistro", DiningTable(name, 1, seats), actor="schemathesis")
    admin.combine("demo-bistro", "T1+T2", ["T1", "T2"], actor="schemathesis")
    with SERVICES.serving(app_services):
        yield


@schema.parametrize()
@PROPERTY_SETTINGS
def test_every_floor_plan_operation_answers_as_its_openapi_document_says(case: Any) -> None:
    # The seeded restaurant, so generated bodies reach the use cases and the database rather than a 404.
    if case.path_parameters and "restaurant" in case.path_parameters:
        case.path_parameters["restaurant"] = "demo-bistro"
    case.call_and_validate(checks=CHECKS)


def test_the_floor_plan_routes_are_published_with_their_conflicts() -> None:
    paths = schema.raw_schema["paths"]
    assert set(paths) == {
        "/api/v1/restaurants/{restaurant}/tables", "/api/v1/restaurants/{restaurant}/tables/{name}",
        "/api/v1/restaurants/{restaurant}/table-combinations",
        "/api/v1/restaurants/{restaurant}/table-combinations/{name}"}
    assert set(paths["/api/v1/restaurants/{restaurant}/tables/{name}"]) == {"patch", "delete"}
    assert "409" in paths["/api/v1/restaurants/{restaurant}/tables/{name}"]["delete"]["responses"]
    table_in = schema.raw_schema["components"]["schemas"]["TableIn"]
    assert table_in["additionalProperties"] is False
    assert table_in["properties"]["name"]["maxLength"] == 40
