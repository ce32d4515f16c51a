"""Property-based, for the floor's status route and guest memory: schemathesis generates requests from the
app's own OpenAPI document; no answer may be a 5xx, and every answer must be one the document promises."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from frontdesk.api import guests, reservation_status
from frontdesk.api.app import OPENAPI_URL, create_app
from tests.contract.api.test_api_openapi_schemathesis import CHECKS


class _CurrentServices:
    """The services of the test being run (the app is built once, at import, for schemathesis to read)."""

    current: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(type(self).current, name)

    @property
    def booking(self) -> Any:
        return type(self).current.booking


APP = create_app(routers=[reservation_status.router, guests.router], services=_CurrentServices())
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
def test_every_floor_and_guest_operation_answers_as_its_openapi_document_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
