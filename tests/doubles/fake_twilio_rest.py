"""A fake Twilio REST API over real HTTP on 127.0.0.1 (reusable: call updates and SMS).

Implements the slice of ``/2010-04-01`` the project uses, with Twilio's shapes:

* ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` — form ``Status=completed`` or
  ``Twiml=…`` / ``Url=…``; answers the call resource JSON. Unknown call SIDs are accepted (or 404 when
  :attr:`FakeTwilioRest.strict_calls` is set and the call was never registered).
* ``GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` — the call resource.
* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` — form ``To``, ``From``/``MessagingServiceSid``,
  ``Body`` (and ``StatusCallback``); answers 201 with a message resource. :meth:`FakeTwilioRest.receipt`
  builds the delivery receipt Twilio would then POST to the message's ``StatusCallback``, signed with the
  ``twilio`` package's own RequestValidator and this account's auth token.

HTTP Basic auth must be the configured account SID and auth token (401 otherwise, Twilio's error JSON).
Failures can be injected (:meth:`fail_next`), and :attr:`on_call_update` lets a test react the way
Twilio does (e.g. end the media stream with ``stop`` once a call is redirected or completed).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from .http_server import HttpServer

__all__ = ["CallUpdate", "FakeTwilioRest", "SentMessage", "SignedCallback", "serve_in_thread"]

_sids = itertools.count(1)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class CallUpdate:
    account_sid: str
    call_sid: str
    form: dict[str, str]

    @property
    def twiml(self) -> str | None:
        return self.form.get("Twiml")

    @property
    def status(self) -> str | None:
        return self.form.get("Status")


@dataclass
class SentMessage:
    sid: str
    form: dict[str, str]


@dataclass(frozen=True)
class SignedCallback:
    """A request Twilio would make to one of our webhooks: where, which form fields, which headers."""

    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def body(self) -> bytes:
        from urllib.parse import urlencode

        return urlencode(self.params).encode()


@dataclass
class _Failure:
    status: int
    remaining: int
    code: int = 20500
    message: str = "Internal Server Error"


@dataclass
class FakeTwilioRest:
    account_sid: str = "AC00000000000000000000000000000001"
    auth_token: str = "test-auth-token"
    strict_calls: bool = False
    call_updates: list[CallUpdate] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    on_call_update: Callable[[CallUpdate], Awaitable[None]] | None = None
    known_calls: set[str] = field(default_factory=set)
    url: str = ""

    def __post_init__(self) -> None:
        self._server: HttpServer | None = None
        self._failure: _Failure | None = None
        self._changed = asyncio.Condition()
        self._reactions: list[asyncio.Task[None]] = []

    def fail_next(self, times: int = 1, status: int = 500, code: int = 20500,
                  message: str = "Internal Server Error") -> None:
        """The next ``times`` authorised requests answer ``status`` with Twilio's error JSON carrying ``code``
        (e.g. 400 / 21610 for a recipient who replied STOP)."""
        self._failure = _Failure(status=status, remaining=times, code=code, message=message)

    # -- server -----------------------------------------------------------------------------------

    async def start(self) -> str:
        self._server = HttpServer(self._serve)
        self.url = await self._server.start()
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeTwilioRest:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        status, payload = await self._route(method, target, headers, body)
        return status, "application/json", orjson.dumps(payload)

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    async def _route(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> tuple[int, dict[str, Any]]:
        path = urlsplit(target).path
        self.requests.append((method, path))
        if not self._authorised(headers):
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        if self._failure is not None and self._failure.remaining > 0:
            self._failure.remaining -= 1
            return self._failure.status, {"code": self._failure.code, "message": self._failure.message,
                                          "status": self._failure.status,
                                          "more_info": f"https://www.twilio.com/docs/errors/{self._failure.code}"}
        parts = path.strip("/").split("/")
        form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        # /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json
        if len(parts) == 5 and parts[:2] == ["2010-04-01", "Accounts"] and parts[3] == "Calls" \
                and parts[4].endswith(".json"):
            account, call_sid = parts[2], parts[4][:-5]
            if account != self.account_sid:
                return 404, {"code": 20404, "message": "Not found", "status": 404}
            if self.strict_calls and call_sid not in self.known_calls:
                return 404, {"code": 20404, "message": "Call not found", "status": 404}
            if method == "POST":
                update = CallUpdate(account, call_sid, form)
                self.call_updates.append(update)
                async with self._changed:
                    self._changed.notify_all()
                if self.on_call_update is not None:
                    self._reactions.append(asyncio.ensure_future(self.on_call_update(update)))
                status = "completed" if form.get("Status") == "completed" else "in-progress"
            elif method == "GET":
                status = "in-progress"
            else:
                return 405, {"code": 20004, "message": "Method not allowed", "status": 405}
            return 200, {"sid": call_sid, "account_sid": account, "status": status}
        # /2010-04-01/Accounts/{sid}/Messages.json
        if len(parts) == 4 and parts[:2] == ["2010-04-01", "Accounts"] and parts[3] == "Messages.json" \
                and method == "POST":
            if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")) \
                    or not form.get("Body"):
                return 400, {"code": 21604, "message": "A 'To', 'From' and 'Body' are required", "status": 400}
            # What Twilio itself refuses, so a client that sends the wrong shape fails here as it would there.
            if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
                return 400, {"code": 20001, "message": "Expected a form body", "status": 400}
            if not _E164.match(form["To"]) or (form.get("From") and not _E164.match(form["From"])):
                return 400, {"code": 21211, "message": "Invalid 'To' or 'From' Phone Number", "status": 400}
            if len(form["Body"]) > 1600:
                return 400, {"code": 21617, "message": "The concatenated message body exceeds the 1600 character "
                             "limit", "status": 400}
            if form.get("From") and form.get("MessagingServiceSid"):
                return 400, {"code": 21603, "message": "Give From or MessagingServiceSid, not both", "status": 400}
            sid = f"SM{next(_sids):032d}"
            self.messages.append(SentMessage(sid, form))
            async with self._changed:
                self._changed.notify_all()
            return 201, {"sid": sid, "account_sid": parts[2], "to": form["To"], "body": form["Body"],
                         "status": "queued"}
        return 404, {"code": 20404, "message": "Not found", "status": 404}

    def receipt(self, message: SentMessage, status: str, *, error_code: int | None = None) -> SignedCallback:
        """The status callback Twilio posts for ``message`` reaching ``status`` (its fields, as Twilio sends
        them for SMS), signed for the ``StatusCallback`` URL the message was sent with."""
        from twilio.request_validator import RequestValidator

        url = message.form.get("StatusCallback")
        if not url:
            raise AssertionError("the message was sent without a StatusCallback")
        params = [("SmsSid", message.sid), ("SmsStatus", status), ("MessageStatus", status),
                  ("To", message.form["To"]), ("MessageSid", message.sid), ("AccountSid", self.account_sid),
                  ("From", message.form.get("From", "")), ("ApiVersion", "2010-04-01")]
        if message.form.get("MessagingServiceSid"):
            params.append(("MessagingServiceSid", message.form["MessagingServiceSid"]))
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        signature = RequestValidator(self.auth_token).compute_signature(url, dict(params))
        return SignedCallback(url, params, {"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Twilio-Signature": signature})

    async def wait_for_update(self, count: int = 1, within: float = 5.0) -> CallUpdate:
        async def ready() -> CallUpdate:
            async with self._changed:
                while len(self.call_updates) < count:
                    await self._changed.wait()
                return self.call_updates[count - 1]
        return await asyncio.wait_for(ready(), within)


@contextmanager
def serve_in_thread(fake: FakeTwilioRest) -> Iterator[FakeTwilioRest]:
    """Run ``fake`` on its own event loop in a daemon thread, for synchronous clients (the ``twilio``
    package's REST client). ``fake.url`` is set on entry; lists such as ``fake.messages`` are plain lists."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="fake-twilio-rest", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake Twilio REST server did not start")
    try:
        yield fake
    finally:
        async def shutdown() -> None:
            await fake.close()
            # Keep-alive connections the client pooled are still being served: end them on this loop.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
