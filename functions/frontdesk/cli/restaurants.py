"""``frontdesk restaurants``: create a restaurant, list them, show and change their settings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from frontdesk.cli._config import admin, window
from frontdesk.cli._support import Column, CommandError, JsonOption, RestaurantArg, actor, emit, say

app = typer.Typer(help="Restaurants: create one, list them, show and change settings (phone numbers, "
                       "policies, party size, notice, horizon).", no_args_is_help=True)

LIST_COLUMNS = [Column("slug", "Slug"), Column("name", "Name"), Column("timezone", "Timezone"),
                Column("twilio_number", "AI number"), Column("failover_number", "Failover"),
                Column("agent_enabled", "AI on"), Column("max_party_size", "Max party", "right")]
SHOW_COLUMNS = [Column("id", "Id"), Column("slug", "Slug"), Column("name", "Name"), Column("timezone", "Timezone"),
                Column("twilio_number", "AI number (Twilio)"), Column("failover_number", "Failover number"),
                Column("address", "Address"), Column("policies", "Policies"),
                Column("max_party_size", "Largest party"), Column("min_notice_minutes", "Notice (minutes)"),
                Column("booking_horizon_days", "Horizon (days)"),
                Column("default_turn_minutes", "Default turn (minutes)"), Column("agent_enabled", "AI answers"),
                Column("agent_hours", "AI hours")]
NONE_WORDS = frozenset({"none", "-", ""})

Name = Annotated[str | None, typer.Option("--name", help="The name guests hear.", show_default=False)]
Slug = Annotated[str | None, typer.Option("--slug", help="New slug (lowercase, digits, dashes).",
                                          show_default=False)]
Timezone = Annotated[str | None, typer.Option("--timezone", help="IANA timezone, e.g. America/New_York.",
                                              show_default=False)]
TwilioNumber = Annotated[str | None, typer.Option(
    "--twilio-number", metavar="E164", help="The Twilio number the AI answers, e.g. +12125550100 ('none' clears).",
    show_default=False)]
FailoverNumber = Annotated[str | None, typer.Option(
    "--failover-number", metavar="E164", help="The restaurant's own line, where calls go to reach a person "
                                              "('none' clears).", show_default=False)]
Address = Annotated[str | None, typer.Option("--address", show_default=False)]
Policies = Annotated[str | None, typer.Option("--policies", help="What the AI tells callers about deposits, "
                                                                 "cancellations, allergies...", show_default=False)]
MaxParty = Annotated[int | None, typer.Option("--max-party-size", help="Largest party the AI books (1-100).",
                                              show_default=False)]
Notice = Annotated[int | None, typer.Option("--notice-minutes", help="How long before a booking it must be made.",
                                            show_default=False)]
Horizon = Annotated[int | None, typer.Option("--horizon-days", help="How far ahead bookings open (1-730).",
                                             show_default=False)]
Turn = Annotated[int | None, typer.Option("--turn-minutes", help="Default table time when no turn time covers a "
                                                                 "party size (15-600).", show_default=False)]


def _settings_row(settings: Any) -> dict[str, Any]:
    from frontdesk.cli._support import to_jsonable

    row: dict[str, Any] = to_jsonable(settings)
    opens, closes = settings.agent_opens, settings.agent_closes
    row["agent_hours"] = f"{opens:%H:%M}-{closes:%H:%M}" if opens and closes else "always"
    return row


def _phone(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in NONE_WORDS else value.strip()


def _given(**options: Any) -> dict[str, Any]:
    """Only the options the user typed (phone numbers may be cleared with 'none')."""
    out = {k: v for k, v in options.items() if v is not None}
    for key in ("twilio_number", "failover_number"):
        if key in out:
            out[key] = _phone(out[key])
    return out


@app.command("list")
def list_restaurants(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every restaurant."""
    rows = [_settings_row(s) for s in admin(ctx).list_restaurants()]
    emit(rows, columns=LIST_COLUMNS, as_json=as_json, title="Restaurants", empty="no restaurants yet — "
         "create one with: frontdesk restaurants create SLUG --name NAME --timezone ZONE --covers N")


@app.command("show")
def show(ctx: typer.Context, restaurant: RestaurantArg, as_json: JsonOption = False) -> None:
    """Show a restaurant's settings."""
    settings = admin(ctx).settings(restaurant)
    emit(_settings_row(settings), columns=SHOW_COLUMNS, as_json=as_json, title=settings.name)


@app.command("create")
def create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short name for URLs and commands, e.g. chez-ana.",
                                        show_default=False)],
    name: Annotated[str, typer.Option("--name", help="The name guests hear.", show_default=False)],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA timezone, e.g. Europe/Paris.",
                                          show_default=False)],
    covers: Annotated[int | None, typer.Option(
        "--covers", help="Guests seated at once (max covers present per 15 minutes). Without it the "
                         "restaurant has no capacity until you add a rule.", show_default=False)] = None,
    parties: Annotated[int | None, typer.Option("--parties", help="Parties seated at once (default: no limit "
                                                                  "beyond --covers).", show_default=False)] = None,
    starting: Annotated[int | None, typer.Option("--starting", help="Guests arriving per 15 minutes (default: "
                                                                    "no limit beyond --covers).",
                                                 show_default=False)] = None,
    twilio_number: TwilioNumber = None,
    failover_number: FailoverNumber = None,
    address: Address = None,
    policies: Policies = None,
    max_party_size: MaxParty = None,
    notice_minutes: Notice = None,
    horizon_days: Horizon = None,
    turn_minutes: Turn = None,
    as_json: JsonOption = False,
) -> None:
    """Create a restaurant, with its capacity (--covers). Then set its hours (frontdesk hours set)."""
    from frontdesk.core.model import Caps

    if covers is None and (parties is not None or starting is not None):
        raise CommandError("--parties and --starting refine --covers: give --covers too")
    capacity = None if covers is None else Caps(covers, covers if parties is None else parties,
                                                covers if starting is None else starting)
    settings = _given(slug=slug, name=name, timezone=timezone, twilio_number=twilio_number,
                      failover_number=failover_number, address=address, policies=policies,
                      max_party_size=max_party_size, min_notice_minutes=notice_minutes,
                      booking_horizon_days=horizon_days, default_turn_minutes=turn_minutes)
    created = admin(ctx).create_restaurant(settings, capacity, actor=actor(ctx))
    if as_json:
        emit({"restaurant": created.restaurant, "capacity_rule": created.capacity_rule}, as_json=True)
        return
    say(f"Created {created.restaurant.name} ({created.restaurant.slug}).")
    emit(_settings_row(created.restaurant), columns=SHOW_COLUMNS)
    say("Next: its opening hours, e.g.  frontdesk hours set "
        f"{created.restaurant.slug} tue-sat 17:00-22:00")
    if created.capacity_rule is None:
        say("It has no capacity yet, so nothing can be booked: frontdesk capacity add "
            f"{created.restaurant.slug} --covers 40")


@app.command("set")
def set_settings(
    ctx: typer.Context,
    restaurant: RestaurantArg,
    name: Name = None,
    slug: Slug = None,
    timezone: Timezone = None,
    twilio_number: TwilioNumber = None,
    failover_number: FailoverNumber = None,
    address: Address = None,
    policies: Policies = None,
    max_party_size: MaxParty = None,
    notice_minutes: Notice = None,
    horizon_days: Horizon = None,
    turn_minutes: Turn = None,
    agent: Annotated[bool | None, typer.Option("--agent/--no-agent", help="Whether the AI answers the phone "
                                                                          "(--no-agent: calls go to the failover "
                                                                          "number).", show_default=False)] = None,
    agent_hours: Annotated[str | None, typer.Option(
        "--agent-hours", metavar="HH:MM-HH:MM|always", help="When the AI answers (local time); 'always' clears.",
        show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Change settings: only the options you give change. The timezone cannot change while bookings lie ahead."""
    changes = _given(name=name, slug=slug, timezone=timezone, twilio_number=twilio_number,
                     failover_number=failover_number, address=address, policies=policies,
                     max_party_size=max_party_size, min_notice_minutes=notice_minutes,
                     booking_horizon_days=horizon_days, default_turn_minutes=turn_minutes, agent_enabled=agent)
    if agent_hours is not None:
        if agent_hours.strip().lower() == "always":
            changes.update(agent_opens=None, agent_closes=None)
        else:
            hours = window(agent_hours, "--agent-hours")
            changes.update(agent_opens=hours.opens, agent_closes=hours.closes)
    if not changes:
        raise CommandError("nothing to change: give at least one option (see frontdesk restaurants set --help)")
    settings = admin(ctx).update_restaurant(restaurant, changes, actor=actor(ctx))
    if not as_json:
        say(f"Updated {settings.name}: {', '.join(sorted(changes))}.")
    emit(_settings_row(settings), columns=SHOW_COLUMNS, as_json=as_json)
