"""The stream token (frontdesk_contract.stream_token): valid, expired, other call, tampered, too long-lived."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from frontdesk_contract.stream_token import (
    MAX_TTL_SECONDS,
    StreamTokenError,
    StreamTokenExpired,
    StreamTokenInvalid,
    StreamTokenWrongCall,
    issue_stream_token,
    verify_stream_token,
)

SECRET = "s3cret"
NOW = 1_800_000_000


def _token(**kw: object) -> str:
    args = {"restaurant_id": "r-1", "call_sid": "CA1", "caller": "+15551230000", "now": NOW, "ttl_seconds": 60}
    args.update(kw)
    return issue_stream_token(SECRET, **args)  # type: ignore[arg-type]


def _forge(claims: dict[str, object], secret: str = SECRET) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    payload_b64 = payload.rstrip(b"=").decode()
    sig = hmac.new(secret.encode(), payload_b64.encode(), hashlib.sha256).digest()
    return f"{payload_b64}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


def test_a_fresh_token_verifies_and_carries_the_claims() -> None:
    claims = verify_stream_token(SECRET, _token(), "CA1", NOW + 59)
    assert (claims.restaurant_id, claims.call_sid, claims.caller, claims.expires_at) == (
        "r-1", "CA1", "+15551230000", NOW + 60)


def test_the_format_is_base64url_canonical_json_dot_hmac_sha256_without_padding() -> None:
    token = _token()
    assert "=" not in token and token.count(".") == 1
    assert token == _forge({"v": 1, "r": "r-1", "c": "CA1", "f": "+15551230000", "exp": NOW + 60})


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(StreamTokenExpired):
        verify_stream_token(SECRET, _token(), "CA1", NOW + 60)


def test_a_token_for_another_call_is_refused() -> None:
    with pytest.raises(StreamTokenWrongCall):
        verify_stream_token(SECRET, _token(), "CA2", NOW)


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: _forge({"v": 1, "r": "r-2", "c": "CA1", "f": "+1", "exp": NOW + 60}).split(".")[0]
    + "." + t.split(".")[1],
    lambda t: t.replace(".", ""),
    lambda t: t + ".x",
    lambda t: "",
    lambda t: "é." + t.split(".")[1],
    lambda t: "a" * 5000,
])
def test_a_tampered_or_malformed_token_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StreamTokenInvalid):
        verify_stream_token(SECRET, mutate(_token()), "CA1", NOW)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(StreamTokenInvalid):
        verify_stream_token("other", _token(), "CA1", NOW)


def test_a_validly_signed_token_living_longer_than_120_seconds_is_refused() -> None:
    forged = _forge({"v": 1, "r": "r-1", "c": "CA1", "f": "+1", "exp": NOW + MAX_TTL_SECONDS + 1})
    with pytest.raises(StreamTokenExpired):
        verify_stream_token(SECRET, forged, "CA1", NOW)


@pytest.mark.parametrize("claims", [
    {"v": 2, "r": "r", "c": "CA1", "f": "+1", "exp": NOW + 10},
    {"v": 1, "r": 5, "c": "CA1", "f": "+1", "exp": NOW + 10},
    {"v": 1, "r": "r", "c": "CA1", "f": "+1", "exp": "soon"},
    {"v": 1, "r": "r", "c": "CA1", "f": "+1", "exp": True},
])
def test_unknown_versions_and_malformed_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(StreamTokenInvalid):
        verify_stream_token(SECRET, _forge(claims), "CA1", NOW)


def test_issuing_refuses_a_lifetime_over_120_seconds_or_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="ttl"):
        _token(ttl_seconds=121)
    with pytest.raises(ValueError, match="secret"):
        issue_stream_token("", "r", "CA1", "+1", NOW)


def test_every_refusal_is_one_error_family() -> None:
    for err in (StreamTokenInvalid, StreamTokenExpired, StreamTokenWrongCall):
        assert issubclass(err, StreamTokenError)
