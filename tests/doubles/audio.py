"""The protocol fixtures, located once: ``tests/fixtures/protocol`` (a copy of the team's
``shared/fixtures``, kept in the repository so a clone tests on its own)."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["FIXTURES", "FRAME_BYTES", "agent_greeting", "caller_clip", "chunks", "jsonl", "silence"]

FRAME_BYTES = 160  # 20 ms of 8 kHz µ-law


def _find_fixtures() -> Path:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "protocol"
    if not (fixtures / "README.md").exists():
        raise FileNotFoundError(f"protocol fixtures missing at {fixtures}")
    return fixtures


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
