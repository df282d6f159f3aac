"""Plausible's date ranges, resolved in a site's timezone to a half-open UTC interval.

``"day"`` is today; ``"Nd"`` the N whole days before today; ``"month"`` / ``"year"`` the current
calendar month / year; ``"Nmo"`` the N whole months before this one; ``"all"`` the first day with
data up to today; ``[from, to]`` two ISO dates (inclusive) or two ISO datetimes with an offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadstream.stats.errors import StatsQueryError

_DAYS = re.compile(r"^([1-9][0-9]{0,3})d$")
_MONTHS = re.compile(r"^([1-9][0-9]{0,2})mo$")
SHORTHANDS = ("day", "7d", "30d", "month", "6mo", "12mo", "year", "all")


@dataclass(frozen=True)
class Range:
    """``start`` inclusive, ``end`` exclusive, both aware UTC datetimes; ``days`` says the range was
    given in whole days (echoed as such)."""

    start: datetime
    end: datetime
    zone: str
    whole_days: bool = True

    def echo(self) -> list[str]:
        """The resolved range as Plausible echoes it: inclusive ISO datetimes in the site's zone."""
        tz = ZoneInfo(self.zone)
        last = self.end - (timedelta(seconds=1) if self.whole_days else timedelta(milliseconds=1))
        return [
            self.start.astimezone(tz).isoformat(timespec="seconds"),
            last.astimezone(tz).isoformat(timespec="seconds"),
        ]

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def previous(self) -> Range:
        """The period of the same length just before (the dashboard's comparison)."""
        return Range(self.start - (self.end - self.start), self.start, self.zone, self.whole_days)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _days(first: date, last_inclusive: date, tz: ZoneInfo) -> Range:
    return Range(_midnight(first, tz), _midnight(last_inclusive + timedelta(days=1), tz), tz.key)


def _month_start(day: date, back: int = 0) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def resolve(spec: object, zone: str, now: datetime, first_day: date | None = None) -> Range:
    """The range ``spec`` names, in ``zone``; ``first_day`` (the site's first day with data, in the
    zone) serves ``"all"``. Raises ``StatsQueryError`` naming ``#/date_range``."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    if isinstance(spec, str):
        if spec == "day":
            return _days(today, today, tz)
        if spec == "month":
            return _days(_month_start(today), _month_start(today, -1) - timedelta(days=1), tz)
        if spec == "year":
            return _days(date(today.year, 1, 1), date(today.year, 12, 31), tz)
        if spec == "all":
            return _days(min(first_day or today, today), today, tz)
        if match := _DAYS.match(spec):
            return _days(today - timedelta(days=int(match.group(1))), today - timedelta(days=1), tz)
        if match := _MONTHS.match(spec):
            this_month = _month_start(today)
            return _days(_month_start(today, int(match.group(1))), this_month - timedelta(days=1), tz)
        raise StatsQueryError(f"#/date_range: Invalid date range {spec!r}")
    if isinstance(spec, list) and len(spec) == 2 and all(isinstance(v, str) for v in spec):
        return _explicit(spec[0], spec[1], tz)
    raise StatsQueryError(f"#/date_range: Invalid date range {_short(spec)}")


def _explicit(first: str, last: str, tz: ZoneInfo) -> Range:
    try:
        if len(first) == 10 and len(last) == 10:
            start_day, end_day = date.fromisoformat(first), date.fromisoformat(last)
            if end_day < start_day:
                raise StatsQueryError("#/date_range: the start date must be on or before the end date")
            return _days(start_day, end_day, tz)
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise StatsQueryError(f"#/date_range: Invalid date range {_short([first, last])}") from None
    if start.tzinfo is None or end.tzinfo is None:
        raise StatsQueryError("#/date_range: datetimes must carry an offset, e.g. 2024-01-01T00:00:00+03:00")
    if end < start:
        raise StatsQueryError("#/date_range: the start must be on or before the end")
    # inclusive end, to the millisecond the warehouse keeps
    return Range(start.astimezone(UTC), end.astimezone(UTC) + timedelta(milliseconds=1), tz.key, whole_days=False)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def whole_hours(rng: Range) -> bool:
    """Do the range's ends, and every day boundary of the zone within it, fall on whole UTC hours?
    (Only then can the hourly rollup answer: zones such as Asia/Kolkata are 30 minutes off.)"""
    if rng.start.minute or rng.start.second or rng.start.microsecond:
        return False
    if rng.end.minute or rng.end.second or rng.end.microsecond:
        return False
    tz = ZoneInfo(rng.zone)
    at = rng.start
    while at < rng.end:  # an offset change within the range (DST) must be by whole hours too
        offset = at.astimezone(tz).utcoffset() or timedelta(0)
        if offset.total_seconds() % 3600:
            return False
        at += timedelta(days=7)
    offset = (rng.end - timedelta(seconds=1)).astimezone(tz).utcoffset() or timedelta(0)
    return offset.total_seconds() % 3600 == 0
