"""SMS templates: refused when saved if they could ever fail or overflow at send time; rendered safely."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core.notifications import (
    DEFAULT_TEMPLATES,
    KINDS,
    MAX_BODY_CHARS,
    PLACEHOLDERS,
    RetryPolicy,
    TemplateInvalid,
    render,
    validate_template,
)

PAYLOAD = {"restaurant": "Demo Bistro", "guest_name": "Ana", "party_size": 4, "local_date": "2026-12-10",
           "local_time": "19:30", "restaurant_phone": "+15555550100", "previous_party_size": 2,
           "previous_local_date": "2026-12-09", "previous_local_time": "18:00"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_default_template_is_valid_for_its_kind(kind: str) -> None:
    assert validate_template(kind, DEFAULT_TEMPLATES[kind]) == DEFAULT_TEMPLATES[kind]  # type: ignore[index]


def test_a_template_renders_every_placeholder_from_the_snapshot() -> None:
    text = "{restaurant} {guest_name} {party_size} {date} {time} {restaurant_phone}"
    assert render(validate_template("confirmed", text), PAYLOAD) == \
        "Demo Bistro Ana 4 Thu 10 Dec 19:30 +15555550100"
    assert render(DEFAULT_TEMPLATES["modified"], PAYLOAD).endswith("(was 2 on Wed 9 Dec at 18:00).")


@pytest.mark.parametrize(("kind", "text", "says"), [
    ("confirmed", "Hi {name}", "unknown placeholder {name}"),
    ("confirmed", "Was {previous_time}", "unknown placeholder {previous_time}"),
    ("confirmed", "{guest_name.__class__}", "unknown placeholder"),
    ("confirmed", "{0}", "unknown placeholder {0}"),
    ("confirmed", "{}", "unknown placeholder {}"),
    ("confirmed", "{guest_name!r}", "no format spec or conversion"),
    ("confirmed", "{party_size:>99999}", "no format spec or conversion"),
    ("confirmed", "a { b", "not valid"),
    ("confirmed", "a } b", "not valid"),
    ("confirmed", "   ", "empty"),
    ("confirmed", "x" * 481, "limit is 480"),
    ("confirmed", "{restaurant}" * 9, "could reach"),
    ("confirmed", "bell\x07", "control characters"),
    ("reminder", "Hi", "unknown message kind"),
])
def test_a_template_that_could_fail_at_send_time_is_refused_when_saved(kind: str, text: str, says: str) -> None:
    with pytest.raises(TemplateInvalid) as refused:
        validate_template(kind, text)
    assert says in str(refused.value)


def test_literal_braces_are_allowed_when_doubled() -> None:
    assert render(validate_template("cancelled", "{{sorry}} {guest_name}"), PAYLOAD) == "{sorry} Ana"


@given(st.text(max_size=120), st.text(max_size=200))
def test_any_names_render_within_the_sms_limit_and_are_never_interpreted(guest: str, restaurant: str) -> None:
    body = render(DEFAULT_TEMPLATES["confirmed"], {**PAYLOAD, "guest_name": guest, "restaurant": restaurant})
    assert len(body) <= MAX_BODY_CHARS and guest in body and restaurant in body


@given(st.lists(st.sampled_from(sorted(PLACEHOLDERS)), max_size=30), st.text(alphabet="abc {}", max_size=60))
def test_a_template_validation_accepts_renders_within_the_limit(names: list[str], filler: str) -> None:
    text = filler.join("{" + n + "}" for n in names) or "hello"
    try:
        validate_template("modified", text)
    except TemplateInvalid:
        return
    worst = {k: ("9" if k.endswith("party_size") else "x") * v for k, v in PLACEHOLDERS.items()}
    payload = {"guest_name": worst["guest_name"], "restaurant": worst["restaurant"], "party_size": 100,
               "local_date": "2026-12-10", "local_time": "19:30", "restaurant_phone": worst["restaurant_phone"],
               "previous_party_size": 100, "previous_local_date": "2026-09-30", "previous_local_time": "18:00"}
    assert len(render(text, payload)) <= MAX_BODY_CHARS


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(first=timedelta(seconds=30), cap=timedelta(minutes=5))
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_the_notifications_core_imports_no_web_aws_database_or_twilio_code() -> None:
    import subprocess
    import sys

    code = ("import sys, frontdesk.core.notifications;"
            "bad = [m for m in ('fastapi','starlette','boto3','botocore','psycopg','redis','twilio','pydantic',"
            "'requests','aws_lambda_powertools') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
