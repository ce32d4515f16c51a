"""Hot-path websocket writes: several text frames, one ``transport.write``.

``websockets``' ``Connection.send()`` writes each message with its own syscall and its own async
context manager. On the relay every model delta becomes a Twilio ``media`` *and* a ``mark``: writing both
frames in one syscall through the library's Sans-I/O protocol object (its public ``protocol`` attribute:
``send_text`` then ``data_to_send``) cuts the bridge's syscalls by a third. When the socket's write buffer
is backed up we fall back to ``send()``, which applies the library's flow control (``drain``).
"""

from __future__ import annotations

from typing import Any

from websockets.protocol import State

__all__ = ["ConnectionGone", "send_texts"]

_BACKLOG = 64 * 1024


class ConnectionGone(ConnectionError):
    pass


async def send_texts(ws: Any, *frames: bytes) -> None:
    """Send each of ``frames`` as one text message, in order, in a single write when possible."""
    protocol = ws.protocol
    if protocol.state is not State.OPEN:
        raise ConnectionGone("websocket is not open")
    transport = ws.transport
    if transport.get_write_buffer_size() > _BACKLOG:
        from websockets.exceptions import ConnectionClosed

        try:
            for frame in frames:
                await ws.send(frame, text=True)
        except ConnectionClosed as exc:
            raise ConnectionGone(str(exc)) from exc
        return
    for frame in frames:
        protocol.send_text(frame)
    data = protocol.data_to_send()
    if data:
        transport.write(data[0] if len(data) == 1 else b"".join(data))
