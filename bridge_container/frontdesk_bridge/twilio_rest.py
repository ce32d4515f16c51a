"""The two Twilio REST calls the bridge makes on a live call: hang up and redirect to new TwiML.

``POST {TWILIO_API_BASE_URL}/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` with form fields
``Status=completed`` (hang up) or ``Twiml=<Response>…</Response>`` (redirect: say an apology and
``<Dial>`` the restaurant). Basic auth with the account SID and auth token. One quick retry; failures are
reported to the caller of this module (the session then falls back to closing the stream, which makes
Twilio call ``<Connect action>`` — the after-stream webhook — which reads the call record).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

__all__ = ["TwilioRest", "TwilioRestError", "dial_twiml", "say_hangup_twiml"]


class TwilioRestError(Exception):
    pass


def dial_twiml(say: str, number: str, timeout_seconds: int = 30) -> str:
    return (f"<Response><Say>{escape(say)}</Say>"
            f'<Dial timeout="{int(timeout_seconds)}">{escape(number)}</Dial></Response>')


def say_hangup_twiml(say: str) -> str:
    return f"<Response><Say>{escape(say)}</Say><Hangup/></Response>"


class TwilioRest:
    def __init__(self, base_url: str, account_sid: str | None, auth_token: str | None,
                 timeout: float = 3.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._account_sid = account_sid or ""
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=(account_sid or "", auth_token or ""),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            headers={"User-Agent": "frontdesk-bridge/1"},
            transport=transport,
        )

    @property
    def configured(self) -> bool:
        return bool(self._account_sid)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _update(self, call_sid: str, form: dict[str, str], account_sid: str | None = None) -> None:
        account = account_sid or self._account_sid
        if not account:
            raise TwilioRestError("Twilio account is not configured")
        path = f"/2010-04-01/Accounts/{account}/Calls/{call_sid}.json"
        last: str = ""
        for _attempt in range(2):
            try:
                resp = await self._client.post(path, data=form)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
                continue
            if resp.status_code < 300:
                return
            last = f"HTTP {resp.status_code}"
            if resp.status_code < 500:
                break  # 4xx (e.g. the call already ended) will not improve with a retry
        raise TwilioRestError(f"call update failed: {last}")

    async def hang_up(self, call_sid: str, account_sid: str | None = None) -> None:
        await self._update(call_sid, {"Status": "completed"}, account_sid)

    async def redirect(self, call_sid: str, twiml: str, account_sid: str | None = None) -> None:
        await self._update(call_sid, {"Twiml": twiml}, account_sid)
