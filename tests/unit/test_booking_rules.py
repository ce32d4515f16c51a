import subprocess
import sys
from datetime import UTC, date, datetime, time

import pytest

from frontdesk.core.booking import SlotRequest, validate_guest, validate_phone
from frontdesk.core.errors import InvalidRequest
from frontdesk.core.model import BucketState, Caps, Guest, Load, Restaurant

RESTAURANT = Restaurant(id=__import__("uuid").uuid4(), slug="r", name="R", timezone="America/New_York",
                        max_party_size=12, min_notice_minutes=0, booking_horizon_days=90)


def test_the_core_imports_no_web_aws_database_or_twilio_code() -> None:
    code = (
        "import sys, frontdesk.core.booking, frontdesk.core.errors, frontdesk.core.timeutil;"
        "bad = [m for m in ('fastapi','starlette','boto3','botocore','psycopg','redis','twilio','pydantic',"
        "'aws_lambda_powertools') if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_slot_request_needs_exactly_one_way_of_saying_when() -> None:
    with pytest.raises(InvalidRequest, match="exactly one"):
        SlotRequest(2).resolve(RESTAURANT)
    with pytest.raises(InvalidRequest, match="exactly one"):
        SlotRequest(2, start=datetime(2027, 1, 1, tzinfo=UTC), local_date=date(2027, 1, 1),
                    local_time=time(19)).resolve(RESTAURANT)
    with pytest.raises(InvalidRequest, match="go together"):
        SlotRequest(2, local_date=date(2027, 1, 1)).resolve(RESTAURANT)


def test_a_local_slot_request_resolves_in_the_restaurant_time_zone() -> None:
    start = SlotRequest(2, local_date=date(2027, 1, 15), local_time=time(19)).resolve(RESTAURANT)
    assert start == datetime(2027, 1, 16, 0, 0, tzinfo=UTC)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="UTC offset"):
        SlotRequest(2, start=datetime(2027, 1, 1, 19)).resolve(RESTAURANT)


@pytest.mark.parametrize("phone", ["", "2125550123", "+0212555", "+1 212 555 0123", "+1234567890123456", "tel:+1212"])
def test_phones_that_are_not_e164_are_refused(phone: str) -> None:
    with pytest.raises(InvalidRequest, match="E.164"):
        validate_phone(phone)


def test_guest_names_and_notes_are_bounded() -> None:
    with pytest.raises(InvalidRequest, match="name"):
        validate_guest(Guest("   ", "+12125550123"))
    with pytest.raises(InvalidRequest, match="notes"):
        validate_guest(Guest("Ana", "+12125550123", "x" * 501))
    assert validate_guest(Guest("  Ana ", "+12125550123")).name == "Ana"


def test_a_bucket_admits_a_party_only_within_every_cap() -> None:
    state = BucketState(datetime(2027, 1, 1, tzinfo=UTC), Load(36, 8, 12), Caps(40, 10, 16))
    assert state.admits(4, starting_here=True)
    assert not state.admits(5, starting_here=False)
    assert not state.admits(4, starting_here=True, held=Load(0, 0, 1))
    assert state.admits(4, starting_here=False, held=Load(0, 1, 4))
    assert not state.admits(1, starting_here=False, held=Load(0, 2, 0))
