"""Twilio Media Streams (bidirectional ``<Connect><Stream>``) as typed messages.

Inbound: one class per ``event`` and the ``event`` → class table :data:`INBOUND`. :func:`parse_inbound`
turns one text frame into a message or raises :class:`TwilioWireError`; unknown events come back as
:class:`UnknownEvent` so the session can log and ignore them. Nothing here touches the network.

Outbound frames (``media``, ``mark``, ``clear``) are built as bytes from a per-stream prefix: the payload
string from the model is spliced in unchanged (it is checked to be base64, so it cannot break the JSON).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

__all__ = [
    "INBOUND",
    "Connected",
    "Dtmf",
    "Mark",
    "Media",
    "OutboundFrames",
    "Start",
    "Stop",
    "TwilioMessage",
    "TwilioWireError",
    "UnknownEvent",
    "is_base64",
    "parse_inbound",
]

_B64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_SID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def is_base64(payload: str) -> bool:
    """Cheap shape check (alphabet + padding); never decodes."""
    return payload.isascii() and _B64.fullmatch(payload.encode("ascii")) is not None


class TwilioWireError(ValueError):
    """A frame that is not a Media Streams message (not JSON, wrong shape)."""


class TwilioMessage:
    __slots__ = ()
    event: ClassVar[str] = ""


@dataclass(slots=True, frozen=True)
class Connected(TwilioMessage):
    event: ClassVar[str] = "connected"
    protocol: str = ""
    version: str = ""

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Connected:
        return cls(protocol=str(obj.get("protocol", "")), version=str(obj.get("version", "")))


@dataclass(slots=True, frozen=True)
class Start(TwilioMessage):
    event: ClassVar[str] = "start"
    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    media_encoding: str = ""
    sample_rate: int = 0

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Start:
        start = obj.get("start")
        if not isinstance(start, dict):
            raise TwilioWireError("start without a start object")
        stream_sid = start.get("streamSid") or obj.get("streamSid")
        call_sid = start.get("callSid")
        if not isinstance(stream_sid, str) or not _SID.fullmatch(stream_sid):
            raise TwilioWireError("start without a valid streamSid")
        if not isinstance(call_sid, str) or not _SID.fullmatch(call_sid):
            raise TwilioWireError("start without a valid callSid")
        params = start.get("customParameters") or {}
        if not isinstance(params, dict):
            raise TwilioWireError("customParameters is not an object")
        fmt = start.get("mediaFormat") or {}
        return cls(
            stream_sid=stream_sid,
            call_sid=call_sid,
            account_sid=str(start.get("accountSid", "")),
            custom_parameters={str(k): v for k, v in params.items() if isinstance(v, str)},
            media_encoding=str(fmt.get("encoding", "")) if isinstance(fmt, dict) else "",
            sample_rate=int(fmt.get("sampleRate") or 0) if isinstance(fmt, dict) else 0,
        )


@dataclass(slots=True, frozen=True)
class Media(TwilioMessage):
    event: ClassVar[str] = "media"
    payload: str
    timestamp: str = ""

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Media:
        media = obj.get("media")
        if not isinstance(media, dict):
            raise TwilioWireError("media without a media object")
        payload = media.get("payload")
        if not isinstance(payload, str) or not is_base64(payload):
            raise TwilioWireError("media payload is not base64")
        ts = media.get("timestamp", "")
        return cls(payload=payload, timestamp=ts if isinstance(ts, str) else str(ts))


@dataclass(slots=True, frozen=True)
class Mark(TwilioMessage):
    event: ClassVar[str] = "mark"
    name: str

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Mark:
        mark = obj.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            raise TwilioWireError("mark without a name")
        return cls(name=name)


@dataclass(slots=True, frozen=True)
class Dtmf(TwilioMessage):
    event: ClassVar[str] = "dtmf"
    digit: str

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Dtmf:
        dtmf = obj.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        if not isinstance(digit, str) or len(digit) != 1:
            raise TwilioWireError("dtmf without a digit")
        return cls(digit=digit)


@dataclass(slots=True, frozen=True)
class Stop(TwilioMessage):
    event: ClassVar[str] = "stop"
    call_sid: str = ""

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> Stop:
        stop = obj.get("stop")
        sid = stop.get("callSid", "") if isinstance(stop, dict) else ""
        return cls(call_sid=sid if isinstance(sid, str) else "")


@dataclass(slots=True, frozen=True)
class UnknownEvent(TwilioMessage):
    name: str


INBOUND: dict[str, Any] = {
    cls.event: cls for cls in (Connected, Start, Media, Mark, Dtmf, Stop)
}


def parse_inbound(raw: bytes | str) -> TwilioMessage:
    """One Twilio text frame → message. Raises :class:`TwilioWireError` for garbage."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TwilioWireError("frame is not JSON") from exc
    if not isinstance(obj, dict):
        raise TwilioWireError("frame is not a JSON object")
    event = obj.get("event")
    if not isinstance(event, str):
        raise TwilioWireError("frame has no event name")
    cls = INBOUND.get(event)
    if cls is None:
        return UnknownEvent(name=event[:64])
    try:
        return cls.from_wire(obj)
    except (TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, TwilioWireError):
            raise
        raise TwilioWireError(f"malformed {event}") from exc


class OutboundFrames:
    """Byte templates for one stream: frames are concatenations, never a dict serialised per frame."""

    __slots__ = ("_clear", "_mark_prefix", "_media_prefix")

    _SUFFIX_MEDIA = b'"}}'
    _SUFFIX_MARK = b'"}}'

    def __init__(self, stream_sid: str) -> None:
        sid = orjson.dumps(stream_sid)  # quoted and escaped once
        self._media_prefix = b'{"event":"media","streamSid":' + sid + b',"media":{"payload":"'
        self._mark_prefix = b'{"event":"mark","streamSid":' + sid + b',"mark":{"name":"'
        self._clear = b'{"event":"clear","streamSid":' + sid + b"}"

    def media(self, payload_b64: bytes) -> bytes:
        """``payload_b64`` must already be known base64 (ASCII, no quotes)."""
        return self._media_prefix + payload_b64 + self._SUFFIX_MEDIA

    def mark(self, name: str) -> bytes:
        """Mark names are generated by us (``[A-Za-z0-9_.:-]``), so no escaping is needed."""
        return self._mark_prefix + name.encode("ascii") + self._SUFFIX_MARK

    def clear(self) -> bytes:
        return self._clear
