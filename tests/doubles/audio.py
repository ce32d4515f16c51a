"""The shared protocol fixtures (``../shared/fixtures``), located once."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["FIXTURES", "FRAME_BYTES", "agent_greeting", "caller_clip", "chunks", "jsonl", "silence"]

FRAME_BYTES = 160  # 20 ms of 8 kHz µ-law


def _find_fixtures() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        for candidate in (parent / "shared" / "fixtures", parent.parent / "shared" / "fixtures"):
            if (candidate / "README.md").exists():
                return candidate
    raise FileNotFoundError("shared/fixtures not found next to the repository")


FIXTURES = _find_fixtures()


@cache
def caller_clip() -> bytes:
    return (FIXTURES / "caller_table_for_four.ulaw").read_bytes()


@cache
def agent_greeting() -> bytes:
    return (FIXTURES / "agent_greeting.ulaw").read_bytes()


def silence(ms: int) -> bytes:
    return b"\xff" * (ms * 8)


def chunks(audio: bytes, size: int = FRAME_BYTES) -> list[str]:
    """Split µ-law bytes into base64 payload strings (what goes on either wire)."""
    return [base64.b64encode(audio[i:i + size]).decode() for i in range(0, len(audio), size)]


def jsonl(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]
