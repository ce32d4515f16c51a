import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.core.errors import InvalidRequest, NonexistentLocalTime
from frontdesk.core.timeutil import (
    BUCKET,
    buckets,
    ceil_bucket,
    floor_bucket,
    local_to_utc,
    window_local_starts,
)

NEW_YORK = ZoneInfo("America/New_York")
instants = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


@given(instants)
def test_floor_bucket_is_aligned_and_at_most_fifteen_minutes_back(instant: datetime) -> None:
    floor = floor_bucket(instant)
    assert floor <= instant < floor + BUCKET
    assert floor.minute % 15 == 0 and floor.second == 0 and floor.microsecond == 0


@given(instants)
def test_ceil_bucket_is_the_first_boundary_at_or_after_the_instant(instant: datetime) -> None:
    ceil = ceil_bucket(instant)
    assert instant <= ceil < instant + BUCKET
    assert ceil == floor_bucket(ceil)


@given(instants, st.integers(min_value=1, max_value=600))
def test_buckets_cover_the_whole_interval_and_nothing_more(start: datetime, minutes: int) -> None:
    end = start + timedelta(minutes=minutes)
    found = list(buckets(start, end))
    assert found[0] <= start and found[-1] + BUCKET >= end
    assert all(b2 - b1 == BUCKET for b1, b2 in itertools.pairwise(found))
    assert found[-1] < end


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2080, 1, 1)),
       st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_a_local_time_converts_back_to_itself_unless_it_does_not_exist(day: date, wall: time) -> None:
    try:
        instant = local_to_utc(day, wall, "America/New_York")
    except NonexistentLocalTime:
        return
    back = instant.astimezone(NEW_YORK)
    assert (back.date(), back.time()) == (day, wall)


def test_a_time_in_the_spring_forward_gap_is_refused_with_a_clear_message() -> None:
    with pytest.raises(NonexistentLocalTime, match="does not exist in America/New_York"):
        local_to_utc(date(2027, 3, 14), time(2, 30), "America/New_York")


def test_an_ambiguous_fall_back_time_means_its_first_occurrence() -> None:
    instant = local_to_utc(date(2027, 11, 7), time(1, 30), "America/New_York")
    assert instant == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST (06:30Z)


def test_seven_pm_on_both_sides_of_dst_keeps_its_wall_clock() -> None:
    before = local_to_utc(date(2027, 3, 13), time(19), "America/New_York")
    after = local_to_utc(date(2027, 3, 14), time(19), "America/New_York")
    assert (before.hour, after.hour) == (0, 23)


def test_an_unknown_time_zone_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="unknown time zone"):
        local_to_utc(date(2027, 1, 1), time(19), "Mars/Olympus_Mons")


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="UTC offset"):
        floor_bucket(datetime(2027, 1, 1, 19))


def test_a_window_past_midnight_runs_into_the_next_calendar_day() -> None:
    starts = list(window_local_starts(date(2027, 1, 1), time(23), time(1)))
    assert starts[0] == datetime(2027, 1, 1, 23) and starts[-1] == datetime(2027, 1, 2, 0, 45)
    assert len(starts) == 8


def test_a_window_closing_at_midnight_has_its_last_start_before_midnight() -> None:
    starts = list(window_local_starts(date(2027, 1, 1), time(17), time(0)))
    assert starts[-1] == datetime(2027, 1, 1, 23, 45)
