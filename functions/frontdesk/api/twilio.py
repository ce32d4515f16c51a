"""The Twilio webhooks: ``POST /twilio/voice``, ``/twilio/after-stream`` and ``/twilio/status``.

Every request goes through the same steps, in this order, before anything is decided:

1. the body is ``application/x-www-form-urlencoded`` UTF-8 (else 415, or 400 when it does not parse);
2. ``X-Twilio-Signature`` verifies against ``PUBLIC_BASE_URL`` + the route's path and every form field
   (else 403 with a problem document, never TwiML) — ``ALLOW_UNSIGNED_TWILIO=true`` skips this, and the
   settings refuse that flag when ``STAGE=prod``;
3. the fields Twilio always sends are there and well formed (else 422).

Then one decision (:mod:`frontdesk.twilio_edge.decisions`) is rendered as TwiML. No 500 ever leaves these
routes: when a dependency is down and there is no safe TwiML to give, the answer is a 503 problem, which makes
Twilio use the number's fallback URL (see ``TWILIO.md``: point it at a TwiML Bin that dials the restaurant).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict
from starlette.responses import Response

from frontdesk.api import errors
from frontdesk.api.deps import provider
from frontdesk.api.observability import metric
from frontdesk.core.errors import FrontDeskError

if TYPE_CHECKING:
    from frontdesk.twilio_edge.decisions import Reply
    from frontdesk.twilio_edge.runtime import TwilioEdge
    from frontdesk_contract.call_record import CallRecord

log = logging.getLogger("frontdesk.twilio")

VOICE_PATH = "/twilio/voice"
AFTER_STREAM_PATH = "/twilio/after-stream"
STATUS_PATH = "/twilio/status"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
TWIML_MEDIA_TYPE = "text/xml"
MAX_FIELDS = 100

CALLS_STREAMED = "TwilioCallStreamed"
CALLS_TO_FAILOVER = "TwilioCallToFailover"
CALLS_TURNED_AWAY = "TwilioCallTurnedAway"
SIGNATURES_REJECTED = "TwilioSignatureRejected"
AFTER_STREAM_TRANSFERS = "TwilioAfterStreamTransfer"


# -- the form fields we read (Twilio sends many more; they are signed but ignored) -----------------------

CallStatus = Literal["queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer",
                     "canceled", "failed"]
DialCallStatus = Literal["completed", "answered", "busy", "no-answer", "failed", "canceled"]


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _rfc2822(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        raise ValueError("must be an RFC 2822 date, like Tue, 01 Dec 2026 19:00:00 +0000") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


CallSid = Annotated[str, StringConstraints(pattern=r"^CA[0-9a-fA-F]{32}$")]
AccountSid = Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
Address = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class TwilioForm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    call_sid: CallSid = Field(alias="CallSid")
    account_sid: Annotated[AccountSid | None, BeforeValidator(_blank_is_none)] = Field(None, alias="AccountSid")
    from_: Address = Field("", alias="From")
    to: Address = Field("", alias="To")
    call_status: Annotated[CallStatus | None, BeforeValidator(_blank_is_none)] = Field(None, alias="CallStatus")


class VoiceForm(TwilioForm):
    to: Annotated[Address, StringConstraints(min_length=1)] = Field(alias="To")


class AfterStreamForm(TwilioForm):
    dial_call_status: Annotated[DialCallStatus | None, BeforeValidator(_blank_is_none)] = Field(
        None, alias="DialCallStatus")


class StatusForm(TwilioForm):
    call_status: CallStatus = Field(alias="CallStatus")
    call_duration: Annotated[int | None, BeforeValidator(_blank_is_none), Field(ge=0, le=7 * 86400)] = Field(
        None, alias="CallDuration")
    timestamp: Annotated[datetime | None, BeforeValidator(_blank_is_none), BeforeValidator(_rfc2822)] = Field(
        None, alias="Timestamp")
    sequence_number: Annotated[int | None, BeforeValidator(_blank_is_none), Field(ge=0, le=2**31 - 1)] = Field(
        None, alias="SequenceNumber")


FormT = TypeVar("FormT", bound=TwilioForm)
SignedFormT = TypeVar("SignedFormT", bound=BaseModel)  # any signed Twilio form (calls or messages)


# -- refusals -----------------------------------------------------------------------------------------

class WebhookRefused(Exception):
    """A request answered with a problem document instead of TwiML."""

    def __init__(self, status: int, code: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extensions = extensions


def parse_form(content_type: str | None, body: bytes) -> ImmutableMultiDict[str, str]:
    """Every field of a form body, repeated ones included (Twilio signs each value)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        raise WebhookRefused(415, "unsupported_media_type",
                             f"Twilio webhooks are {FORM_MEDIA_TYPE} (got {(content_type or 'nothing')[:60]!r})")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(400, "malformed_form", "the body is not a URL-encoded UTF-8 form") from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise WebhookRefused(400, "malformed_form", "the form contains NUL characters")
    return ImmutableMultiDict(pairs)


def validate_form(model: type[SignedFormT], params: ImmutableMultiDict[str, str]) -> SignedFormT:
    """A signed form as ``model``, or a 422 naming every field that is wrong or sent more than once."""
    aliases = {f.alias for f in model.model_fields.values() if f.alias}
    repeated = sorted(name for name in aliases if len(params.getlist(name)) > 1)
    problems: list[dict[str, Any]] = [
        {"loc": ("body", name), "type": "repeated_field", "msg": "must be sent once"} for name in repeated]
    try:
        form = model.model_validate(dict(params))
    except ValidationError as exc:
        problems += [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
        form = None
    if problems or form is None:
        listed = errors.field_errors(problems)
        first = listed[0]
        more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
        raise WebhookRefused(422, "validation_failed", f"{first['field']} {first['message']}{more}", errors=listed)
    return form


# -- the per-app edge bundle --------------------------------------------------------------------------

_edge_lock = threading.Lock()


def edge_for(request: Request) -> TwilioEdge:
    """The app's :class:`TwilioEdge`, built on the first Twilio request from the app's settings (tests may
    set ``app.state.twilio_edge`` themselves)."""
    state = request.app.state
    edge = getattr(state, "twilio_edge", None)
    if edge is not None:
        return edge
    with _edge_lock:
        edge = getattr(state, "twilio_edge", None)
        if edge is None:
            from frontdesk.twilio_edge.runtime import TwilioEdge

            try:
                settings = provider(request).settings
            except (ValueError, RuntimeError) as exc:  # pydantic's ValidationError is a ValueError
                log.error("Twilio webhooks cannot run: the settings are invalid: %s", exc)
                raise WebhookRefused(503, "misconfigured", "the Twilio webhooks are not configured") from None
            edge = TwilioEdge.from_settings(settings)
            state.twilio_edge = edge
    return edge


_warned_unsigned = False


def _authenticate(edge: TwilioEdge, request: Request, path: str, params: ImmutableMultiDict[str, str]) -> None:
    """403 unless Twilio signed this URL and these fields (or unsigned webhooks are allowed: dev only)."""
    from frontdesk.twilio_edge.signature import (
        SIGNATURE_HEADER,
        SIGNATURE_SETTINGS_HEADER,
        CredentialsInvalid,
        verify_signature,
    )

    global _warned_unsigned
    if edge.settings.allow_unsigned_twilio:
        if not _warned_unsigned:
            _warned_unsigned = True
            log.warning("ALLOW_UNSIGNED_TWILIO=true: Twilio signatures are NOT checked (never in prod)")
        return
    if not edge.signing_configured:
        log.error("no Twilio credentials: set TWILIO_AUTH_TOKEN (or TWILIO_SECRET_ARN in AWS)")
        raise WebhookRefused(503, "misconfigured", "the Twilio webhooks are not configured")
    url = edge.public_url(path)
    query = request.scope.get("query_string") or b""
    if query:
        url += "?" + query.decode("latin-1")
    signature = request.headers.get(SIGNATURE_HEADER)
    settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
    try:
        verified = verify_signature(edge.credentials(), url, params, signature, settings_header)
        if not verified and signature:
            fresh = edge.refreshed_credentials()
            verified = fresh is not None and verify_signature(fresh, url, params, signature, settings_header)
            if verified:
                log.info("Twilio credentials changed; the new ones verify")
    except CredentialsInvalid as exc:
        log.error("the Twilio credentials are unusable: %s", exc)
        raise WebhookRefused(503, "misconfigured", "the Twilio webhooks are not configured") from None
    except Exception as exc:
        log.error("Twilio credentials unavailable: %s", type(exc).__name__)
        raise WebhookRefused(503, "credentials_unavailable", "the Twilio credentials cannot be read now") from None
    if not verified:
        metric(SIGNATURES_REJECTED)
        log.warning("Twilio signature rejected", extra={"path": path, "signed": bool(signature),
                                                         "signature_settings": settings_header is not None})
        raise WebhookRefused(403, "invalid_signature",
                             f"the request does not carry a valid {SIGNATURE_HEADER} for this URL")
    expected_account = edge.settings.twilio_account_sid
    sent_account = params.get("AccountSid")
    if expected_account and sent_account and sent_account != expected_account:
        log.warning("Twilio webhook for another account refused")
        raise WebhookRefused(403, "invalid_signature", "the request is for another Twilio account")


# -- the three webhooks ---------------------------------------------------------------------------------

def _form_body(model: type[TwilioForm]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {FORM_MEDIA_TYPE: {"schema": schema}}}}


_TWIML_OK: dict[int | str, dict[str, Any]] = {
    200: {"description": "TwiML for Twilio", "content": {TWIML_MEDIA_TYPE: {"example": "<Response/>"}}}}
_REFUSALS = errors.problem_responses(400, 403, 413, 415, 422, 503)
router = APIRouter(prefix="/twilio", tags=["twilio"])


@router.post(
    "/voice", response_class=Response, responses={**_TWIML_OK, **_REFUSALS}, openapi_extra=_form_body(VoiceForm),
    summary="A call comes in: stream it to the AI, or send it to the restaurant",
    description="Twilio number → Voice → *A call comes in* (HTTP POST). Answers `<Connect><Stream>` to the "
                "bridge with a per-call token, `<Dial>` to the failover number when the AI is switched off or "
                "outside its hours, or a short `<Say>` and `<Hangup/>` for a number no restaurant owns.",
)
async def voice(request: Request) -> Response:
    return await _webhook(request, VOICE_PATH, VoiceForm, _answer_call)


@router.post(
    "/after-stream", response_class=Response, responses={**_TWIML_OK, **_REFUSALS},
    openapi_extra=_form_body(AfterStreamForm),
    summary="The AI stream (or the failover dial) ended: hang up, or connect the caller to the restaurant",
    description="The `<Connect action>` and `<Dial action>` URL. `<Hangup/>` when the bridge recorded the call "
                "as completed; otherwise a short `<Say>` and `<Dial>` to the failover number (or an apology and "
                "`<Hangup/>` when there is none). After a failover dial nobody answered: an apology, then "
                "`<Hangup/>`.",
)
async def after_stream(request: Request) -> Response:
    return await _webhook(request, AFTER_STREAM_PATH, AfterStreamForm, _after_stream)


@router.post(
    "/status", status_code=204, response_class=Response,
    responses={204: {"description": "Recorded"}, **_REFUSALS}, openapi_extra=_form_body(StatusForm),
    summary="Call status callback: record the call",
    description="Twilio number → Voice → *Call status changes* (HTTP POST). Idempotent and order-independent: "
                "a repeated or late status never moves a call backwards.",
)
async def status(request: Request) -> Response:
    return await _webhook(request, STATUS_PATH, StatusForm, _record_status)


async def _webhook(request: Request, path: str, model: type[FormT],
                   handle: Callable[[TwilioEdge, FormT], Response]) -> Response:
    body = await request.body()
    return await run_in_threadpool(_serve, request, body, path, model, handle)


def _serve(request: Request, body: bytes, path: str, model: type[FormT],
           handle: Callable[[TwilioEdge, FormT], Response]) -> Response:
    try:
        edge = edge_for(request)
        params = parse_form(request.headers.get("content-type"), body)
        _authenticate(edge, request, path, params)
        form = validate_form(model, params)
        return handle(edge, form)
    except WebhookRefused as refusal:
        return errors.problem(request, refusal.status, refusal.code, refusal.detail, **refusal.extensions)
    except FrontDeskError:
        raise  # mapped once, in frontdesk.api.errors (a dependency down → 503 with Retry-After)
    except Exception:
        log.exception("Twilio webhook failed", extra={"path": path})
        return errors.problem(request, 503, "webhook_failed",
                              "the webhook could not answer; Twilio will use the number's fallback URL")


def _twiml(edge: TwilioEdge, reply: Reply, **stream: Any) -> Response:
    from frontdesk.twilio_edge.twiml import render

    xml = render(reply, after_url=edge.public_url(AFTER_STREAM_PATH), **stream)
    return Response(xml, media_type=TWIML_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


def _record(edge: TwilioEdge, form: TwilioForm, status: str, **fields: Any) -> None:
    """Best effort: a call is answered whether or not it can be written down."""
    try:
        edge.calls.record_status(form.call_sid, status, from_number=form.from_, to_number=form.to, **fields)
    except FrontDeskError as exc:
        log.warning("call not recorded", extra={"call_sid": form.call_sid, "error": exc.code})
    except Exception:
        log.exception("call not recorded", extra={"call_sid": form.call_sid})


def _read_record(edge: TwilioEdge, call_sid: str) -> CallRecord | None:
    """The bridge's record, or None when there is none or it cannot be read (which means: a person)."""
    from frontdesk_contract.call_record import CallRecordError

    try:
        return edge.records.get(call_sid)
    except CallRecordError as exc:
        log.error("call record unreadable", extra={"call_sid": call_sid, "error": str(exc)})
    except FrontDeskError as exc:
        log.warning("call record unavailable", extra={"call_sid": call_sid, "error": exc.code})
    except Exception:
        log.exception("call record not read", extra={"call_sid": call_sid})
    return None


def _answer_call(edge: TwilioEdge, form: VoiceForm) -> Response:
    from frontdesk.twilio_edge import decisions
    from frontdesk.twilio_edge.decisions import Action

    route = edge.calls.route_for_number(form.to)
    now = datetime.fromtimestamp(edge.clock(), UTC)
    reply = decisions.answer(route, now, can_stream=True)
    stream: dict[str, Any] = {}
    if reply.action is Action.STREAM:
        assert route is not None
        stream_url = edge.stream_url
        token = _issue_token(edge, str(route.restaurant_id), form) if stream_url else None
        if token is None:
            reply = decisions.answer(route, now, can_stream=False)
        else:
            stream = {"stream_url": stream_url, "parameters": {
                "token": token, "restaurant_id": str(route.restaurant_id), "caller": form.from_}}
    metric(CALLS_STREAMED if reply.action is Action.STREAM else
           CALLS_TO_FAILOVER if reply.action is Action.DIAL else CALLS_TURNED_AWAY)
    log.info("call answered", extra={"call_sid": form.call_sid, "action": reply.action.value, "why": reply.why,
                                     "restaurant_id": str(route.restaurant_id) if route else None})
    _record(edge, form, form.call_status or "ringing", restaurant_id=route.restaurant_id if route else None,
            outcome=reply.outcome.value if reply.outcome else None)
    return _twiml(edge, reply, **stream)


def _issue_token(edge: TwilioEdge, restaurant_id: str, form: VoiceForm) -> str | None:
    """A stream token for this call, or None when one cannot be made (the caller then goes to a person)."""
    from frontdesk.twilio_edge.runtime import STREAM_TOKEN_TTL_SECONDS
    from frontdesk_contract.stream_token import issue_stream_token

    try:
        secret = edge.stream_token_secret()
        if not secret:
            log.error("STREAM_TOKEN_SECRET (or STREAM_TOKEN_SECRET_ARN) is not set: calls go to the failover")
            return None
        return issue_stream_token(secret, restaurant_id, form.call_sid, form.from_, edge.clock(),
                                  STREAM_TOKEN_TTL_SECONDS)
    except Exception as exc:
        log.error("stream token not issued: %s", type(exc).__name__)
        return None


def _after_stream(edge: TwilioEdge, form: AfterStreamForm) -> Response:
    from frontdesk.twilio_edge import decisions
    from frontdesk.twilio_edge.decisions import Action

    if form.dial_call_status is not None:  # the failover <Dial> ended: never dial again from here
        reply = decisions.after_dial(form.dial_call_status)
        log.info("failover dial ended", extra={"call_sid": form.call_sid, "dial_status": form.dial_call_status})
        return _twiml(edge, reply)
    record = _read_record(edge, form.call_sid)
    reply = decisions.after_stream(record, lambda: edge.calls.route_for_number(form.to))
    log.info("stream ended", extra={"call_sid": form.call_sid, "action": reply.action.value, "why": reply.why})
    if reply.action is not Action.HANGUP:  # a completed call is written down by its status callback
        metric(AFTER_STREAM_TRANSFERS)
        _record(edge, form, form.call_status or "in-progress",
                outcome=reply.outcome.value if reply.outcome else None,
                reservation_id=decisions.reservation_of(record))
    return _twiml(edge, reply)


def _record_status(edge: TwilioEdge, form: StatusForm) -> Response:
    from frontdesk.twilio_edge import decisions

    terminal = form.call_status in decisions.TERMINAL_STATUSES
    record = _read_record(edge, form.call_sid) if terminal else None
    outcome = decisions.final_outcome(form.call_status, record) if terminal else None
    edge.calls.record_status(
        form.call_sid, form.call_status, at=form.timestamp, from_number=form.from_, to_number=form.to,
        duration_seconds=form.call_duration, outcome=outcome.value if outcome else None,
        reservation_id=decisions.reservation_of(record), sequence_number=form.sequence_number)
    return Response(status_code=204)
