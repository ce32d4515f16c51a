"""Property-based, for the floor's status route and guest memory: schemathesis generates requests from the
app's own OpenAPI document; no answer may be a 5xx, and every answer must be one the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.api import guests, reservation_status
from tests.contract.api.schemathesis_support import CHECKS, PROPERTY_SETTINGS, app_schema

SERVICES, schema = app_schema([reservation_status.router, guests.router])


@pytest.fixture(autouse=True)
def _services_for_this_test(app_services: Any) -> Iterator[None]:
    with SERVICES.serving(app_services):
        yield


@schema.parametrize()
@PROPERTY_SETTINGS
def test_every_floor_and_guest_operation_answers_as_its_openapi_document_says(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)
