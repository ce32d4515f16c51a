"""A local stand-in for the OpenAI Realtime API (GA), over a real websocket.

What it enforces, like the real service (and stricter):

* the handshake carries ``Authorization: Bearer …`` and a ``model`` query parameter, and **no**
  ``OpenAI-Beta`` header (a beta client is refused with HTTP 400);
* every client event validates strictly (:mod:`doubles.realtime_validation`): GA shapes, no extra field at
  any depth, no beta name. A bad event is recorded in :attr:`FakeRealtimeServer.violations` and answered
  with an ``error`` event, as the real server does;
* never two active responses: a ``response.create`` while one is active (or already requested) is a
  violation answered with ``conversation_already_has_active_response``;
* server VAD interruption: :meth:`FakeRealtimeSession.speech_started` while a response is streaming stops
  it and ends it with ``response.done`` status ``cancelled``.

Tests script the server side through :class:`FakeRealtimeSession` (speak, call a function, interrupt,
drop the socket). Every server event it emits is itself checked against ``RealtimeServerEvent``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from pydantic import TypeAdapter

from .realtime_validation import ClientEventInvalid, validate_client_event

__all__ = ["FakeRealtimeServer", "FakeRealtimeSession"]

_ids = itertools.count(1)
_server_adapter: TypeAdapter[Any] | None = None


def _check_server_event(event: dict[str, Any]) -> None:
    global _server_adapter
    if _server_adapter is None:
        from openai.types.realtime import RealtimeServerEvent

        _server_adapter = TypeAdapter(RealtimeServerEvent)
    _server_adapter.validate_python(event)


def _nid(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


class FakeRealtimeSession:
    def __init__(self, server: FakeRealtimeServer, ws: Any, headers: dict[str, str], model: str) -> None:
        self.server = server
        self.ws = ws
        self.headers = headers
        self.model = model
        self.events: list[dict[str, Any]] = []  # every valid client event except appends
        self.event_times: list[float] = []  # monotonic arrival time of each entry in ``events``
        self.appends = 0
        self._appended = asyncio.Event()
        self.append_payloads: list[str] = []
        self.violations: list[str] = []
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self.active_response: str | None = None
        self._requested = 0
        self._stream_task: asyncio.Task[Any] | None = None
        self._stream_cancel = asyncio.Event()
        self.keep_payloads = server.keep_payloads
        self.session_config: dict[str, Any] | None = None

    # -- receiving --------------------------------------------------------------------------------

    async def _serve(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                await self._on_frame(raw)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def _on_frame(self, raw: str | bytes) -> None:
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self._violation("client frame is not JSON")
            return
        etype = event.get("type") if isinstance(event, dict) else None
        if etype == "input_audio_buffer.append" and isinstance(event, dict) and set(event) == {"type", "audio"} \
                and isinstance(event["audio"], str):
            self.appends += 1  # the hot path: same strictness as below, without pydantic per frame
            self._appended.set()
            if self.keep_payloads:
                self.append_payloads.append(event["audio"])
            hook = self.server.on_append
            if hook is not None:
                hook(self, event["audio"])
            return
        try:
            validate_client_event(event)
        except ClientEventInvalid as exc:
            await self._violation(str(exc), event_id=event.get("event_id") if isinstance(event, dict) else None)
            return
        if etype == "response.create":
            if self.active_response is not None or self._requested:
                await self._violation("response.create while a response is active",
                                      code="conversation_already_has_active_response")
                return
            self._requested += 1
        elif etype == "session.update":
            self.session_config = event["session"]
            await self.send({"type": "session.updated", "session": {"type": "realtime", "id": "sess_fake",
                                                                    "model": self.model}})
        elif etype == "response.cancel" and self.active_response is not None:
            self._stream_cancel.set()
        self.events.append(event)
        self.event_times.append(time.monotonic())
        async with self._changed:
            self._changed.notify_all()
        hook2 = self.server.on_event
        if hook2 is not None:
            await hook2(self, event)

    async def _violation(self, message: str, code: str = "invalid_request_error",
                         event_id: str | None = None) -> None:
        self.violations.append(message)
        self.server.violations.append(message)
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "error": {"type": "invalid_request_error", "code": code,
                                                        "message": message, "param": None,
                                                        "event_id": event_id}})

    # -- queries ----------------------------------------------------------------------------------

    def of_type(self, etype: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == etype]

    async def wait_for(self, etype: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
                       count: int = 1, within: float = 5.0) -> dict[str, Any]:
        """Wait until ``count`` events of ``etype`` (matching ``predicate``) were received; return the last."""
        async def ready() -> dict[str, Any]:
            async with self._changed:
                while True:
                    matches = [e for e in self.of_type(etype) if predicate is None or predicate(e)]
                    if len(matches) >= count:
                        return matches[count - 1]
                    if self.closed.is_set():
                        raise ConnectionError(f"model socket closed before {etype}")
                    await self._changed.wait()
        return await asyncio.wait_for(ready(), within)

    async def wait_appends(self, n: int, within: float = 5.0) -> None:
        async def ready() -> None:
            while self.appends < n:
                self._appended.clear()
                await self._appended.wait()
        await asyncio.wait_for(ready(), within)

    # -- scripting the server side -----------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        event = {"event_id": _nid("event"), **event}
        _check_server_event(event)
        await self.ws.send(orjson.dumps(event).decode())

    async def function_call(self, response_id: str, name: str, arguments: dict[str, Any] | str) -> str:
        """Emit ``response.function_call_arguments.done`` for ``response_id``; returns the call id."""
        call_id = _nid("call")
        await self.send({"type": "response.function_call_arguments.done", "response_id": response_id,
                         "item_id": _nid("item"), "output_index": 0, "call_id": call_id, "name": name,
                         "arguments": arguments if isinstance(arguments, str) else orjson.dumps(arguments).decode()})
        return call_id

    async def audio_delta(self, response_id: str, item_id: str, audio: bytes) -> None:
        await self.send({"type": "response.output_audio.delta", "response_id": response_id, "item_id": item_id,
                         "output_index": 0, "content_index": 0, "delta": base64.b64encode(audio).decode()})

    async def begin_response(self) -> str:
        return await self._begin_response()

    async def end_response(self, response_id: str, status: str = "completed") -> None:
        await self._end_response(response_id, status)

    def outputs(self) -> list[dict[str, Any]]:
        """``function_call_output`` items received, with their output parsed."""
        out = []
        for e in self.of_type("conversation.item.create"):
            item = e["item"]
            if item.get("type") == "function_call_output":
                out.append({"call_id": item["call_id"], **orjson.loads(item["output"])})
        return out

    async def _begin_response(self) -> str:
        rid = _nid("resp")
        self._requested = max(0, self._requested - 1)
        self.active_response = rid
        self._stream_cancel = asyncio.Event()
        await self.send({"type": "response.created", "response": {"id": rid, "object": "realtime.response",
                                                                  "status": "in_progress", "output": []}})
        return rid

    async def _end_response(self, rid: str, status: str) -> None:
        if self.active_response == rid:
            self.active_response = None
        await self.send({"type": "response.done", "response": {"id": rid, "object": "realtime.response",
                                                               "status": status, "output": []}})

    async def respond(self, audio: bytes = b"", *, chunk_bytes: int = 800, pace: float = 0.0,
                      function_call: tuple[str, dict[str, Any] | str] | None = None,
                      interrupt_after_chunks: int | None = None,
                      before_done: Callable[[str], Awaitable[None]] | None = None) -> dict[str, Any]:
        """One response: ``response.created``, audio deltas (optionally paced), an optional function call,
        ``response.done``. Returns ids and whether it was cancelled. Runs until done or interrupted."""
        rid = await self._begin_response()
        item_id = _nid("item")
        result: dict[str, Any] = {"response_id": rid, "item_id": item_id, "status": "completed",
                                  "call_id": None, "chunks_sent": 0, "bytes_sent": 0}
        if audio:
            await self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0,
                             "item": {"id": item_id, "type": "message", "role": "assistant",
                                      "object": "realtime.item", "status": "in_progress", "content": []}})
            for i in range(0, len(audio), chunk_bytes):
                if self._stream_cancel.is_set():
                    break
                piece = audio[i:i + chunk_bytes]
                await self.send({"type": "response.output_audio.delta", "response_id": rid, "item_id": item_id,
                                 "output_index": 0, "content_index": 0,
                                 "delta": base64.b64encode(piece).decode()})
                result["chunks_sent"] += 1
                result["bytes_sent"] += len(piece)
                if interrupt_after_chunks is not None and result["chunks_sent"] >= interrupt_after_chunks:
                    break
                if pace:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stream_cancel.wait(), pace)
            if not self._stream_cancel.is_set():
                await self.send({"type": "response.output_audio.done", "response_id": rid, "item_id": item_id,
                                 "output_index": 0, "content_index": 0})
        if function_call is not None and not self._stream_cancel.is_set():
            name, args = function_call
            call_id = _nid("call")
            result["call_id"] = call_id
            await self.send({"type": "response.function_call_arguments.done", "response_id": rid,
                             "item_id": _nid("item"), "output_index": 1 if audio else 0, "call_id": call_id,
                             "name": name, "arguments": args if isinstance(args, str) else orjson.dumps(args).decode()})
        if before_done is not None:
            await before_done(rid)
        if self._stream_cancel.is_set():
            result["status"] = "cancelled"
        await self._end_response(rid, result["status"])
        return result

    def respond_in_background(self, *args: Any, **kwargs: Any) -> asyncio.Task[dict[str, Any]]:
        task = asyncio.ensure_future(self.respond(*args, **kwargs))
        self._stream_task = task
        return task

    async def speech_started(self, audio_start_ms: int = 0) -> str:
        """Server VAD heard the caller: interrupt a streaming response (it ends ``cancelled``)."""
        item_id = _nid("item")
        if self.active_response is not None:
            self._stream_cancel.set()
        await self.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": audio_start_ms,
                         "item_id": item_id})
        return item_id

    async def speech_stopped(self, item_id: str, audio_end_ms: int = 0) -> None:
        await self.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": audio_end_ms,
                         "item_id": item_id})

    async def idle_timeout(self) -> None:
        await self.send({"type": "input_audio_buffer.timeout_triggered", "audio_start_ms": 0,
                         "audio_end_ms": 8000, "item_id": _nid("item")})

    async def drop(self) -> None:
        """The model connection is lost (abrupt close, as on a network failure)."""
        self.ws.transport.abort()
        await self.closed.wait()


class FakeRealtimeServer:
    def __init__(self, *, keep_payloads: bool = False,
                 on_event: Callable[[FakeRealtimeSession, dict[str, Any]], Awaitable[None]] | None = None,
                 on_append: Callable[[FakeRealtimeSession, str], None] | None = None) -> None:
        self.sessions: list[FakeRealtimeSession] = []
        self.violations: list[str] = []
        self.refused_handshakes: list[str] = []
        self.refuse = False  # refuse every new connection (model outage)
        self.keep_payloads = keep_payloads
        self.on_event = on_event
        self.on_append = on_append
        self._new = asyncio.Condition()
        self._server: Any = None
        self.url = ""
        self._cursor = 0

    def _process_request(self, connection: Any, request: Any) -> Any:
        from http import HTTPStatus

        headers = request.headers
        if self.refuse:
            self.refused_handshakes.append("outage")
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "unavailable\n")
        if "OpenAI-Beta" in headers:
            self.violations.append("OpenAI-Beta header sent")
            return connection.respond(HTTPStatus.BAD_REQUEST, "beta header\n")
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            self.violations.append("missing bearer token")
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        query = parse_qs(urlsplit(request.path).query)
        if urlsplit(request.path).path != "/v1/realtime" or not query.get("model"):
            self.violations.append(f"bad path {request.path}")
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _handle(self, ws: Any) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        session = FakeRealtimeSession(self, ws, dict(ws.request.headers), query["model"][0])
        self.sessions.append(session)
        async with self._new:
            self._new.notify_all()
        await session.send({"type": "session.created", "session": {"type": "realtime", "id": "sess_fake",
                                                                    "model": session.model}})
        await session._serve()

    async def start(self) -> str:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._process_request,
                                   compression=None, max_size=None, ping_interval=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/realtime"
        return self.url

    async def next_session(self, index: int | None = None, within: float = 5.0) -> FakeRealtimeSession:
        """The ``index``-th session (default: the next one not yet returned)."""
        if index is None:
            want, self._cursor = self._cursor, self._cursor + 1
        else:
            want = index

        async def ready() -> FakeRealtimeSession:
            async with self._new:
                while len(self.sessions) <= want:
                    await self._new.wait()
                return self.sessions[want]
        return await asyncio.wait_for(ready(), within)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> FakeRealtimeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
