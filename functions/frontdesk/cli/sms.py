"""``frontdesk sms``: the texts guests get — wording per restaurant, the outbox, delivering now, opt-outs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from frontdesk.cli._support import (
    Column,
    CommandError,
    JsonOption,
    RestaurantArg,
    actor,
    emit,
    local_time,
    say,
    services,
)

app = typer.Typer(
    help="Guest SMS: templates per restaurant, the outbox, delivering due messages now, opt-outs.",
    no_args_is_help=True,
)
template_app = typer.Typer(
    help="The wording of each message kind (confirmed, modified, cancelled). Placeholders: {guest_name} "
         "{restaurant} {restaurant_phone} {date} {time} {party_size}; a modified message may also use "
         "{previous_date} {previous_time} {previous_party_size}. Write {{ or }} for a literal brace.",
    no_args_is_help=True,
)
app.add_typer(template_app, name="template")

KindArg = Annotated[str, typer.Argument(metavar="KIND", help="confirmed, modified or cancelled.",
                                        show_default=False)]
PhoneArg = Annotated[str, typer.Argument(metavar="PHONE", help="The guest's number in E.164, like +12125550123.",
                                         show_default=False)]
STATUSES = ("pending", "sending", "sent", "failed", "suppressed")
#: What Twilio's receipts say; "none": no receipt yet (or sent without a status callback).
DELIVERIES = ("none", "queued", "sent", "delivered", "undelivered", "failed")
#: Delivery states no outbox state shares, so `--status undelivered` can only mean one thing.
DELIVERY_ONLY = ("queued", "delivered", "undelivered")
TEMPLATE_COLUMNS = [Column("kind", "Kind"), Column("source", "Source"), Column("text", "Template"),
                    Column("preview", "Preview")]
OUTBOX_COLUMNS = [Column("created", "Written"), Column("kind", "Kind"), Column("to_phone", "To"),
                  Column("status", "Status"), Column("attempts", "Tries", "right"), Column("next_try", "Next try"),
                  Column("last_error", "Last error"), Column("reservation_id", "Reservation"),
                  Column("delivery", "Delivery")]


def _admin(ctx: typer.Context) -> Any:
    from frontdesk.core.notifications import SmsAdmin

    return SmsAdmin(services(ctx).outbox)


def _template_rows(views: list[Any]) -> list[dict[str, Any]]:
    return [{"kind": v.kind, "source": "custom" if v.custom else "default", "custom": v.custom, "text": v.text,
             "preview": v.preview} for v in views]


@template_app.command("show")
def template_show(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    kind: Annotated[str | None, typer.Argument(metavar="KIND", help="One kind (default: all three).",
                                               show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the template of each kind, whether it is the restaurant's own or the default, and a preview."""
    place = services(ctx).booking.restaurant(restaurant)
    rows = _template_rows(_admin(ctx).templates(place.id, kind))
    emit(rows, columns=TEMPLATE_COLUMNS, as_json=as_json, title=f"{place.name} — SMS templates")


@template_app.command("set")
def template_set(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    kind: KindArg,
    text: Annotated[str | None, typer.Argument(metavar="TEXT", help="The new wording (quote it).",
                                               show_default=False)] = None,
    default: Annotated[bool, typer.Option("--default", help="Go back to the built-in wording.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Save a restaurant's wording for one kind. It is checked first: an unknown placeholder, or a text that
    could grow past one SMS body (1,600 characters) with the longest names, is refused and nothing changes."""
    if (text is None) == (not default):
        raise CommandError("give the new TEXT, or --default to go back to the built-in wording (not both)")
    place = services(ctx).booking.restaurant(restaurant)
    view = _admin(ctx).set_template(place.id, kind, None if default else text, actor=actor(ctx))
    if as_json:
        emit(_template_rows([view])[0], as_json=True)
        return
    say(f"{place.name}: the {view.kind} message now uses the {'custom' if view.custom else 'default'} wording.")
    say(f"Preview: {view.preview}")


@app.command("outbox")
def outbox(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    status: Annotated[str | None, typer.Option("--status", metavar="STATUS",
                                               help=f"Only messages in this outbox state: {', '.join(STATUSES)} "
                                                    f"(or {', '.join(DELIVERY_ONLY)}: the same as --delivery).",
                                               show_default=False)] = None,
    delivery: Annotated[str | None, typer.Option("--delivery", metavar="DELIVERY",
                                                 help="Only messages Twilio reported as: "
                                                      f"{', '.join(DELIVERIES)} (none: no receipt yet).",
                                                 show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List a restaurant's messages, newest first: who, what, whether it went out and whether it arrived
    (the Delivery column: Twilio's latest receipt)."""
    if status in DELIVERY_ONLY:
        if delivery is not None and delivery != status:
            raise CommandError(f"--status {status} and --delivery {delivery[:40]} contradict each other; give one")
        status, delivery = None, status
    if status is not None and status not in STATUSES:
        raise CommandError(f"--status must be one of {', '.join(STATUSES + DELIVERY_ONLY)}, not {status[:40]!r}")
    if delivery is not None and delivery not in DELIVERIES:
        raise CommandError(f"--delivery must be one of {', '.join(DELIVERIES)}, not {delivery[:40]!r}")
    svc = services(ctx)
    place = svc.booking.restaurant(restaurant)
    rows = svc.outbox.outbox(place.id, status=status, delivery=delivery, limit=limit)
    if as_json:
        emit(rows, as_json=True)
        return
    table = [{"created": local_time(r.created_at, place.timezone), "kind": r.kind, "to_phone": r.to_phone,
              "status": r.status, "attempts": r.attempts,
              "next_try": local_time(r.next_attempt_at, place.timezone) if r.status == "pending" else None,
              "last_error": r.delivery_error or r.last_error, "reservation_id": r.reservation_id,
              "delivery": _delivery(r, place.timezone)} for r in rows]
    emit(table, columns=OUTBOX_COLUMNS, title=f"{place.name} — SMS outbox (local times)", empty="no messages")


def _delivery(row: Any, timezone: str) -> str | None:
    if row.delivery_status == "delivered" and row.delivered_at is not None:
        return f"delivered {local_time(row.delivered_at, timezone)}"
    return row.delivery_status


@app.command("sweep")
def sweep(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Deliver every due message now, for every restaurant, then delete settled messages older than
    SMS_RETENTION_DAYS (90) — what the minute sweep does in AWS. Needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN
    (TWILIO_API_BASE_URL to aim at a test server)."""
    from frontdesk.core.notifications import prune_outbox

    svc = services(ctx)
    sender = svc.sms_sender
    if not sender.gateway.configured:  # say it once, here, rather than the sender's log line as well
        raise CommandError("no Twilio credentials: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, then sweep again "
                           "(nothing was sent; the messages are still pending)")
    report = sender.deliver_due()
    pruned = prune_outbox(svc.outbox, svc.sms_retention)
    summary = {"sent": report.sent, "retrying": report.retrying, "failed": report.failed,
               "opted_out": report.opted_out, "lost_claims": report.lost_claims, "pruned": pruned}
    if as_json:
        emit(summary, as_json=True)
        return
    say(f"sent {report.sent}, will retry {report.retrying}, failed {report.failed}, "
        f"opted out {report.opted_out}, pruned {pruned} older than {svc.sms_retention.days} days")


def _opt(ctx: typer.Context, restaurant: str, phone: str, opted_out: bool, as_json: bool) -> None:
    place = services(ctx).booking.restaurant(restaurant)
    changed = _admin(ctx).set_opt_out(place.id, phone, opted_out, actor=actor(ctx))
    if as_json:
        emit({"restaurant": place.slug, "phone": phone, "opted_out": opted_out, "changed": changed}, as_json=True)
        return
    state = "gets no texts from" if opted_out else "gets texts from"
    say(f"{phone} {state} {place.name}" + ("" if changed else " (already so)") + ".")


@app.command("opt-out")
def opt_out(ctx: typer.Context, restaurant: RestaurantArg, phone: PhoneArg, as_json: JsonOption = False) -> None:
    """Stop texting a guest (as if they had replied STOP). Pending messages to them are suppressed."""
    _opt(ctx, restaurant, phone, True, as_json)


@app.command("opt-in")
def opt_in(ctx: typer.Context, restaurant: RestaurantArg, phone: PhoneArg, as_json: JsonOption = False) -> None:
    """Text a guest again (as if they had replied START)."""
    _opt(ctx, restaurant, phone, False, as_json)
