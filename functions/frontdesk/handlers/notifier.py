"""Lambda: deliver guest SMS from the outbox.

``handler`` — SQS event source. Each record names a reservation whose change just committed; its due
messages are delivered. Batch partial failure: a record fails (and SQS redelivers it, then dead-letters it)
only when delivery could not even be tried (the database down). A record we cannot read is logged and dropped
— the outbox row it pointed at is still due and the sweep sends it — so garbage never poisons a batch.

``sweep`` — EventBridge schedule, every minute: deliver everything due (the queue lost a message, a retry's
backoff has passed, a sender died holding a lease), until nothing is due or the function nears its timeout;
then delete settled messages older than SMS_RETENTION_DAYS (bounded batches), so guests' numbers do not linger.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger("frontdesk.notifier")
_logs_structured = False

#: Stop starting new batches when less than this is left of the invocation.
SWEEP_RESERVE_MS = 15_000


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
    log.info("notifier delivered", extra={"reservation_id": str(message.reservation_id), "sent": report.sent,
                                          "retrying": report.retrying, "failed": report.failed})


def handler(event: dict[str, Any], context: Any) -> Any:
    _structure_logs()
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)


def sweep(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _structure_logs()

    def keep_going() -> bool:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return remaining is None or remaining() > SWEEP_RESERVE_MS

    report = _sender().deliver_due(keep_going=keep_going)
    pruned = _prune(keep_going)
    summary = {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
               "opted_out": report.opted_out, "lost_claims": report.lost_claims,
               "unconfigured": report.skipped_unconfigured, "pruned": pruned}
    log.info("sweep done", extra=summary)
    return summary
