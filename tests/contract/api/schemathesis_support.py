"""The setup every schemathesis test of the API shares: an app built once (schemathesis reads its OpenAPI
document at import) over the services of the test being run (each test still gets its own database and Redis
prefix), the checks, and the hypothesis settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import schemathesis
from fastapi import APIRouter
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from frontdesk.api.app import OPENAPI_URL, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                    HealthCheck.filter_too_much, HealthCheck.data_too_large])


class CurrentServices:
    """Stands in for the services of whichever test is running (``serving``)."""

    def __init__(self) -> None:
        self.current: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["current"], name)

    @property
    def booking(self) -> Any:  # LazyServices takes an object with ``booking`` as the services themselves
        return self.current.booking

    @contextmanager
    def serving(self, services: Any) -> Iterator[None]:
        self.current = services
        try:
            yield
        finally:
            self.current = None


def app_schema(routers: Sequence[APIRouter]) -> tuple[CurrentServices, Any]:
    """An app serving ``routers`` and its schemathesis schema; route its services with ``serving``."""
    services = CurrentServices()
    return services, schemathesis.openapi.from_asgi(OPENAPI_URL, create_app(routers=routers, services=services))
