"""Time and bucket math. Local wall-clock → UTC happens here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk.core.errors import InvalidRequest, NonexistentLocalTime

BUCKET = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"unknown time zone {name!r}") from exc


def local_to_utc(local_date: date, local_time: time, tz: str | ZoneInfo) -> datetime:
    """The UTC instant of a restaurant wall-clock time.

    A time inside a spring-forward gap does not exist and is refused. A time inside a fall-back fold
    happens twice; it means the first occurrence (fold=0, still on daylight time), which is what a
    caller who says "half past one" on that night most likely means and what we document.
    """
    zi = tz if isinstance(tz, ZoneInfo) else zone(tz)
    naive = datetime.combine(local_date, local_time.replace(tzinfo=None, fold=0))
    aware = naive.replace(tzinfo=zi)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zi).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(
            f"{local_date.isoformat()} {local_time.strftime('%H:%M')} does not exist in {zi.key}: "
            "the clocks go forward over it"
        )
    return instant


def to_local(instant: datetime, tz: str | ZoneInfo) -> datetime:
    zi = tz if isinstance(tz, ZoneInfo) else zone(tz)
    return require_aware(instant).astimezone(zi)


def require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidRequest("timestamps must carry a UTC offset, e.g. 2026-12-01T19:00:00-05:00")
    return instant


def floor_bucket(instant: datetime) -> datetime:
    instant = require_aware(instant).astimezone(UTC)
    return instant - ((instant - _EPOCH) % BUCKET)


def ceil_bucket(instant: datetime) -> datetime:
    floor = floor_bucket(instant)
    return floor if floor == instant else floor + BUCKET


def buckets(start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC-aligned 15-minute buckets that [start, end) touches."""
    b = floor_bucket(start)
    last = ceil_bucket(end)
    while b < last:
        yield b
        b += BUCKET


def window_local_starts(service_date: date, opens: time, closes: time, step: timedelta = BUCKET) -> Iterator[datetime]:
    """Naive local datetimes from opens (on the service date) up to, not including, closes.

    A window that closes at or before it opens runs past midnight into the next calendar day.
    """
    current = datetime.combine(service_date, opens)
    end_day = service_date + timedelta(days=1) if closes <= opens else service_date
    end = datetime.combine(end_day, closes)
    while current < end:
        yield current
        current += step
