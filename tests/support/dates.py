"""Dates for tests, computed from today so the suite never ages out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def next_weekday(iso_weekday: int, at_least_days: int = 7) -> date:
    day = date.today() + timedelta(days=at_least_days)
    while day.isoweekday() != iso_weekday:
        day += timedelta(days=1)
    return day


def next_dst_changes(tz: str = "America/New_York") -> tuple[date, date]:
    """The next spring-forward and fall-back dates of a zone, at least a week away."""
    zone = ZoneInfo(tz)
    spring = fall = None
    day = date.today() + timedelta(days=7)
    while spring is None or fall is None:
        noon_before = datetime(day.year, day.month, day.day, 0, tzinfo=zone).utcoffset()
        noon_after = datetime(day.year, day.month, day.day, 23, tzinfo=zone).utcoffset()
        assert noon_before is not None and noon_after is not None
        if noon_after > noon_before and spring is None:
            spring = day
        if noon_after < noon_before and fall is None:
            fall = day
        day += timedelta(days=1)
    return spring, fall


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
