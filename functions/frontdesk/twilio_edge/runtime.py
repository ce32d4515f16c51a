"""The per-process bundle the Twilio routes use: URLs, credentials, the stream-token secret and the call
adapters, all built on first use (a Lambda cold start connects nowhere and fetches no secret).

Secrets come from Secrets Manager in AWS (``TWILIO_SECRET_ARN``, ``STREAM_TOKEN_SECRET_ARN``) through
``frontdesk.wiring``'s Powertools-cached fetch, or from plain settings locally. When a signature does not
verify with the cached credentials, they are fetched again — at most once every
:data:`CREDENTIAL_REFRESH_SECONDS`, so a rotated auth token is picked up within seconds while a flood of
forged requests cannot turn into a flood of Secrets Manager calls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from frontdesk.twilio_edge.signature import TwilioCredentials, parse_credentials
from frontdesk.twilio_edge.twiml import STREAM_PATH

if TYPE_CHECKING:
    from frontdesk.adapters.calls import PostgresCallStore, RedisCallRecords
    from frontdesk.config import Settings

__all__ = ["CREDENTIAL_REFRESH_SECONDS", "STREAM_TOKEN_TTL_SECONDS", "SecretText", "TwilioEdge"]

log = logging.getLogger("frontdesk.twilio")

CREDENTIAL_REFRESH_SECONDS = 30.0
#: Life of a stream token: Twilio opens the stream within a second or two of our answer.
STREAM_TOKEN_TTL_SECONDS = 60

SecretFetch = Callable[..., str]


def _default_fetch(arn: str, *, refresh: bool = False) -> str:
    from frontdesk.wiring import read_secret

    return read_secret(arn, refresh=refresh)


class SecretText:
    """A configured secret: a plain value (local) or a Secrets Manager ARN (AWS; takes precedence)."""

    def __init__(self, plain: str | None, arn: str | None, *, fetch: SecretFetch = _default_fetch,
                 clock: Callable[[], float] = time.monotonic,
                 min_refresh_seconds: float = CREDENTIAL_REFRESH_SECONDS) -> None:
        self._plain = plain
        self._arn = arn
        self._fetch = fetch
        self._clock = clock
        self._min_refresh = min_refresh_seconds
        self._last_refresh: float | None = None
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._arn or self._plain)

    def get(self) -> str | None:
        """The value (cached by the fetcher in AWS). Raises whatever the fetch raises."""
        if self._arn:
            return self._fetch(self._arn)
        return self._plain

    def refresh(self) -> str | None:
        """Fetch again, bypassing the cache; None when the value cannot change (plain) or was refreshed
        too recently."""
        if not self._arn:
            return None
        with self._lock:
            now = self._clock()
            if self._last_refresh is not None and now - self._last_refresh < self._min_refresh:
                return None
            self._last_refresh = now
        return self._fetch(self._arn, refresh=True)


class TwilioEdge:
    """Everything the Twilio routes need beyond the request. ``calls``/``records`` are factories, called on
    first use. ``clock`` gives unix seconds (token expiry, agent hours); tests pass their own."""

    def __init__(
        self,
        settings: Settings,
        *,
        calls: Callable[[], PostgresCallStore],
        records: Callable[[], RedisCallRecords],
        credentials: SecretText,
        stream_secret: SecretText,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._calls_factory = calls
        self._records_factory = records
        self._calls: PostgresCallStore | None = None
        self._records: RedisCallRecords | None = None
        self._credentials = credentials
        self._stream_secret = stream_secret
        self._parsed: tuple[str | None, TwilioCredentials] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, fetch: SecretFetch = _default_fetch,
                      clock: Callable[[], float] = time.time,
                      calls: Callable[[], PostgresCallStore] | None = None) -> TwilioEdge:
        """The edge for ``settings``; ``calls`` replaces the default call-store factory."""

        def default_calls() -> PostgresCallStore:
            from frontdesk.adapters.calls import PostgresCallStore
            from frontdesk.wiring import database_conninfo

            return PostgresCallStore(lambda refresh: database_conninfo(settings, refresh),
                                     max_size=min(settings.database_pool_max, 4))

        def records() -> RedisCallRecords:
            from frontdesk.adapters.calls import RedisCallRecords

            password = fetch(settings.redis_auth_secret_arn) if settings.redis_auth_secret_arn else None
            return RedisCallRecords.from_url(settings.redis_url or "redis://127.0.0.1:6379/0",
                                             prefix=settings.redis_key_prefix, password=password)

        return cls(
            settings, calls=calls or default_calls, records=records,
            credentials=SecretText(settings.twilio_auth_token, settings.twilio_secret_arn, fetch=fetch),
            stream_secret=SecretText(settings.stream_token_secret, settings.stream_token_secret_arn, fetch=fetch),
            clock=clock,
        )

    # -- URLs ---------------------------------------------------------------------------------------

    def public_url(self, path: str) -> str:
        """The URL Twilio is given for one of our routes: ``PUBLIC_BASE_URL`` (any trailing slash dropped)
        + the route's path."""
        return self.settings.public_base_url.rstrip("/") + path

    @property
    def stream_url(self) -> str | None:
        """``BRIDGE_PUBLIC_URL`` + ``/ws/twilio-stream``; None when that cannot be a Media Streams URL (not
        ``ws(s)://``, or with a query string or fragment — per-call data travels as ``<Parameter>``s)."""
        base = self.settings.bridge_public_url.strip()
        parts = urlsplit(base)
        if parts.scheme not in ("wss", "ws") or not parts.netloc or parts.query or parts.fragment:
            log.error("BRIDGE_PUBLIC_URL must be wss://host[/path] without a query; calls go to the failover")
            return None
        return base.rstrip("/") + STREAM_PATH

    # -- adapters -----------------------------------------------------------------------------------

    @property
    def calls(self) -> PostgresCallStore:
        with self._lock:
            if self._calls is None:
                self._calls = self._calls_factory()
            return self._calls

    @property
    def records(self) -> RedisCallRecords:
        with self._lock:
            if self._records is None:
                self._records = self._records_factory()
            return self._records

    # -- secrets ------------------------------------------------------------------------------------

    @property
    def signing_configured(self) -> bool:
        return self._credentials.configured

    def credentials(self) -> TwilioCredentials:
        return self._parse(self._credentials.get())

    def refreshed_credentials(self) -> TwilioCredentials | None:
        """Credentials fetched afresh when that is allowed now and they changed; else None."""
        text = self._credentials.refresh()
        if text is None:
            return None
        before = self._parsed
        parsed = self._parse(text)
        return None if before is not None and before[1] == parsed else parsed

    def _parse(self, text: str | None) -> TwilioCredentials:
        cached = self._parsed
        if cached is not None and cached[0] == text:
            return cached[1]
        parsed = parse_credentials(text)
        self._parsed = (text, parsed)
        return parsed

    def stream_token_secret(self) -> str | None:
        return self._stream_secret.get()

    def close(self) -> None:
        with self._lock:
            calls, records = self._calls, self._records
            self._calls = self._records = None
        for adapter in (calls, records):
            if adapter is not None:
                try:
                    adapter.close()
                except Exception:  # closing is best effort
                    log.debug("could not close %s", type(adapter).__name__, exc_info=True)


def describe(value: Any) -> str:
    """A log-safe name for an exception (never its message, which may carry a secret or a number)."""
    return type(value).__name__
