"""OpenAI Realtime, GA protocol, over a websocket (``websockets``).

GA only: ``session.type: "realtime"``, ``audio/pcmu`` both ways, ``response.output_audio.delta``; no
``OpenAI-Beta`` header and no beta event or field names. Server events are parsed once with orjson and
mapped through the ``type`` → class table :data:`SERVER_EVENTS`; types we do not act on are either in
:data:`IGNORED` (silently skipped) or reported as :class:`UnknownModelEvent` (logged once, ignored).
The hot frame (``input_audio_buffer.append``) is a byte concatenation around the caller's payload string.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

from frontdesk_bridge.realtime.provider import (
    AudioDelta,
    FunctionCallDone,
    IdleTimeout,
    ModelClosed,
    ModelError,
    ModelEvent,
    ResponseCreated,
    ResponseDone,
    SessionConfig,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    UnknownModelEvent,
)
from frontdesk_bridge.twilio_wire import is_base64
from frontdesk_bridge.wsio import ConnectionGone, send_texts

__all__ = ["IGNORED", "SERVER_EVENTS", "OpenAIRealtimeConnection", "OpenAIRealtimeProvider",
           "parse_server_event", "session_update_event"]

_APPEND_PREFIX = b'{"type":"input_audio_buffer.append","audio":"'
_APPEND_SUFFIX = b'"}'


class ServerEventError(ValueError):
    pass


def _s(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ServerEventError(f"{key} missing")
    return value


def _audio_delta(obj: dict[str, Any]) -> ModelEvent:
    delta = obj.get("delta")
    if not isinstance(delta, str) or not is_base64(delta):
        raise ServerEventError("audio delta is not base64")
    return AudioDelta(response_id=_s(obj, "response_id"), item_id=_s(obj, "item_id"),
                      payload=delta.encode("ascii"))


def _response_created(obj: dict[str, Any]) -> ModelEvent:
    resp = obj.get("response")
    if not isinstance(resp, dict):
        raise ServerEventError("response missing")
    return ResponseCreated(response_id=_s(resp, "id"))


def _response_done(obj: dict[str, Any]) -> ModelEvent:
    resp = obj.get("response")
    if not isinstance(resp, dict):
        raise ServerEventError("response missing")
    status = resp.get("status")
    return ResponseDone(response_id=_s(resp, "id"), status=status if isinstance(status, str) else "failed")


def _function_call_done(obj: dict[str, Any]) -> ModelEvent:
    return FunctionCallDone(response_id=_s(obj, "response_id"), item_id=str(obj.get("item_id") or ""),
                            call_id=_s(obj, "call_id"), name=_s(obj, "name"),
                            arguments=_s(obj, "arguments"))


def _error(obj: dict[str, Any]) -> ModelEvent:
    err = obj.get("error")
    if not isinstance(err, dict):
        return ModelError(code="unknown", message="error without details")
    return ModelError(code=str(err.get("code") or err.get("type") or "unknown"),
                      message=str(err.get("message") or "")[:500])


SERVER_EVENTS: dict[str, Callable[[dict[str, Any]], ModelEvent]] = {
    "response.output_audio.delta": _audio_delta,
    "input_audio_buffer.speech_started": lambda o: SpeechStarted(item_id=str(o.get("item_id") or "")),
    "input_audio_buffer.speech_stopped": lambda o: SpeechStopped(item_id=str(o.get("item_id") or "")),
    "response.created": _response_created,
    "response.done": _response_done,
    "response.function_call_arguments.done": _function_call_done,
    "input_audio_buffer.timeout_triggered": lambda o: IdleTimeout(),
    "session.updated": lambda o: SessionReady(),
    "error": _error,
}

# GA events we receive and deliberately do nothing with.
IGNORED: frozenset[str] = frozenset({
    "session.created", "conversation.created", "conversation.item.created", "conversation.item.added",
    "conversation.item.done", "conversation.item.deleted", "conversation.item.truncated",
    "conversation.item.retrieved", "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "conversation.item.input_audio_transcription.segment",
    "input_audio_buffer.committed", "input_audio_buffer.cleared",
    "input_audio_buffer.dtmf_event_received",
    "response.output_item.added", "response.output_item.done", "response.content_part.added",
    "response.content_part.done", "response.output_audio.done", "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done", "response.output_text.delta", "response.output_text.done",
    "response.function_call_arguments.delta", "rate_limits.updated",
    "output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared",
})


def parse_server_event(raw: bytes | str) -> ModelEvent | None:
    """One server frame → event; ``None`` for known-but-ignored types; never raises."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return UnknownModelEvent(type="<not json>")
    if not isinstance(obj, dict):
        return UnknownModelEvent(type="<not an object>")
    etype = obj.get("type")
    if not isinstance(etype, str):
        return UnknownModelEvent(type="<no type>")
    handler = SERVER_EVENTS.get(etype)
    if handler is None:
        return None if etype in IGNORED else UnknownModelEvent(type=etype[:80])
    try:
        return handler(obj)
    except (ServerEventError, TypeError, ValueError, AttributeError) as exc:
        return UnknownModelEvent(type=etype, detail=f"malformed: {exc}"[:200])


def session_update_event(config: SessionConfig) -> dict[str, Any]:
    """The one ``session.update`` a call sends (and re-sends after a reconnect)."""
    turn_detection: dict[str, Any] = {
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
        "create_response": True, "interrupt_response": True,
    }
    if config.idle_timeout_ms:
        turn_detection["idle_timeout_ms"] = config.idle_timeout_ms
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "instructions": config.instructions,
            "tool_choice": "auto",
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}, "turn_detection": turn_detection},
                "output": {"format": {"type": "audio/pcmu"}, "voice": config.voice},
            },
            "tools": [
                {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                for t in config.tools
            ],
        },
    }


class OpenAIRealtimeConnection:
    """One model websocket. All sends are serialised by the websocket library's own write lock."""

    __slots__ = ("_ws",)

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    async def _send(self, frame: bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(frame, text=True)
        except ConnectionClosed as exc:
            raise ModelClosed(str(exc)) from exc

    async def _send_event(self, event: dict[str, Any]) -> None:
        await self._send(orjson.dumps(event))

    async def recv(self) -> ModelEvent:
        from websockets.exceptions import ConnectionClosed

        while True:
            try:
                raw = await self._ws.recv(decode=False)
            except ConnectionClosed as exc:
                raise ModelClosed(str(exc)) from exc
            event = parse_server_event(raw)
            if event is not None:
                return event

    async def send_audio(self, payload: str) -> None:
        try:
            await send_texts(self._ws, _APPEND_PREFIX + payload.encode("ascii") + _APPEND_SUFFIX)
        except ConnectionGone as exc:
            raise ModelClosed(str(exc)) from exc

    async def send_function_output(self, call_id: str, output: str) -> None:
        await self._send_event({"type": "conversation.item.create",
                                "item": {"type": "function_call_output", "call_id": call_id, "output": output}})

    async def create_response(self, instructions: str | None = None) -> None:
        event: dict[str, Any] = {"type": "response.create"}
        if instructions:
            event["response"] = {"instructions": instructions}
        await self._send_event(event)

    async def cancel_response(self) -> None:
        await self._send_event({"type": "response.cancel"})

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        await self._send_event({"type": "conversation.item.truncate", "item_id": item_id,
                                "content_index": 0, "audio_end_ms": max(0, int(audio_end_ms))})

    async def add_system_note(self, text: str) -> None:
        await self._send_event({"type": "conversation.item.create", "item": {
            "type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}})

    async def update_session(self, config: SessionConfig) -> None:
        await self._send_event(session_update_event(config))

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a dead socket must never raise
            await self._ws.close()


class OpenAIRealtimeProvider:
    def __init__(self, url: str, api_key: str, model: str) -> None:
        self._url = f"{url}{'&' if '?' in url else '?'}model={quote(model)}"
        self._api_key = api_key

    async def connect(self, config: SessionConfig, open_timeout: float) -> OpenAIRealtimeConnection:
        from websockets.asyncio.client import connect

        try:
            ws = await connect(
                self._url,
                additional_headers={"Authorization": f"Bearer {self._api_key}"},
                open_timeout=open_timeout,
                close_timeout=1,
                compression=None,
                max_size=8 * 1024 * 1024,
                ping_interval=20,
                ping_timeout=20,
            )
        except Exception as exc:  # any failure to open is "no model"
            raise ModelClosed(f"connect failed: {type(exc).__name__}: {exc}") from exc
        conn = OpenAIRealtimeConnection(ws)
        await conn.update_session(config)
        return conn
