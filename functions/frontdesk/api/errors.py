"""Every error leaves the API as RFC 9457 ``application/problem+json``, mapped here and nowhere else.

A problem carries ``type``, ``title``, ``status``, ``detail``, ``instance`` and ``request_id``, plus
``reason`` (the stable machine code a client branches on), ``alternates`` on 409 ``slot_unavailable``,
``errors`` on 422 (every field that is wrong). No stack trace, no echo of the input: bodies can carry
names and phone numbers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from http import HTTPStatus
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from frontdesk.core import errors as domain

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://frontdesk.dev/problems/"
log = logging.getLogger("frontdesk.api")

# Domain error class → HTTP status. Looked up along the MRO, so a subclass inherits its parent's status.
STATUS: dict[type[domain.FrontDeskError], int] = {
    domain.InvalidRequest: 422,
    domain.NotFound: 404,
    domain.SlotUnavailable: 409,
    domain.HoldExpired: 409,
    domain.InvalidStateTransition: 409,
    domain.WouldStrandBookings: 409,
    domain.ServiceUnavailable: 503,
    domain.FrontDeskError: 400,
}
TITLES: dict[str, str] = {
    "invalid_request": "The request is not valid",
    "nonexistent_local_time": "That local time does not exist",
    "not_found": "Not found",
    "restaurant_not_found": "No such restaurant",
    "reservation_not_found": "No such reservation",
    "slot_unavailable": "That time cannot be booked",
    "hold_expired": "The hold has expired or was never placed",
    "invalid_state": "The reservation cannot change in its current state",
    "would_strand_bookings": "The change would strand existing bookings",
    "timezone_change_blocked": "The timezone cannot change while bookings lie ahead",
    "service_unavailable": "A dependency is unavailable",
    "database_unavailable": "The reservation database is unavailable",
    "holds_unavailable": "Holds are unavailable",
    "validation_failed": "The request did not validate",
    "malformed_json": "The body is not valid JSON",
    "payload_too_large": "The request body is too large",
    "unsupported_media_type": "The body must be JSON",
    "method_not_allowed": "Method not allowed",
    "internal_error": "Something went wrong on our side",
    "guest_not_found": "No such guest",
    "table_not_found": "No such table or combination",
}
# Seconds a client should wait before retrying a 503.
RETRY_AFTER = "2"
HHMM_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"


# -- the problem wire format ----------------------------------------------------------------------------------

def hhmm(value: time | datetime) -> str:
    return value.strftime("%H:%M")


class OutModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class AlternateOut(OutModel):
    start_ts: datetime
    local_date: date
    local_time: Annotated[str, Field(pattern=HHMM_PATTERN)]

    @classmethod
    def from_domain(cls, alternate: domain.Alternate) -> AlternateOut:
        return cls(start_ts=alternate.start, local_date=alternate.local_date,
                   local_time=hhmm(alternate.local_time))


class FieldError(OutModel):
    field: str = Field(description="Where: `body.guest_phone`, `query.date`, `body` for the whole body.")
    pointer: str = Field(description="The same place as a JSON pointer into the request body (RFC 6901), "
                                     "or a `#query`/`#path`/`#header` location.")
    message: str
    code: str = Field(description="Machine-readable kind of error (pydantic error type).")


class AffectedReservationOut(OutModel):
    """A live booking a configuration change would strand: enough to find and call the guest."""

    id: str
    service_date: date
    start_ts: datetime
    end_ts: datetime
    local_date: date | None = Field(description="Local start date (null when the timezone is unknown).")
    local_time: Annotated[str, Field(pattern=HHMM_PATTERN)] | None
    party_size: int
    guest_name: str
    guest_phone: str
    status: str

    @classmethod
    def from_domain(cls, reservation: Any, timezone: str | None) -> AffectedReservationOut:
        local = reservation.start.astimezone(ZoneInfo(timezone)) if timezone else None
        return cls(id=str(reservation.id), service_date=reservation.service_date, start_ts=reservation.start,
                   end_ts=reservation.end, local_date=local.date() if local else None,
                   local_time=hhmm(local) if local else None, party_size=reservation.party_size,
                   guest_name=reservation.guest_name, guest_phone=reservation.guest_phone,
                   status=str(reservation.status.value if hasattr(reservation.status, "value") else reservation.status))


def affected_json(affected: Iterable[Any], timezone: str | None) -> list[dict[str, Any]]:
    return [AffectedReservationOut.from_domain(r, timezone).model_dump(mode="json") for r in affected]


class Problem(OutModel):
    """RFC 9457 problem details. `reason` is the stable machine-readable code to branch on."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    reason: str
    request_id: str | None = None
    alternates: list[AlternateOut] | None = Field(
        default=None, description="On 409 `slot_unavailable`: bookable starts instead (may be empty).")
    errors: list[FieldError] | None = Field(default=None, description="On 422: every field that is wrong.")
    checks: dict[str, Literal["ok", "unavailable"]] | None = Field(
        default=None, description="On 503 from readiness: each dependency's state.")
    affected: list[AffectedReservationOut] | None = Field(
        default=None, description="On 409 `would_strand_bookings` / `timezone_change_blocked`: the live bookings "
                                  "the change would strand (or that block it).")
    forceable: bool | None = Field(
        default=None, description="On 409 `would_strand_bookings`: repeating the change with `?force=true` "
                                  "applies it anyway (still reporting `affected`).")


# -- mapping --------------------------------------------------------------------------------------------------


def status_for(exc: domain.FrontDeskError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem+json response. ``code`` names the problem type; ``reason`` defaults to it."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": TITLES.get(code) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "reason": reason or code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update({k: v for k, v in extensions.items() if v is not None})
    all_headers = dict(headers or {})
    if status == 503:
        all_headers.setdefault("Retry-After", RETRY_AFTER)
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    headers=all_headers, media_type=PROBLEM_JSON)


def alternates_json(alternates: Iterable[domain.Alternate]) -> list[dict[str, Any]]:
    return [AlternateOut.from_domain(a).model_dump(mode="json") for a in alternates]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, domain.FrontDeskError)
    status = status_for(exc)
    if status >= 500:
        log.warning("dependency unavailable: %s", exc.code)
    if isinstance(exc, domain.SlotUnavailable):
        return problem(request, status, exc.code, exc.detail, reason=exc.reason,
                       alternates=alternates_json(exc.alternates))
    if isinstance(exc, domain.WouldStrandBookings):
        return problem(request, status, exc.code, exc.detail, alternates=[],
                       affected=affected_json(exc.affected, exc.timezone), forceable=exc.forceable)
    if status == 409:
        return problem(request, status, exc.code, exc.detail, alternates=[])
    return problem(request, status, exc.code, exc.detail)


# -- request validation -------------------------------------------------------------------------------------

_FRIENDLY: dict[str, str] = {
    "timezone_aware": "must carry a UTC offset, e.g. 2026-12-01T19:00:00-05:00",
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "int_type": "must be a whole number",
    "string_type": "must be a string",
    "string_unicode": "must be valid Unicode text",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "uuid_parsing": "must be a UUID",
}
# Bounds, worded from the error's context (pydantic's ``ctx``).
_BOUNDS: dict[str, tuple[str, str]] = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "string_too_short": ("min_length", "must be at least {} characters"),
    "string_too_long": ("max_length", "must be at most {} characters"),
}
_PATTERN_HINTS: dict[str, str] = {
    "guest_phone": "must be an E.164 phone number, like +12125550123",
    "caller_phone": "must be an E.164 phone number, like +12125550123",
    "phone": "must be an E.164 phone number, like +12125550123",
    "local_time": "must be a 24-hour local time, HH:MM",
    "local_date": "must be a date, YYYY-MM-DD",
    "date": "must be a date, YYYY-MM-DD",
    "restaurant_id": "must be a restaurant id (UUID) or slug",
    "hold_id": "must be a hold_id returned by the availability check",
    "idempotency_key": "must be 1 to 128 printable ASCII characters without spaces",
    "guest_name": "must not contain control characters",
    "notes": "must not contain NUL characters",
    "reason": "must not contain NUL characters",
}
_UNION_TAGS = frozenset({"with_hold", "with_slot"})


def _path(loc: Sequence[Any]) -> list[Any]:
    return [part for part in loc if part not in _UNION_TAGS and not (isinstance(part, str) and "[" in part)]


def _message(error: Mapping[str, Any], field: str) -> str:
    kind = str(error.get("type", ""))
    if kind == "string_pattern_mismatch" and field in _PATTERN_HINTS:
        return _PATTERN_HINTS[field]
    friendly = _FRIENDLY.get(kind)
    if friendly:
        return friendly
    if kind in _BOUNDS:
        key, template = _BOUNDS[kind]
        bound = (error.get("ctx") or {}).get(key)
        if isinstance(bound, int | float):
            return template.format(bound)
    message = str(error.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:]


def _pointer(path: Sequence[Any]) -> str:
    if path and path[0] in ("query", "path", "header", "cookie"):
        return "#" + "/".join([str(path[0]), *(str(p) for p in path[1:])])
    rest = path[1:] if path and path[0] == "body" else path
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in rest) if rest else ""


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for error in errors:
        path = _path(error.get("loc", ()))
        name = str(path[-1]) if len(path) > 1 else ""
        out.append({"field": ".".join(str(p) for p in path) or "body", "pointer": _pointer(path),
                    "message": _message(error, name), "code": str(error.get("type", "invalid"))})
    return out


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(request, 400, "malformed_json",
                       "the request body is not valid JSON; send a JSON object with "
                       "Content-Type: application/json")
    listed = field_errors(errors)
    first = listed[0] if listed else {"field": "body", "message": "is not valid"}
    more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
    return problem(request, 422, "validation_failed", f"{first['field']} {first['message']}{more}",
                   errors=listed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
            415: "unsupported_media_type", 400: "bad_request"}.get(status, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(status).phrase else None
    if status == 404 and detail is None:
        detail = f"there is no {request.method} {request.url.path} in this API; see /api/v1/openapi.json"
    if status == 405 and detail is None:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem(request, status, code, detail or HTTPStatus(status).phrase, headers=exc.headers)


def internal_error(request: Request | None) -> Response:
    return problem(request, 500, "internal_error",
                   "the request could not be completed; it is safe to retry with the same idempotency key")


def install(app: FastAPI) -> None:
    """Register the handlers on an app. Unexpected exceptions are caught by the observability middleware
    (logged with their traceback, answered with a bare 500 problem)."""
    app.add_exception_handler(domain.FrontDeskError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class PayloadTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class UnsupportedMediaType(StarletteHTTPException):
    def __init__(self, content_type: str) -> None:
        super().__init__(415, f"send the body with Content-Type: application/json (got {content_type[:60]!r})")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem statuses an operation can return."""
    ref = {"$ref": "#/components/schemas/Problem"}
    descriptions = {
        400: "Malformed JSON", 404: "Not found", 409: "Conflict (see `reason`; `alternates` when a time "
        "is unavailable)", 413: "Body too large", 415: "Body is not JSON", 422: "Validation failed (see "
        "`errors`)", 503: "A dependency is unavailable; retry after `Retry-After` seconds",
        500: "Unexpected error",
    }
    return {s: {"description": descriptions.get(s, HTTPStatus(s).phrase),
                "content": {PROBLEM_JSON: {"schema": ref}}} for s in statuses}
