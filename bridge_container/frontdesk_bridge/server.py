"""The bridge process: ``GET /healthz`` and the websocket ``/ws/twilio-stream`` on ``BRIDGE_PORT``.

Drain on SIGTERM: ``/healthz`` answers 503 so the load balancer stops routing, new streams are refused
(503), live calls continue for up to ``DRAIN_SECONDS`` (110 s), then the rest are transferred to their
restaurant before the process exits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import signal
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from frontdesk_bridge.settings import BridgeSettings

__all__ = ["STREAM_PATH", "BridgeServer", "build_deps", "main", "twilio_signature"]

log = logging.getLogger("frontdesk_bridge.server")

STREAM_PATH = "/ws/twilio-stream"
HEALTH_PATH = "/healthz"


#: How often each bridge process reports its live calls (the ECS service scales on their average).
ACTIVE_CALLS_INTERVAL_SECONDS = 60.0


def twilio_signature(auth_token: str, url: str, params: dict[str, str] | None = None) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(token, url + sorted key/value pairs))."""
    data = url + "".join(f"{k}{v}" for k, v in sorted((params or {}).items()))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def build_deps(settings: BridgeSettings) -> Any:
    from frontdesk_bridge.booking_api import BookingApi
    from frontdesk_bridge.call_store import MemoryCallStore, RedisCallStore
    from frontdesk_bridge.realtime.openai_ga import OpenAIRealtimeProvider
    from frontdesk_bridge.session import BridgeDeps
    from frontdesk_bridge.twilio_rest import TwilioRest

    token = settings.redis_auth_token.get_secret_value() if settings.redis_auth_token else None
    store: Any = (RedisCallStore(settings.redis_url, settings.redis_key_prefix, password=token)
                  if settings.redis_url else MemoryCallStore())
    return BridgeDeps(
        settings=settings,
        provider=OpenAIRealtimeProvider(settings.openai_realtime_url,
                                        settings.openai_api_key.get_secret_value(), settings.realtime_model),
        booking=BookingApi(settings.booking_api_url, settings.booking_api_timeout_seconds, settings.aws_region),
        store=store,
        twilio=TwilioRest(settings.twilio_api_base_url, settings.twilio_account_sid,
                          settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None),
    )


class BridgeServer:
    def __init__(self, settings: BridgeSettings, deps: Any | None = None) -> None:
        self.settings = settings
        self.deps = deps if deps is not None else build_deps(settings)
        self.sessions: set[Any] = set()
        self._gauge: asyncio.Task[None] | None = None
        self.draining = False
        self.port: int | None = None
        self._server: Any = None
        self._idle = asyncio.Event()
        self._idle.set()

    # -- HTTP side of the handshake ---------------------------------------------------------------

    def _signature_ok(self, request: Any) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        token = self.settings.twilio_auth_token
        if not signature or token is None or not self.settings.bridge_public_url:
            return True  # checked where present; the stream token is the mandatory check
        base = self.settings.bridge_public_url.rstrip("/")
        expected = twilio_signature(token.get_secret_value(), base + request.path)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _process_request(self, connection: Any, request: Any) -> Any:
        path = urlsplit(request.path).path
        if path == HEALTH_PATH:
            if self.draining:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "draining\n")
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path != STREAM_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.draining:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "draining\n")
        if not self._signature_ok(request):
            log.warning("stream refused: bad Twilio signature")
            return connection.respond(HTTPStatus.FORBIDDEN, "forbidden\n")
        return None

    async def _handle(self, ws: Any) -> None:
        from frontdesk_bridge.session import CallSession

        session = CallSession(ws, self.deps)
        self.sessions.add(session)
        self._idle.clear()
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if not self.sessions:
                self._idle.set()

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> int:
        from websockets.asyncio.server import serve

        self._server = await serve(
            self._handle, self.settings.bridge_host, self.settings.bridge_port,
            process_request=self._process_request,
            compression=None,  # audio is base64: deflate costs CPU for little gain
            max_size=64 * 1024,  # Twilio frames are ~400 bytes
            ping_interval=None,  # Twilio does not answer pings reliably; it sends media every 20 ms
            close_timeout=1,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        self._gauge = asyncio.get_running_loop().create_task(self._report_active_calls(), name="active-calls")
        log.info("bridge listening", extra={"port": self.port})
        return self.port

    async def _report_active_calls(self, every: float = ACTIVE_CALLS_INTERVAL_SECONDS) -> None:
        from frontdesk_bridge.observability import emit_active_calls

        while True:
            emit_active_calls(self.settings.metrics_namespace, self.settings.metrics_service, len(self.sessions))
            await asyncio.sleep(every)

    async def drain(self, grace: float | None = None) -> None:
        """Stop taking calls, let live ones finish for ``grace`` seconds, transfer the rest."""
        grace = self.settings.drain_seconds if grace is None else grace
        self.draining = True
        log.info("draining", extra={"live_calls": len(self.sessions), "grace_seconds": grace})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=grace)
        if self.sessions:
            log.info("transferring remaining calls", extra={"live_calls": len(self.sessions)})
            for session in list(self.sessions):
                session.shutdown()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=10)

    async def close(self) -> None:
        if self._gauge is not None:
            self._gauge.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        for closer in (getattr(self.deps.booking, "aclose", None), getattr(self.deps.twilio, "aclose", None),
                       getattr(self.deps.store, "aclose", None)):
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

    async def serve_until_signalled(self) -> None:
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await self.drain()
        await self.close()
        log.info("bridge stopped")


def main() -> None:
    """Blocking entry point for ``frontdesk bridge`` and ``python -m frontdesk_bridge``."""
    from frontdesk_bridge.observability import configure_logging

    settings = BridgeSettings()
    configure_logging(settings.log_level)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(BridgeServer(settings).serve_until_signalled())
    else:
        uvloop.run(BridgeServer(settings).serve_until_signalled())


if __name__ == "__main__":
    main()
