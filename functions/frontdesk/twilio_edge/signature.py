"""Is a webhook really from Twilio? ``X-Twilio-Signature`` checked with the ``twilio`` package's
``RequestValidator`` against the URL Twilio was given (``PUBLIC_BASE_URL`` + the route's path, never the
URL a proxy or API Gateway rewrote) and every form parameter.

Two signing schemes, as the installed ``twilio`` package supports them:

* **Auth token, HMAC-SHA1** — Twilio's default; no ``X-Twilio-Webhooks-Signature-Settings`` header.
* **SharedKey, HMAC-SHA256** (or whatever algorithm the header names) — when a Twilio Webhook Rule matches
  the URL, Twilio signs with that Setting's SharedKey and adds
  ``X-Twilio-Webhooks-Signature-Settings: key=<SharedKey sid>,algorithm=HMAC_SHA256``. The secret is looked up
  by the key's sid, so a new key can be added before the old one is retired.

The credentials are one text (``TWILIO_AUTH_TOKEN`` locally, the ``TWILIO_SECRET_ARN`` secret in AWS):
either the bare auth token, or a JSON object::

    {"auth_token": "…", "secondary_auth_token": "…", "shared_keys": {"KS…": "<secret>"}}

``secondary_auth_token`` (optional) is accepted too, so promoting Twilio's secondary token never rejects
a call. An unsupported algorithm, a missing header or an unknown key fails the check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SIGNATURE_HEADER",
    "SIGNATURE_SETTINGS_HEADER",
    "CredentialsInvalid",
    "TwilioCredentials",
    "parse_credentials",
    "shared_key_id",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_MAX_SIGNATURE_CHARS = 256


class CredentialsInvalid(ValueError):
    """The configured Twilio credentials text cannot be used."""


@dataclass(frozen=True)
class TwilioCredentials:
    auth_tokens: tuple[str, ...] = ()
    shared_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.auth_tokens or self.shared_keys)


def parse_credentials(text: str | None) -> TwilioCredentials:
    """The bare auth token, or the JSON object described in the module docstring."""
    text = (text or "").strip()
    if not text:
        return TwilioCredentials()
    if not text.startswith("{"):
        return TwilioCredentials(auth_tokens=(text,))
    try:
        doc: Any = json.loads(text)
    except ValueError as exc:
        raise CredentialsInvalid("the Twilio credentials are neither a bare token nor a JSON object") from exc
    if not isinstance(doc, dict):
        raise CredentialsInvalid("the Twilio credentials JSON must be an object")
    tokens = tuple(t for t in (doc.get("auth_token"), doc.get("secondary_auth_token")) if t)
    if not all(isinstance(t, str) for t in tokens):
        raise CredentialsInvalid("auth_token and secondary_auth_token must be strings")
    shared = doc.get("shared_keys") or {}
    if not isinstance(shared, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                               for k, v in shared.items()):
        raise CredentialsInvalid("shared_keys must map SharedKey sids to secret strings")
    return TwilioCredentials(auth_tokens=tokens, shared_keys=dict(shared))


def shared_key_id(settings_header: str) -> str | None:
    """The ``key=`` part of ``X-Twilio-Webhooks-Signature-Settings``."""
    for part in settings_header.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "key" and value.strip():
            return value.strip()
    return None


def verify_signature(credentials: TwilioCredentials, url: str, params: Any, signature: str | None,
                     settings_header: str | None) -> bool:
    """True when ``signature`` is Twilio's signature of ``url`` + ``params`` under ``credentials``.

    ``params`` is what the validator accepts: a dict, or a multi-dict with ``getlist``/``getall`` (repeated
    fields are signed value by value). Without the settings header only the auth tokens with HMAC-SHA1 are
    tried; with it, the header's algorithm with the named SharedKey's secret (and, as the same master
    secret would allow anyway, the auth tokens)."""
    from twilio.request_validator import HMAC_SHA1, RequestValidator, get_signature_algorithm

    if not signature or len(signature) > _MAX_SIGNATURE_CHARS:
        return False
    if settings_header is None:
        algorithm, secrets = HMAC_SHA1, list(credentials.auth_tokens)
    else:
        algorithm = get_signature_algorithm(settings_header)
        key = shared_key_id(settings_header)
        secrets = [credentials.shared_keys[key]] if key is not None and key in credentials.shared_keys else []
        secrets += credentials.auth_tokens
    return any(RequestValidator(secret).validate(url, params, signature, algorithm=algorithm) for secret in secrets)
