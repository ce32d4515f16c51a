"""Strict validation of client events against the installed ``openai`` package's GA models.

``openai.types.realtime`` models allow extra fields, so validation alone would accept beta-era shapes
(``modalities``, ``input_audio_format``, ``voice`` at the top of a session …). Here an event must
(1) validate in pydantic strict mode as ``RealtimeClientEvent`` (the GA union, discriminated by ``type``),
(2) carry no extra field at any depth (every nested model's ``__pydantic_extra__`` is empty), and
(3) use no beta name. Free-form fields (a tool's JSON-schema ``parameters``) are plain dicts, not models,
so they are not walked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = ["BETA_EVENT_TYPES", "ClientEventInvalid", "validate_client_event"]

# Client event types that existed only in the beta protocol (or were renamed for GA).
BETA_EVENT_TYPES = frozenset({"transcription_session.update"})

_adapter: TypeAdapter[Any] | None = None


class ClientEventInvalid(ValueError):
    pass


def _get_adapter() -> TypeAdapter[Any]:
    global _adapter
    if _adapter is None:
        from openai.types.realtime import RealtimeClientEvent

        _adapter = TypeAdapter(RealtimeClientEvent)
    return _adapter


def _extras(value: Any, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(value, BaseModel):
        extra = value.__pydantic_extra__ or {}
        found.extend(f"{path}.{k}" if path else k for k in extra)
        for name in type(value).model_fields:
            found.extend(_extras(getattr(value, name), f"{path}.{name}" if path else name))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found.extend(_extras(item, f"{path}[{i}]"))
    return found


def validate_client_event(event: dict[str, Any]) -> Any:
    """Return the parsed GA model or raise :class:`ClientEventInvalid` saying exactly what is wrong."""
    if not isinstance(event, dict):
        raise ClientEventInvalid("client event is not a JSON object")
    etype = event.get("type")
    if etype in BETA_EVENT_TYPES:
        raise ClientEventInvalid(f"beta event type {etype!r}")
    try:
        model = _get_adapter().validate_python(event, strict=True)
    except ValidationError as exc:
        raise ClientEventInvalid(f"{etype}: {exc.errors(include_url=False)[:3]}") from exc
    extras = _extras(model, "")
    if extras:
        raise ClientEventInvalid(f"{etype}: fields not in the GA protocol: {', '.join(extras)}")
    return model
