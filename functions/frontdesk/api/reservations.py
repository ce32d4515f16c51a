"""Reservations: commit (with a hold, or a slot), read, find, cancel, modify. One use case per route."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response

from frontdesk.api import errors
from frontdesk.api.deps import Booking, require_json
from frontdesk.api.observability import COMMIT_CONFLICT, COMMIT_LATENCY_MS, RESERVATION_COMMITTED, metric
from frontdesk.api.schemas import (
    CancelRequest,
    CommitRequest,
    CommitWithHold,
    IdempotencyKey,
    ReservationChanges,
    ReservationList,
    ReservationOut,
    ReservationQuery,
    channel,
)
from frontdesk.core.booking import BookingService
from frontdesk.core.errors import FrontDeskError, InvalidRequest, ReservationNotFound
from frontdesk.core.model import Reservation

router = APIRouter(prefix="/api/v1", tags=["reservations"], dependencies=[Depends(require_json)])
ReservationId = Annotated[str, Path(description="The reservation's id (UUID); anything else is a 404.")]


def _reservation_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise ReservationNotFound(f"no reservation {raw[:64]!r}") from None


def _out(booking: BookingService, reservation: Reservation) -> ReservationOut:
    return ReservationOut.from_domain(reservation, booking.restaurant(reservation.restaurant_id).timezone)


@router.post(
    "/reservations/commit",
    response_model=ReservationOut,
    status_code=201,
    summary="Book a held table (or a slot, without a hold)",
    description="201 with the new reservation and a `Location`. A retry with the same `hold_id` or "
                "idempotency key (body `idempotency_key` or `Idempotency-Key` header) returns the same "
                "reservation with 200 and `Idempotent-Replayed: true`. 409 `hold_expired` when the hold is "
                "unknown or expired; 409 `slot_unavailable` (with `alternates`) when capacity is gone.",
    responses={200: {"description": "A replay: the reservation an earlier identical commit made",
                     "model": ReservationOut},
               **errors.problem_responses(400, 404, 409, 413, 415, 422, 503)},
)
def commit(
    body: Annotated[CommitRequest, Body()],
    booking: Booking,
    response: Response,
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
) -> ReservationOut:
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise InvalidRequest("the Idempotency-Key header and the body's idempotency_key differ")
    key = body.idempotency_key or idempotency_key
    started = time.perf_counter()
    try:
        if isinstance(body, CommitWithHold):
            reservation = booking.commit(body.hold_id, body.guest(), idempotency_key=key,
                                         channel=channel("phone_agent"))
        else:
            reservation = booking.commit_slot(body.restaurant_id, body.slot_request(), body.guest(),
                                              idempotency_key=key, channel=channel(body.channel))
    except FrontDeskError as exc:
        if errors.status_for(exc) == 409:
            metric(COMMIT_CONFLICT)
        raise
    finally:
        metric(COMMIT_LATENCY_MS, (time.perf_counter() - started) * 1000, "Milliseconds")
    if reservation.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        metric(RESERVATION_COMMITTED)
    response.headers["Location"] = f"/api/v1/reservations/{reservation.id}"
    return _out(booking, reservation)


@router.get(
    "/reservations/{reservation_id}",
    response_model=ReservationOut,
    summary="One reservation",
    responses=errors.problem_responses(404, 422, 503),
)
def get_reservation(reservation_id: ReservationId, booking: Booking) -> ReservationOut:
    return _out(booking, booking.get(_reservation_id(reservation_id)))


@router.get(
    "/reservations",
    response_model=ReservationList,
    summary="Find a caller's reservations (`phone`, upcoming first) or list a service date (`date`)",
    responses=errors.problem_responses(404, 422, 503),
)
def list_reservations(query: Annotated[ReservationQuery, Query()], booking: Booking) -> ReservationList:
    if query.phone is not None:
        found = booking.find_by_phone(query.restaurant_id, query.phone)
    else:
        found = booking.list_for_date(query.restaurant_id, query.date)  # type: ignore[arg-type]
    timezone = booking.restaurant(query.restaurant_id).timezone
    return ReservationList(items=[ReservationOut.from_domain(r, timezone) for r in found])


@router.post(
    "/reservations/{reservation_id}/cancel",
    response_model=ReservationOut,
    summary="Cancel (idempotent: cancelling a cancelled reservation returns it unchanged)",
    responses=errors.problem_responses(400, 404, 409, 413, 415, 422, 503),
)
def cancel(
    reservation_id: ReservationId,
    booking: Booking,
    body: Annotated[CancelRequest | None, Body()] = None,
) -> ReservationOut:
    reason = body.reason if body is not None else ""
    return _out(booking, booking.cancel(_reservation_id(reservation_id), reason=reason))


@router.patch(
    "/reservations/{reservation_id}",
    response_model=ReservationOut,
    summary="Move a reservation and/or change its party size, atomically",
    description="409 `slot_unavailable` with `alternates` when the new time cannot take the party; the "
                "reservation is then unchanged.",
    responses=errors.problem_responses(400, 404, 409, 413, 415, 422, 503),
)
def modify(reservation_id: ReservationId, changes: Annotated[ReservationChanges, Body()],
           booking: Booking) -> ReservationOut:
    return _out(booking, booking.modify(
        _reservation_id(reservation_id), start=changes.start_ts, local_date=changes.local_date,  # type: ignore[arg-type]
        local_time=changes.local_time, party_size=changes.party_size,  # type: ignore[arg-type]
        channel=channel(changes.channel)))
