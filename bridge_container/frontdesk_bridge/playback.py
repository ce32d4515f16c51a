"""What the caller has actually heard, from Twilio mark echoes.

Every audio chunk sent to Twilio is followed by a ``mark``; Twilio echoes a mark once the audio queued
before it has played, and on ``clear`` it drops the queued audio and echoes every pending mark at once.
So the confirmed playback of an item is the byte count up to its last echoed mark, and µ-law at 8 kHz is
8 bytes per millisecond. On barge-in we send ``clear`` and forget the pending marks first, so the burst of
echoes that follows the ``clear`` is never counted as played audio.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

BYTES_PER_MS = 8

__all__ = ["BYTES_PER_MS", "BargeIn", "PlaybackTracker", "b64_decoded_len"]


def b64_decoded_len(payload: str | bytes) -> int:
    """Decoded length of a padded base64 string, without decoding it."""
    n = len(payload)
    if n == 0:
        return 0
    pad = 2 if payload[-2:] in ("==", b"==") else 1 if payload[-1:] in ("=", b"=") else 0
    return n * 3 // 4 - pad


@dataclass(frozen=True, slots=True)
class BargeIn:
    item_id: str
    audio_end_ms: int
    sent_ms: int


class PlaybackTracker:
    __slots__ = ("_idle", "_pending", "_played", "_sent", "_seq")

    def __init__(self) -> None:
        self._seq = 0
        # (mark name, item id, bytes of that item sent up to and including this chunk)
        self._pending: deque[tuple[str, str, int]] = deque()
        self._sent: dict[str, int] = {}
        self._played: dict[str, int] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def on_audio_sent(self, item_id: str, nbytes: int) -> str:
        """Account one chunk and return the name of the mark to send right after it."""
        total = self._sent.get(item_id, 0) + nbytes
        self._sent[item_id] = total
        self._seq += 1
        name = f"m{self._seq}"
        self._pending.append((name, item_id, total))
        self._idle.clear()
        return name

    def on_mark_echo(self, name: str) -> bool:
        """Twilio played everything up to ``name``. Unknown names (e.g. after a clear) are ignored."""
        pending = self._pending
        if not pending or not any(n == name for n, _, _ in pending):
            return False
        while pending:
            n, item_id, total = pending.popleft()
            if total > self._played.get(item_id, 0):
                self._played[item_id] = total
            if n == name:
                break
        if not pending:
            self._idle.set()
        return True

    @property
    def has_unplayed(self) -> bool:
        return bool(self._pending)

    def played_ms(self, item_id: str) -> int:
        return self._played.get(item_id, 0) // BYTES_PER_MS

    def sent_ms(self, item_id: str) -> int:
        return self._sent.get(item_id, 0) // BYTES_PER_MS

    def barge_in(self) -> BargeIn | None:
        """Forget the queued audio; return where to truncate the item that was playing (or None)."""
        if not self._pending:
            return None
        _, item_id, _ = self._pending[0]
        self._pending.clear()
        self._idle.set()
        played = min(self._played.get(item_id, 0), self._sent.get(item_id, 0))
        return BargeIn(item_id=item_id, audio_end_ms=played // BYTES_PER_MS,
                       sent_ms=self._sent.get(item_id, 0) // BYTES_PER_MS)

    async def wait_played(self) -> None:
        """Return once every chunk sent so far has been confirmed played (or cleared)."""
        await self._idle.wait()
