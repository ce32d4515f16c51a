"""In-process SMS delivery for `frontdesk serve` / `make dev`, where there is no SQS and no scheduler.

A daemon thread sweeps the outbox every ``SMS_SWEEP_INTERVAL_SECONDS``, and at once when a booking change
wakes it (it is the process's ChangePublisher). Without Twilio credentials it does not spin: the sender logs
once why messages stay pending and each later round is a cheap no-op. Errors are logged and the thread goes
on; it never takes the API down with it. ``SMS_LOCAL_SWEEPER=false`` turns it off.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


class LocalSweeper:
    def __init__(self, sender: Any, *, interval: float) -> None:
        self._sender = sender
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ChangePublisher
    def reservation_changed(self, reservation_id: UUID) -> None:
        self._wake.set()

    def start(self) -> LocalSweeper:
        self._thread = threading.Thread(target=self._run, name="sms-sweeper", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def sweep_once(self) -> Any:
        return self._sender.deliver_due()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep_once()
            except Exception:
                log.exception("SMS sweep failed; trying again in %.0fs", self._interval)
            self._wake.wait(self._interval)
            self._wake.clear()


def start_local_sweeper(services: Any) -> LocalSweeper | None:
    """Start the sweeper over ``services`` (a ``frontdesk.wiring.Services``) unless the settings turn it off
    or SQS is configured (then the notifier Lambda delivers), and make it the booking's change publisher."""
    settings = services.settings
    if not settings.sms_local_sweeper or settings.notifications_queue_url:
        return None
    sweeper = LocalSweeper(services.sms_sender, interval=settings.sms_sweep_interval_seconds)
    services.change_publisher = sweeper
    services.booking.changes = sweeper
    log.info("SMS: delivering in-process every %.1fs", settings.sms_sweep_interval_seconds)
    return sweeper.start()


__all__ = ["LocalSweeper", "start_local_sweeper"]
