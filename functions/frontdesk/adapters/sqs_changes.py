"""ChangePublisher on SQS: after a reservation change committed, one small message for the notifier Lambda.

Best effort by design. The SMS itself is already in the outbox (same transaction as the change); this only
makes it go out within seconds instead of at the next sweep, so a publish failure is logged, never raised.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


class SqsChangePublisher:
    """``cooldown``: after a failed publish, skip publishing for that many seconds, so an SQS outage costs
    one booking a short timeout instead of every booking (the caller on the phone is waiting)."""

    def __init__(self, queue_url: str, *, client: Any = None, region: str | None = None, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._queue_url = queue_url
        self._client = client
        self._region = region
        self._cooldown = cooldown
        self._clock = clock
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def _sqs(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                # A booking answer waits on this call: fail fast rather than retry for seconds.
                self._client = boto3.client("sqs", region_name=self._region, config=Config(
                    connect_timeout=0.5, read_timeout=1.0, retries={"max_attempts": 1, "mode": "standard"}))
            return self._client

    def reservation_changed(self, reservation_id: UUID) -> None:
        if self._clock() < self._skip_until:
            return  # the queue failed moments ago; the sweep delivers this one
        try:
            self._sqs().send_message(QueueUrl=self._queue_url,
                                     MessageBody=json.dumps({"reservation_id": str(reservation_id)}))
        except Exception as exc:
            self._skip_until = self._clock() + self._cooldown
            log.warning("SMS wake-up not published (the sweep delivers it); not trying again for %.0fs: %s",
                        self._cooldown, type(exc).__name__, extra={"reservation_id": str(reservation_id)})


__all__ = ["SqsChangePublisher"]
