"""Property-based, for the configuration routes: schemathesis generates requests from their OpenAPI document
(garbage and valid alike, against a real database) and checks that no answer is a 5xx and every answer is
one the document promises."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from frontdesk.api import restaurant_admin
from frontdesk.api.app import OPENAPI_URL, create_app
from tests.contract.api.test_api_openapi_schemathesis import CHECKS


class _CurrentServices:
    """The services of the test being run (the app is built once, at import, for its OpenAPI document)."""

    current: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(type(self).current, name)

    @property
    def booking(self) -> Any:
        return type(self).current.booking


APP = create_app(routers=[restaurant_admin.router], services=_CurrentServices())
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
