"""PostgreSQL side of SMS: the outbox (claim / finish), templates and opt-outs, through the SECURITY DEFINER
functions of ``0006_notifications.sql`` (app_user may only read these tables directly)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from frontdesk.adapters.pg import Conninfo, Database
from frontdesk.adapters.postgres import domain_error
from frontdesk.core.notifications import ClaimedMessage, DeliveryOutcome, DeliveryStatus, OutboxBacklog


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as staff see it."""

    id: UUID
    reservation_id: UUID
    kind: str
    to_phone: str
    status: str
    attempts: int
    next_attempt_at: datetime
    provider_sid: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivery_status: str | None = None
    delivery_error: str | None = None
    delivered_at: datetime | None = None


class PostgresOutboxStore:
    def __init__(self, conninfo: Conninfo | Database, *, max_size: int = 4) -> None:
        self._db = conninfo if isinstance(conninfo, Database) else Database(
            conninfo, on_error=domain_error, max_size=max_size, name="frontdesk-sms")

    def close(self) -> None:
        self._db.close()

    def _all(self, sql: str, params: Any, *, retry: bool = True) -> list[tuple[Any, ...]]:
        def work(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            return conn.cursor(row_factory=tuple_row).execute(sql, params).fetchall()

        return self._db.run(work, retry=retry)

    # -- OutboxStore ------------------------------------------------------------------------------------

    def claim(self, limit: int, lease: timedelta, reservation_id: UUID | None = None) -> list[ClaimedMessage]:
        # Not retried on a lost connection: a claim that did commit simply waits out its lease.
        rows = self._all("SELECT * FROM claim_notifications_v1(%s, %s, %s)",
                         [limit, max(int(lease.total_seconds()), 5), reservation_id], retry=False)
        return [ClaimedMessage(id=r[0], claim=r[1], restaurant_id=r[2], reservation_id=r[3], kind=r[4],
                               to_phone=r[5], payload=r[6], attempts=r[7]) for r in rows]

    def templates(self, restaurant_ids: Iterable[UUID]) -> dict[tuple[UUID, str], str]:
        ids = list(restaurant_ids)
        if not ids:
            return {}
        rows = self._all("SELECT restaurant_id, kind, body FROM sms_templates WHERE restaurant_id = ANY(%s)", [ids])
        return {(r[0], r[1]): r[2] for r in rows}

    def finish(self, message: ClaimedMessage, outcome: Literal["sent", "retry", "failed", "opted_out"], *,
               provider_sid: str | None = None, error: str | None = None,
               retry_in: timedelta | None = None) -> bool:
        # Safe to repeat: it applies only while the claim holds, so a second run changes nothing.
        rows = self._all("SELECT finish_notification_v1(%s, %s, %s, %s, %s, %s)",
                         [message.id, message.claim, outcome, provider_sid, error,
                          int(retry_in.total_seconds()) if retry_in else None])
        return bool(rows[0][0])

    def backlog(self) -> OutboxBacklog:
        """Due and unsent messages and the age of the oldest unsent one (``OutboxBacklog``). "Due" is exactly what
        ``claim_notifications_v1`` would take (a message queued behind an earlier unsent one of its reservation
        waits); the scan stays on the partial index of unsettled rows."""
        ((due, unsent, oldest),) = self._all(
            "SELECT count(*) FILTER (WHERE ((o.status = 'pending' AND o.next_attempt_at <= now())"
            "                               OR (o.status = 'sending' AND o.lease_until < now()))"
            "                          AND NOT EXISTS (SELECT 1 FROM notification_outbox e"
            "                                           WHERE e.reservation_id = o.reservation_id"
            "                                             AND e.status IN ('pending', 'sending')"
            "                                             AND (e.created_at, e.id) < (o.created_at, o.id))),"
            "       count(*),"
            "       coalesce(greatest(extract(epoch FROM now() - min(o.created_at)), 0), 0)::float8"
            "  FROM notification_outbox o WHERE o.status IN ('pending', 'sending')", [])
        return OutboxBacklog(due=int(due), unsent=int(unsent), oldest_unsent_seconds=float(oldest))

    # -- staff --------------------------------------------------------------------------------------------

    def set_template(self, restaurant_id: UUID, kind: str, body: str | None, *, actor: str) -> None:
        self._all("SELECT set_sms_template_v1(%s, %s, %s, %s)", [restaurant_id, kind, body, actor], retry=False)

    def set_opt_out(self, restaurant_id: UUID, phone: str, opted_out: bool, *, actor: str) -> bool:
        rows = self._all("SELECT set_sms_opt_out_v1(%s, %s, %s, %s)", [restaurant_id, phone, opted_out, actor])
        return bool(rows[0][0])

    def is_opted_out(self, restaurant_id: UUID, phone: str) -> bool:
        return bool(self._all("SELECT 1 FROM sms_opt_outs WHERE restaurant_id = %s AND phone = %s",
                              [restaurant_id, phone]))

    def restaurant_for_number(self, number: str) -> UUID | None:
        rows = self._all("SELECT id FROM restaurants WHERE twilio_number = %s", [number])
        return rows[0][0] if rows else None

    def outbox(self, restaurant_id: UUID, *, status: str | None = None, delivery: str | None = None,
               limit: int = 50) -> list[OutboxRow]:
        """Newest first; ``status`` filters on the outbox state, ``delivery`` on what Twilio reported
        (``"none"``: no receipt yet)."""
        rows = self._all(
            "SELECT id, reservation_id, kind, to_phone, status, attempts, next_attempt_at, provider_sid,"
            "       last_error, created_at, sent_at, delivery_status, delivery_error, delivered_at"
            "  FROM notification_outbox WHERE restaurant_id = %s AND (%s::text IS NULL OR status = %s)"
            "   AND (%s::text IS NULL OR coalesce(delivery_status, 'none') = %s)"
            " ORDER BY created_at DESC LIMIT %s",
            [restaurant_id, status, status, delivery, delivery, limit])
        return [OutboxRow(*r) for r in rows]

    # -- DeliveryStore -------------------------------------------------------------------------------------

    def record_delivery(self, message_sid: str, status: DeliveryStatus, *, error: str | None, opted_out: bool,
                        actor: str) -> DeliveryOutcome:
        # Safe to repeat: a receipt only moves a row forward, so a retried call changes nothing more.
        rows = self._all("SELECT record_sms_delivery_v1(%s, %s, %s, %s, %s)",
                         [message_sid, status, error, opted_out, actor])
        return rows[0][0]

    def prune(self, older_than_days: int, batch: int) -> int:
        rows = self._all("SELECT prune_notification_outbox_v1(%s, %s)", [older_than_days, batch])
        return int(rows[0][0])

__all__ = ["OutboxRow", "PostgresOutboxStore"]
