"""SmsGateway on Twilio Messaging, through the ``twilio`` package's REST client.

``TWILIO_API_BASE_URL`` replaces ``https://api.twilio.com`` in every request the client makes (tests point it
at ``tests/doubles/fake_twilio_rest.py``); the package still builds, signs (Basic auth) and parses everything.

Errors are sorted for the sender: 429, 5xx, timeouts and connection failures are transient (retry with
backoff); 401/403 are our configuration, also transient so a fixed secret delivers the backlog; 21610
(the recipient replied STOP to Twilio) is an opt-out; any other 4xx is permanent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from frontdesk.core.notifications import SmsSendError

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
UNSUBSCRIBED = 21610
#: Where Twilio posts delivery receipts (``frontdesk.api.sms``), under PUBLIC_BASE_URL.
STATUS_CALLBACK_PATH = "/twilio/sms-status"


def status_callback_url(public_base_url: str) -> str | None:
    """The receipt webhook for ``public_base_url``, or None when Twilio could not reach it (not https, e.g.
    the local default http://127.0.0.1:8000): the message is still sent, its delivery just is not tracked."""
    base = public_base_url.strip().rstrip("/")
    return base + STATUS_CALLBACK_PATH if base.startswith("https://") else None


def _rebased_http_client(base_url: str, timeout: float) -> Any:
    from twilio.http.http_client import TwilioHttpClient

    class RebasedHttpClient(TwilioHttpClient):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if base_url and url.startswith(TWILIO_API):
                url = base_url.rstrip("/") + url[len(TWILIO_API):]
            return super().request(method, url, *args, **kwargs)

    return RebasedHttpClient(timeout=timeout)


class TwilioSmsGateway:
    """``auth_token`` is a function so a secret fetched from Secrets Manager (and rotated) is read when
    needed, not at construction. ``messaging_service_sid`` wins over a From number when set."""

    def __init__(self, *, account_sid: str | None, auth_token: Callable[[], str | None], base_url: str = TWILIO_API,
                 messaging_service_sid: str | None = None, default_from: str | None = None,
                 timeout: float = 10.0, status_callback: str | None = None) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._base_url = base_url
        self._messaging_service_sid = messaging_service_sid
        self._default_from = default_from
        self._timeout = timeout
        self._status_callback = status_callback
        self._client: Any = None
        self._client_token: str | None = None

    @property
    def configured(self) -> bool:
        if not self._account_sid:
            return False
        try:
            return bool(self._auth_token())
        except Exception as exc:  # a secret we cannot read now: not configured for this round
            log.error("Twilio credentials unavailable: %s", type(exc).__name__)
            return False

    def _get_client(self) -> Any:
        from twilio.rest import Client

        token = self._auth_token()
        if self._client is None or token != self._client_token:
            # environment={} so the package never reads os.environ behind the settings' back.
            self._client = Client(self._account_sid, token, http_client=_rebased_http_client(
                self._base_url, self._timeout), environment={})
            self._client_token = token
        return self._client

    def send(self, to: str, body: str, from_number: str | None) -> str:
        from requests import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sender: dict[str, str] = {}
        if self._messaging_service_sid:
            sender["messaging_service_sid"] = self._messaging_service_sid
        elif from_number or self._default_from:
            sender["from_"] = from_number or self._default_from  # type: ignore[assignment]
        else:
            raise SmsSendError("no sender: the restaurant has no Twilio number and neither "
                               "TWILIO_MESSAGING_SERVICE_SID nor SMS_FROM_NUMBER is set", transient=False)
        if self._status_callback:
            sender["status_callback"] = self._status_callback
        try:
            message = self._get_client().messages.create(to=to, body=body, **sender)
        except TwilioRestException as exc:
            detail = f"Twilio {exc.status}" + (f" error {exc.code}" if exc.code else "")
            if exc.code == UNSUBSCRIBED:
                raise SmsSendError(detail, transient=False, opted_out=True) from None
            transient = exc.status in (401, 403, 408, 429) or exc.status >= 500
            raise SmsSendError(detail, transient=transient) from None
        except RequestException as exc:
            raise SmsSendError(f"Twilio unreachable: {type(exc).__name__}", transient=True) from None
        except TwilioException as exc:  # e.g. a body that is not JSON
            raise SmsSendError(f"Twilio answered oddly: {type(exc).__name__}", transient=True) from None
        sid = getattr(message, "sid", None)
        if not sid:
            raise SmsSendError("Twilio answered without a message sid", transient=True)
        return str(sid)


__all__ = ["STATUS_CALLBACK_PATH", "TwilioSmsGateway", "status_callback_url"]
