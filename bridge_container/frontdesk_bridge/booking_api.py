"""Client of the booking HTTP API (the contract between the bridge and the Lambda side).

Returns parsed JSON on success and raises :class:`BookingProblem` for RFC 9457 problem responses
(4xx with ``reason`` / ``alternates``) or :class:`BookingUnavailable` for anything that means "the API
could not answer" (network, timeout, 5xx, non-JSON). In AWS (a region configured) requests are signed
with SigV4 for API Gateway IAM auth (service ``execute-api``); locally they are plain HTTP.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import quote

import httpx
import orjson

__all__ = ["BookingApi", "BookingProblem", "BookingUnavailable", "SigV4Auth"]


class BookingUnavailable(Exception):
    """The booking API could not be reached or failed (5xx, timeout, garbage)."""


class BookingProblem(Exception):
    """A problem+json answer (4xx): the request was understood and refused."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.reason = str(body.get("reason") or "")
        self.title = str(body.get("title") or "")
        self.detail = str(body.get("detail") or "")
        alternates = body.get("alternates")
        self.alternates: list[dict[str, Any]] = [a for a in alternates if isinstance(a, dict)] \
            if isinstance(alternates, list) else []
        super().__init__(f"{status} {self.reason or self.title}: {self.detail}")


class SigV4Auth(httpx.Auth):
    """SigV4 for API Gateway (``execute-api``) using botocore's signer and default credential chain."""

    def __init__(self, region: str) -> None:
        import botocore.session  # heavy: only when signing is configured

        self._region = region
        self._session = botocore.session.get_session()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.auth import SigV4Auth as _Signer
        from botocore.awsrequest import AWSRequest

        credentials = self._session.get_credentials()
        if credentials is not None:
            aws_request = AWSRequest(method=request.method, url=str(request.url), data=request.content,
                                     headers={"Content-Type": request.headers.get("Content-Type", "")})
            _Signer(credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(aws_request)
            for name, value in aws_request.headers.items():
                request.headers[name] = value
        yield request


class BookingApi:
    def __init__(self, base_url: str, timeout: float = 4.0, aws_region: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            auth=SigV4Auth(aws_region) if aws_region else None,
            headers={"User-Agent": "frontdesk-bridge/1", "Accept": "application/json"},
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                       params: dict[str, str] | None = None) -> Any:
        content = orjson.dumps(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            resp = await self._client.request(method, path, content=content, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise BookingUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise BookingUnavailable(f"{method} {path}: HTTP {resp.status_code}")
        try:
            body = orjson.loads(resp.content) if resp.content else {}
        except orjson.JSONDecodeError as exc:
            raise BookingUnavailable(f"{method} {path}: response is not JSON") from exc
        if resp.status_code >= 400:
            raise BookingProblem(resp.status_code, body if isinstance(body, dict) else {})
        return body

    async def get_restaurant(self, slug_or_id: str) -> dict[str, Any]:
        body = await self._request("GET", f"/api/v1/restaurants/{quote(slug_or_id, safe='')}")
        if not isinstance(body, dict):
            raise BookingUnavailable("restaurant details are not a JSON object")
        return body

    async def get_guest(self, restaurant_id: str, phone: str) -> dict[str, Any] | None:
        """What the restaurant knows about a caller (name, notes, allergies), or None for an unknown number."""
        try:
            body = await self._request("GET", f"/api/v1/restaurants/{quote(restaurant_id, safe='')}"
                                              f"/guests/{quote(phone, safe='')}")
        except BookingProblem as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict):
            raise BookingUnavailable("guest details are not a JSON object")
        return body

    async def check_availability(self, restaurant_id: str, local_date: str, local_time: str, party_size: int,
                                 caller_phone: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"restaurant_id": restaurant_id, "local_date": local_date,
                                "local_time": local_time, "party_size": party_size}
        if caller_phone:
            body["caller_phone"] = caller_phone
        return await self._request("POST", "/api/v1/availability/check", json=body)

    async def commit(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", "/api/v1/reservations/commit", json=body)

    async def find_reservations(self, restaurant_id: str, phone: str) -> list[dict[str, Any]]:
        body = await self._request("GET", "/api/v1/reservations",
                                   params={"restaurant_id": restaurant_id, "phone": phone})
        items = body.get("items") if isinstance(body, dict) else None
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    async def cancel(self, reservation_id: str) -> dict[str, Any]:
        return await self._request(
            "POST", f"/api/v1/reservations/{quote(reservation_id, safe='')}/cancel")

    async def modify(self, reservation_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return await self._request(
            "PATCH", f"/api/v1/reservations/{quote(reservation_id, safe='')}", json=changes)
