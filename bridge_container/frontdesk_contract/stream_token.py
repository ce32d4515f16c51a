"""The per-call stream token: the ONE place its format is defined.

The voice webhook (``POST /twilio/voice``) issues a token for the call it is answering and passes it to
the bridge as ``<Parameter name="token" value="…"/>`` inside ``<Connect><Stream>``; the bridge verifies
it on the Media Streams ``start`` message before it opens any model session.

Format (version 1)::

    token   = payload_b64 "." signature_b64
    payload = canonical JSON of {"v": 1, "r": restaurant_id, "c": call_sid, "f": caller, "exp": unix_seconds}
              (keys sorted, separators "," and ":", UTF-8, no whitespace)
    payload_b64   = base64url(payload) without "=" padding
    signature_b64 = base64url(HMAC-SHA256(key=secret, msg=payload_b64 as ASCII bytes)) without padding

Rules enforced by :func:`verify_stream_token`:

* the signature is compared in constant time (:func:`hmac.compare_digest`) before the payload is parsed;
* ``v`` must be 1, ``r``/``c``/``f`` strings, ``exp`` an integer;
* ``exp`` must be in the future (``now < exp``) and at most :data:`MAX_TTL_SECONDS` (120 s) ahead of
  ``now`` — a token minted with a longer life is refused even though its signature is valid;
* ``c`` must equal the call SID the token is presented for (a token cannot be replayed on another call).

``secret`` is the ``STREAM_TOKEN_SECRET`` setting, as ``str`` (UTF-8 encoded) or ``bytes``.
Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

__all__ = [
    "MAX_TTL_SECONDS",
    "TOKEN_VERSION",
    "StreamClaims",
    "StreamTokenError",
    "StreamTokenExpired",
    "StreamTokenInvalid",
    "StreamTokenWrongCall",
    "issue_stream_token",
    "verify_stream_token",
]

TOKEN_VERSION = 1
MAX_TTL_SECONDS = 120
_MAX_TOKEN_CHARS = 2048


class StreamTokenError(ValueError):
    """The token cannot be accepted. Subclasses say why; callers usually only need this base class."""


class StreamTokenInvalid(StreamTokenError):
    """Malformed, tampered with, signed with another secret, or of an unknown version."""


class StreamTokenExpired(StreamTokenError):
    """Past its expiry, or claiming an expiry further ahead than the protocol allows."""


class StreamTokenWrongCall(StreamTokenError):
    """Valid, but issued for another call SID."""


@dataclass(frozen=True, slots=True)
class StreamClaims:
    restaurant_id: str
    call_sid: str
    caller: str
    expires_at: int


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    if not text or any(ch not in _B64URL_ALPHABET for ch in text):
        raise StreamTokenInvalid("token is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StreamTokenInvalid("token is not base64url") from exc


_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("stream token secret must not be empty")
    return key


def _sign(key: bytes, payload_b64: str) -> str:
    return _b64e(hmac.new(key, payload_b64.encode("ascii"), hashlib.sha256).digest())


def issue_stream_token(
    secret: str | bytes,
    restaurant_id: str,
    call_sid: str,
    caller: str,
    now: float,
    ttl_seconds: int = 60,
) -> str:
    """Mint a token for one call, valid for ``ttl_seconds`` (1..120) from ``now`` (unix seconds)."""
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be within 1..{MAX_TTL_SECONDS}")
    claims = {"v": TOKEN_VERSION, "r": str(restaurant_id), "c": str(call_sid), "f": str(caller),
              "exp": int(now) + int(ttl_seconds)}
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    payload_b64 = _b64e(payload.encode("utf-8"))
    return f"{payload_b64}.{_sign(_key(secret), payload_b64)}"


def verify_stream_token(secret: str | bytes, token: str, call_sid: str, now: float) -> StreamClaims:
    """Return the claims of a valid token for ``call_sid`` or raise a :class:`StreamTokenError`."""
    key = _key(secret)
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise StreamTokenInvalid("token is malformed")
    payload_b64, sig_b64 = token.split(".")
    if not payload_b64 or not sig_b64 or not payload_b64.isascii() or not sig_b64.isascii():
        raise StreamTokenInvalid("token is malformed")
    if not hmac.compare_digest(_sign(key, payload_b64).encode("ascii"), sig_b64.encode("ascii")):
        raise StreamTokenInvalid("token signature does not match")
    try:
        claims = json.loads(_b64d(payload_b64).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StreamTokenInvalid("token payload is not JSON") from exc
    if not isinstance(claims, dict) or claims.get("v") != TOKEN_VERSION:
        raise StreamTokenInvalid("unknown token version")
    r, c, f, exp = claims.get("r"), claims.get("c"), claims.get("f"), claims.get("exp")
    if not (isinstance(r, str) and isinstance(c, str) and isinstance(f, str)):
        raise StreamTokenInvalid("token claims are malformed")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise StreamTokenInvalid("token expiry is malformed")
    if now >= exp:
        raise StreamTokenExpired("token has expired")
    if exp - now > MAX_TTL_SECONDS:
        raise StreamTokenExpired("token expiry is further ahead than allowed")
    if not hmac.compare_digest(c.encode("utf-8"), str(call_sid).encode("utf-8")):
        raise StreamTokenWrongCall("token was issued for another call")
    return StreamClaims(restaurant_id=r, call_sid=c, caller=f, expires_at=exp)
