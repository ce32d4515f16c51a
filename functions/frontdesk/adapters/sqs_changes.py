"""ChangePublisher on SQS: after a reservation change committed, one small message for the notifier Lambda.

Best effort by design. The SMS itself is already in the outbox (same transaction as the change); this only
makes it go out within seconds instead of at the next sweep, so a publish failure is logged, never raised.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


class SqsChangePublisher:
    def __init__(self, queue_url: str, *, client: Any = None, region: str | None = None) -> None:
        self._queue_url = queue_url
        self._client = client
        self._region = region
        self._lock = threading.Lock()

    def _sqs(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                # A booking answer waits on this call: fail fast rather than retry for seconds.
                self._client = boto3.client("sqs", region_name=self._region, config=Config(
                    connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"}))
            return self._client

    def reservation_changed(self, reservation_id: UUID) -> None:
        try:
            self._sqs().send_message(QueueUrl=self._queue_url,
                                     MessageBody=json.dumps({"reservation_id": str(reservation_id)}))
        except Exception as exc:
            log.warning("SMS wake-up not published (the sweep delivers it): %s", type(exc).__name__,
                        extra={"reservation_id": str(reservation_id)})


__all__ = ["SqsChangePublisher"]
