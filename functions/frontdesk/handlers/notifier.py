"""Lambda: deliver guest SMS from the outbox.

``handler`` — SQS event source. Each record names a reservation whose change just committed; its due
messages are delivered. Batch partial failure: a record fails (and SQS redelivers it, then dead-letters it)
only when delivery could not even be tried (the database down). A record we cannot read is logged and dropped
— the outbox row it pointed at is still due and the sweep sends it — so garbage never poisons a batch.

``sweep`` — EventBridge schedule, every minute: deliver everything due (the queue lost a message, a retry's
backoff has passed, a sender died holding a lease), until nothing is due or the function nears its timeout;
then delete settled messages older than SMS_RETENTION_DAYS (bounded batches), so guests' numbers do not linger.

Metrics (CloudWatch EMF through Powertools, namespace ``FrontDesk``, the single dimension ``service=notifier``,
which the alarms and dashboard in ``infra_cdk/stacks/observability.py`` watch): every invocation counts its
outcomes (SmsSent, SmsRetrying, SmsFailed, SmsSuppressed, SmsClaimLost); the sweep then measures what it left
behind (SmsDue, SmsUnsent, SmsOldestUnsentAge in seconds) — every minute, zeros included, so silence means the
sweep is not running. Metrics never fail a delivery.
"""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Any
from uuid import UUID

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, ValidationError

from frontdesk.core.notifications import DeliveryReport, OutboxBacklog, OutboxBacklogSource

log = logging.getLogger("frontdesk.notifier")
_logs_structured = False

#: Stop starting new batches when less than this is left of the invocation.
SWEEP_RESERVE_MS = 15_000

NAMESPACE = "FrontDesk"
SERVICE = "notifier"  # the `service` dimension the alarms and dashboard (infra_cdk) watch
SMS_SENT = "SmsSent"
SMS_RETRYING = "SmsRetrying"
SMS_FAILED = "SmsFailed"
SMS_SUPPRESSED = "SmsSuppressed"
SMS_CLAIM_LOST = "SmsClaimLost"
SMS_DUE = "SmsDue"
SMS_UNSENT = "SmsUnsent"
SMS_OLDEST_UNSENT_AGE = "SmsOldestUnsentAge"
_metrics: Any = None
#: The outcomes of the SQS batch being handled, summed over its records for one EMF document per invocation.
_batch_report: contextvars.ContextVar[DeliveryReport | None] = contextvars.ContextVar(
    "frontdesk_notifier_batch", default=None)


class ChangeMessage(BaseModel):
    """What the API publishes after a change (``adapters/sqs_changes.py``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reservation_id: UUID


def _structure_logs() -> None:
    """Every ``frontdesk.*`` logger writes JSON through Powertools (level from POWERTOOLS_LOG_LEVEL, INFO by
    default), on the first invocation rather than at import."""
    global _logs_structured
    if _logs_structured:
        return
    from aws_lambda_powertools import Logger

    logger = Logger()  # service from POWERTOOLS_SERVICE_NAME ("notifier" in CDK)
    parent = logging.getLogger("frontdesk")
    parent.handlers = [logger.registered_handler]
    parent.setLevel(logger.log_level)
    parent.propagate = False
    _logs_structured = True


def _emit(values: list[tuple[str, str, float]]) -> None:
    """One EMF document with ``values`` (name, unit, value); a failure is logged, never raised."""
    global _metrics
    try:
        if _metrics is None:
            from aws_lambda_powertools import Metrics

            _metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
        for name, unit, value in values:
            _metrics.add_metric(name=name, unit=unit, value=value)
        _metrics.flush_metrics()
    except Exception:  # metrics must never fail (or retry) a delivery
        log.warning("could not emit metrics", exc_info=True)
        if _metrics is not None:
            _metrics.clear_metrics()


def _outcomes(report: DeliveryReport) -> list[tuple[str, str, float]]:
    return [(SMS_SENT, "Count", report.sent), (SMS_RETRYING, "Count", report.retrying),
            (SMS_FAILED, "Count", report.failed), (SMS_SUPPRESSED, "Count", report.opted_out),
            (SMS_CLAIM_LOST, "Count", report.lost_claims)]


def _backlog() -> OutboxBacklog | None:
    from frontdesk.core.errors import FrontDeskError
    from frontdesk.wiring import services

    try:
        source: OutboxBacklogSource = services().outbox
        return source.backlog()
    except FrontDeskError:  # the database went away after delivering: no figure beats a wrong one
        log.warning("could not measure the SMS backlog", exc_info=True)
        return None


def _sender() -> Any:
    from frontdesk.wiring import services

    return services().sms_sender


def _prune(keep_going: Any) -> int:
    from frontdesk.core.notifications import prune_outbox
    from frontdesk.wiring import services

    svc = services()
    return prune_outbox(svc.outbox, svc.sms_retention, keep_going=keep_going)


def _parse(body: str) -> ChangeMessage | None:
    try:
        return ChangeMessage.model_validate(json.loads(body))
    except (ValueError, ValidationError, TypeError):
        return None


def record_handler(record: SQSRecord) -> None:
    message = _parse(record.body)
    if message is None:
        log.warning("unreadable notifier message dropped (the sweep covers its reservation)",
                    extra={"message_id": record.message_id})
        return
    report = _sender().deliver_due(reservation_id=message.reservation_id, max_batches=5)
    batch = _batch_report.get()
    if batch is not None:
        batch.add(report)
    log.info("notifier delivered", extra={"reservation_id": str(message.reservation_id), "sent": report.sent,
                                          "retrying": report.retrying, "failed": report.failed})


def handler(event: dict[str, Any], context: Any) -> Any:
    _structure_logs()
    processor = BatchProcessor(event_type=EventType.SQS)
    batch = DeliveryReport()
    _batch_report.set(batch)
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    finally:
        _batch_report.set(None)
        _emit(_outcomes(batch))


def sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _structure_logs()

    def keep_going() -> bool:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return remaining is None or remaining() > SWEEP_RESERVE_MS

    report = _sender().deliver_due(keep_going=keep_going)
    pruned = _prune(keep_going)
    summary: dict[str, Any] = {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
                               "opted_out": report.opted_out, "lost_claims": report.lost_claims,
                               "unconfigured": report.skipped_unconfigured, "pruned": pruned}
    values = _outcomes(report)
    backlog = _backlog()  # what this sweep left behind (measured even without Twilio credentials)
    if backlog is not None:
        summary.update(due=backlog.due, unsent=backlog.unsent,
                       oldest_unsent_seconds=round(backlog.oldest_unsent_seconds, 1))
        values += [(SMS_DUE, "Count", backlog.due), (SMS_UNSENT, "Count", backlog.unsent),
                   (SMS_OLDEST_UNSENT_AGE, "Seconds", backlog.oldest_unsent_seconds)]
    log.info("sweep done", extra=summary)
    _emit(values)
    return summary
