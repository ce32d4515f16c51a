"""A Twilio Media Streams caller: what Twilio does on a bidirectional ``<Connect><Stream>``.

* Sends ``connected``, ``start`` (with ``customParameters``), ``media`` frames of 160 bytes (20 ms) at
  real pace on an absolute schedule, ``dtmf``, ``mark`` echoes and ``stop`` — sequence numbers, chunks and
  timestamps as strings, as on the wire (see ``shared/fixtures/twilio_media_stream_inbound.jsonl``).
* Plays what the server sends at real time (8 bytes = 1 ms): a ``mark`` is echoed once the audio queued
  before it has played; on ``clear`` the queued audio is dropped and every pending mark is echoed at once.
* Checks every outbound frame has exactly Twilio's shape; anything else is a violation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import deque
from typing import Any

import orjson

from .audio import FRAME_BYTES

__all__ = ["TwilioCaller"]


class TwilioCaller:
    def __init__(self, url: str, *, call_sid: str = "CA00000000000000000000000000000001",
                 stream_sid: str = "MZ00000000000000000000000000000001",
                 account_sid: str = "AC00000000000000000000000000000001",
                 headers: dict[str, str] | None = None, realtime_playback: bool = True) -> None:
        self.url = url
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.account_sid = account_sid
        self.headers = headers or {}
        self.realtime_playback = realtime_playback
        self.ws: Any = None
        self._seq = 0
        self._chunk = 0
        self._ts_ms = 0
        # what the server sent
        self.media_frames = 0
        self.media_bytes = 0
        self.marks: list[str] = []
        self.clears: list[float] = []  # monotonic times a clear arrived
        self.played_at_clear: list[int] = []  # bytes fully played when each clear arrived
        self.violations: list[str] = []
        self.first_media_at: float | None = None
        # playback
        self.played_bytes = 0
        self._played = asyncio.Event()
        self.echoed: list[str] = []
        self._queue: deque[tuple[str, Any]] = deque()
        self._queue_event = asyncio.Event()
        self._clear_event = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[Any]] = []
        self.handshake_status: int | None = None

    # -- connection -------------------------------------------------------------------------------

    async def connect(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        try:
            self.ws = await connect(self.url, additional_headers=self.headers, compression=None,
                                    open_timeout=5, close_timeout=1, ping_interval=None)
        except InvalidStatus as exc:
            self.handshake_status = exc.response.status_code
            raise
        self.handshake_status = 101
        self._tasks.append(asyncio.ensure_future(self._reader()))
        self._tasks.append(asyncio.ensure_future(self._player()))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 1)

    async def __aenter__(self) -> TwilioCaller:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending ----------------------------------------------------------------------------------

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def send_raw(self, text: str | bytes) -> None:
        await self.ws.send(text)

    async def start(self, token: str, restaurant_id: str, caller: str = "+15551230000",
                    extra: dict[str, str] | None = None) -> None:
        await self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        params = {"token": token, "restaurant_id": restaurant_id, "caller": caller, **(extra or {})}
        await self.send_json({"event": "start", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                              "start": {"streamSid": self.stream_sid, "accountSid": self.account_sid,
                                        "callSid": self.call_sid, "tracks": ["inbound"],
                                        "customParameters": params,
                                        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                                        "channels": 1}}})

    async def send_frame(self, frame: bytes) -> None:
        self._chunk += 1
        await self.send_json({"event": "media", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                              "media": {"track": "inbound", "chunk": str(self._chunk),
                                        "timestamp": str(self._ts_ms),
                                        "payload": base64.b64encode(frame).decode()}})
        self._ts_ms += 20

    async def stream(self, audio: bytes, pace: bool = True) -> int:
        """Send ``audio`` as 20 ms frames on an absolute schedule; returns frames sent."""
        t0 = time.monotonic()
        n = 0
        for i in range(0, len(audio), FRAME_BYTES):
            if self.closed.is_set():
                break
            if pace:
                delay = t0 + n * 0.020 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                await self.send_frame(audio[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff"))
            except Exception:
                break
            n += 1
        return n

    def stream_in_background(self, audio: bytes, pace: bool = True) -> asyncio.Task[int]:
        task = asyncio.ensure_future(self.stream(audio, pace))
        self._tasks.append(task)
        return task

    async def dtmf(self, digit: str) -> None:
        await self.send_json({"event": "dtmf", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                              "dtmf": {"track": "inbound_track", "digit": digit}})

    async def stop(self) -> None:
        """The caller hangs up (or Twilio ends the stream after a call update)."""
        with contextlib.suppress(Exception):
            await self.send_json({"event": "stop", "sequenceNumber": self._next_seq(),
                                  "streamSid": self.stream_sid,
                                  "stop": {"accountSid": self.account_sid, "callSid": self.call_sid}})

    # -- receiving and playback --------------------------------------------------------------------

    async def _reader(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                self._on_frame(raw)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.violations.append("outbound frame is not JSON")
            return
        event = msg.get("event") if isinstance(msg, dict) else None
        if not isinstance(msg, dict) or msg.get("streamSid") != self.stream_sid:
            self.violations.append(f"frame without our streamSid: {str(raw)[:80]}")
            return
        if event == "media":
            media = msg.get("media")
            if set(msg) != {"event", "streamSid", "media"} or not isinstance(media, dict) or set(media) != {"payload"}:
                self.violations.append(f"bad media frame shape: {sorted(msg)}")
                return
            try:
                audio = base64.b64decode(media["payload"], validate=True)
            except ValueError:
                self.violations.append("media payload is not base64")
                return
            self.media_frames += 1
            self.media_bytes += len(audio)
            if self.first_media_at is None:
                self.first_media_at = time.monotonic()
            self._queue.append(("media", len(audio)))
            self._queue_event.set()
        elif event == "mark":
            mark = msg.get("mark")
            if set(msg) != {"event", "streamSid", "mark"} or not isinstance(mark, dict) or set(mark) != {"name"}:
                self.violations.append("bad mark frame shape")
                return
            self.marks.append(mark["name"])
            self._queue.append(("mark", mark["name"]))
            self._queue_event.set()
        elif event == "clear":
            if set(msg) != {"event", "streamSid"}:
                self.violations.append("bad clear frame shape")
                return
            self.clears.append(time.monotonic())
            self.played_at_clear.append(self.played_bytes)
            pending = [name for kind, name in self._queue if kind == "mark"]
            self._queue.clear()
            self._clear_event.set()
            for name in pending:  # Twilio echoes every pending mark at once
                self._tasks.append(asyncio.ensure_future(self._echo(name)))
        else:
            self.violations.append(f"unknown outbound event {event!r}")

    async def _echo(self, name: str) -> None:
        self.echoed.append(name)
        with contextlib.suppress(Exception):
            await self.send_json({"event": "mark", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                                  "mark": {"name": name}})

    async def _player(self) -> None:
        while True:
            if not self._queue:
                self._queue_event.clear()
                await self._queue_event.wait()
                continue
            kind, value = self._queue.popleft()
            if kind == "mark":
                await self._echo(value)
                continue
            if self.realtime_playback:
                self._clear_event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._clear_event.wait(), value / 8000)
                if self._clear_event.is_set():
                    continue  # cut off mid-chunk: not played
            self.played_bytes += value
            self._played.set()

    # -- waiting ----------------------------------------------------------------------------------

    async def wait_until(self, predicate: Any, within: float = 5.0) -> None:
        async def ready() -> None:
            async with self._changed:
                while not predicate():
                    await self._changed.wait()
        await asyncio.wait_for(ready(), within)

    async def wait_media(self, nbytes: int = 1, within: float = 5.0) -> None:
        await self.wait_until(lambda: self.media_bytes >= nbytes, within)

    async def wait_closed(self, within: float = 5.0) -> None:
        await asyncio.wait_for(self.closed.wait(), within)

    async def wait_played(self, nbytes: int, within: float = 5.0) -> None:
        async def ready() -> None:
            while self.played_bytes < nbytes:
                self._played.clear()
                await self._played.wait()
        await asyncio.wait_for(ready(), within)
