"""The model-provider interface the call session talks to, and the normalised events it receives.

A provider turns its own wire protocol into these few events and accepts these few commands. The
session never sees a vendor's JSON, so another vendor (or OpenAI's next voice API) is one new module.
Audio is always the caller's/Twilio's base64 G.711 µ-law string, passed through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "AudioDelta",
    "FunctionCallDone",
    "IdleTimeout",
    "ModelClosed",
    "ModelConnection",
    "ModelError",
    "ModelEvent",
    "ModelProvider",
    "ResponseCreated",
    "ResponseDone",
    "SessionConfig",
    "SessionReady",
    "SpeechStarted",
    "SpeechStopped",
    "ToolSpec",
    "UnknownModelEvent",
]


class ModelClosed(ConnectionError):
    """The model connection is gone (closed by either side, or failed to open)."""


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionConfig:
    instructions: str
    voice: str
    tools: tuple[ToolSpec, ...] = ()
    idle_timeout_ms: int | None = 8000


class ModelEvent:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class SessionReady(ModelEvent):
    """The provider applied our session configuration."""


@dataclass(frozen=True, slots=True)
class AudioDelta(ModelEvent):
    response_id: str
    item_id: str
    payload: bytes  # base64 µ-law, ASCII, shape-checked


@dataclass(frozen=True, slots=True)
class SpeechStarted(ModelEvent):
    item_id: str


@dataclass(frozen=True, slots=True)
class SpeechStopped(ModelEvent):
    item_id: str


@dataclass(frozen=True, slots=True)
class ResponseCreated(ModelEvent):
    response_id: str


@dataclass(frozen=True, slots=True)
class ResponseDone(ModelEvent):
    response_id: str
    status: str  # completed | cancelled | failed | incomplete


@dataclass(frozen=True, slots=True)
class FunctionCallDone(ModelEvent):
    response_id: str
    item_id: str
    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class IdleTimeout(ModelEvent):
    """The caller has been silent for the configured idle time; the model prompts them."""


@dataclass(frozen=True, slots=True)
class ModelError(ModelEvent):
    code: str
    message: str
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class UnknownModelEvent(ModelEvent):
    type: str
    detail: str = field(default="")


class ModelConnection(Protocol):
    async def recv(self) -> ModelEvent:
        """Next event; raises :class:`ModelClosed` when the connection is gone."""
        ...

    async def send_audio(self, payload: str) -> None: ...

    async def send_function_output(self, call_id: str, output: str) -> None: ...

    async def create_response(self, instructions: str | None = None) -> None: ...

    async def cancel_response(self) -> None: ...

    async def truncate(self, item_id: str, audio_end_ms: int) -> None: ...

    async def add_system_note(self, text: str) -> None:
        """Put a system message in the conversation (used to resume after a reconnect)."""
        ...

    async def close(self) -> None: ...


class ModelProvider(Protocol):
    async def connect(self, config: SessionConfig, open_timeout: float) -> ModelConnection:
        """Open a session configured with ``config``; raise :class:`ModelClosed` on failure."""
        ...
