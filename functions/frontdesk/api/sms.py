"""``POST /twilio/sms``: a guest texted the restaurant's number. STOP-style words opt the number out of that
restaurant's texts, START-style words opt it back in; anything else is ignored. The answer is always empty
TwiML (Twilio itself sends the carrier-required STOP/START confirmations).

The same steps as the voice webhooks (:mod:`frontdesk.api.twilio`), in the same order: a URL-encoded UTF-8
form (415/400), ``X-Twilio-Signature`` for ``PUBLIC_BASE_URL`` + ``/twilio/sms`` and every field (403), the
fields Twilio always sends (422). Point the number's Messaging "A message comes in" webhook here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from frontdesk.adapters.sms_twilio import STATUS_CALLBACK_PATH
from frontdesk.api import errors
from frontdesk.api.deps import provider
from frontdesk.api.twilio import (
    _REFUSALS,
    _TWIML_OK,
    TWIML_MEDIA_TYPE,
    WebhookRefused,
    _authenticate,
    _form_body,
    edge_for,
    parse_form,
    validate_form,
)
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.notifications import TwilioMessageStatus

log = logging.getLogger("frontdesk.twilio")

SMS_PATH = "/twilio/sms"
#: Twilio's own opt-out and opt-in keywords (a whole message, any case, spaces ignored).
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})

MessageSid = Annotated[str, StringConstraints(pattern=r"^(SM|MM)[0-9a-fA-F]{32}$")]
Address = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: MessageSid = Field(alias="MessageSid")
    account_sid: Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")] | None = Field(
        None, alias="AccountSid")
    from_: Annotated[Address, StringConstraints(min_length=1)] = Field(alias="From")
    to: Annotated[Address, StringConstraints(min_length=1)] = Field(alias="To")
    body: Annotated[str, StringConstraints(max_length=1600)] = Field("", alias="Body")


def keyword(body: str) -> str | None:
    """'out', 'in', or None for an ordinary message."""
    word = "".join(body.split()).upper()
    return "out" if word in OPT_OUT_WORDS else "in" if word in OPT_IN_WORDS else None


def empty_twiml() -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    return Response(str(MessagingResponse()), media_type=TWIML_MEDIA_TYPE, headers={"Cache-Control": "no-store"})


router = APIRouter(prefix="/twilio", tags=["twilio"])


@router.post(
    "/sms", response_class=Response, responses={**_TWIML_OK, **_REFUSALS}, openapi_extra=_form_body(InboundSms),  # type: ignore[arg-type]
    summary="A guest texted the restaurant: record STOP / START",
    description="Twilio number → Messaging → *A message comes in* (HTTP POST). STOP, STOPALL, UNSUBSCRIBE, "
                "CANCEL, END or QUIT opt the sender out of this restaurant's texts; START, UNSTOP or YES opt "
                "them back in. Always answers empty TwiML.",
)
async def inbound_sms(request: Request) -> Response:
    body = await request.body()
    return await run_in_threadpool(_serve, request, body)


def _serve(request: Request, body: bytes) -> Response:
    return _serve_webhook(request, body, SMS_PATH, "SMS webhook", "the message could not be recorded now",
                          lambda params: _record(request, validate_form(InboundSms, params)))


def _serve_webhook(request: Request, body: bytes, path: str, what: str, unavailable: str,
                   act: Callable[[Any], Response]) -> Response:
    """What both SMS webhooks do: refuse what Twilio did not sign, then act on the form; refusals are problems,
    domain errors are mapped once, anything else is a 503 so Twilio retries."""
    try:
        edge = edge_for(request)
        params = parse_form(request.headers.get("content-type"), body)
        _authenticate(edge, request, path, params)
        return act(params)
    except WebhookRefused as refusal:
        return errors.problem(request, refusal.status, refusal.code, refusal.detail, **refusal.extensions)
    except FrontDeskError:
        raise  # mapped once: the database down is a 503 with Retry-After (Twilio retries)
    except Exception:
        log.exception("%s failed", what)
        return errors.problem(request, 503, "webhook_failed", unavailable)


def _record(request: Request, form: InboundSms) -> Response:
    from frontdesk.core.booking import E164

    wanted = keyword(form.body)
    if wanted is None:
        return empty_twiml()
    outbox = getattr(provider(request), "outbox", None)
    if outbox is None:
        raise WebhookRefused(503, "misconfigured", "SMS opt-outs are not configured")
    restaurant_id = outbox.restaurant_for_number(form.to)
    if restaurant_id is None or not E164.match(form.from_):
        log.warning("SMS keyword for no restaurant we know, or from a non-E.164 sender; ignored",
                    extra={"message_sid": form.message_sid})
        return empty_twiml()
    changed = outbox.set_opt_out(restaurant_id, form.from_, wanted == "out", actor=f"sms:{form.message_sid}")
    log.info("SMS opt-%s recorded", wanted, extra={"message_sid": form.message_sid, "changed": changed,
                                                    "restaurant_id": str(restaurant_id)})
    return empty_twiml()


# -- delivery receipts ------------------------------------------------------------------------------------

class SmsStatusCallback(BaseModel):
    """What Twilio posts to a message's StatusCallback (the fields we use; the rest are signed and ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_sid: MessageSid = Field(alias="MessageSid")
    account_sid: Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")] | None = Field(
        None, alias="AccountSid")
    message_status: TwilioMessageStatus = Field(alias="MessageStatus")
    error_code: Annotated[int | None, BeforeValidator(lambda v: None if v == "" else v),
                          Field(ge=0, le=99999)] = Field(None, alias="ErrorCode")


@router.post(
    "/sms-status", response_class=Response, responses={**_TWIML_OK, **_REFUSALS},
    openapi_extra=_form_body(SmsStatusCallback),  # type: ignore[arg-type]
    summary="Twilio reports how far an SMS got: queued, sent, delivered, undelivered or failed",
    description="Set by the sender as each message's StatusCallback. A receipt only moves a message forward "
                "(delivered, undelivered and failed are final); receipts for unknown messages are answered and "
                "ignored. Error 21610 or 30004 opts the guest out of the restaurant's texts.",
)
async def sms_status(request: Request) -> Response:
    body = await request.body()
    return await run_in_threadpool(_serve_status, request, body)


def _serve_status(request: Request, body: bytes) -> Response:
    def act(params: Any) -> Response:
        from frontdesk.core.notifications import DeliveryReceipt, record_receipt

        form = validate_form(SmsStatusCallback, params)
        outbox = getattr(provider(request), "outbox", None)
        if outbox is None:
            raise WebhookRefused(503, "misconfigured", "SMS receipts are not configured")
        record_receipt(outbox, DeliveryReceipt(form.message_sid, form.message_status, form.error_code))
        return empty_twiml()

    return _serve_webhook(request, body, STATUS_CALLBACK_PATH, "SMS status webhook",
                          "the receipt could not be recorded now", act)
