"""Signal normalisation for the sales-OS scores (SPEC §3.5).

Signals arrive from several producers with different spellings (SaaS ``type``, database rows with
``signal_type``/``created_at``, news items with ``published_at``). Everything here turns one raw dict
into a :class:`Signal` with exact numbers, so the score rules never look at raw input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

RECENT_DAYS = 30
DATE_FIELDS = ("date", "published_at", "created_at")

When = datetime | date


@dataclass(frozen=True, slots=True)
class Signal:
    type: str  # "" when absent; matched case-insensitively
    source: str | None  # casefolded; None when absent (still one distinct source)
    confidence: Fraction | None  # exact 0..1, None when missing or invalid
    when: When | None  # aware UTC datetime, a bare date, or None (undated)
    tags: tuple[str, ...] = ()
    title: str = ""
    evidence: Any = None


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC; aware ones are converted to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def exact(value: int | float | str | Decimal | Fraction) -> Fraction:
    """An exact fraction of a number as written: 0.55 -> 11/20, not the nearest binary float."""
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(Decimal(str(value).strip()))


def parse_date(value: object) -> When | None:
    """ISO date or datetime (any offset, ``Z``, or none) -> a ``date`` or an aware UTC ``datetime``.

    Anything else (numbers, free text, impossible dates) is None, meaning "undated".
    """
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:  # date-only forms first (2025-12-13, 20251213), so they stay calendar dates
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse_confidence(value: object) -> Fraction | None:
    """A confidence in 0..1 (number or numeric string), exact; anything else is None (missing)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, int | float | str | Decimal | Fraction):
        return None
    try:
        conf = exact(value)
    except (InvalidOperation, ValueError, OverflowError):  # "high", "nan", "inf", ""
        return None
    return conf if 0 <= conf <= 1 else None


def is_recent(when: When | None, now: datetime, days: int = RECENT_DAYS) -> bool:
    """Dated within ``days`` of ``now``, either side.

    Slightly future dates (clock skew, announced openings) are as timely as slightly past ones;
    far-future dates are not. A bare date is compared by calendar day in UTC, so a signal dated
    30 days ago counts all day long.
    """
    if when is None:
        return False
    now = as_utc(now)
    if isinstance(when, datetime):
        return abs(now - when) <= timedelta(days=days)
    return abs((now.date() - when).days) <= days


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset):
        return ()
    return tuple(t.strip() for t in value if isinstance(t, str) and t.strip())


def normalise_signal(raw: Mapping[str, Any]) -> Signal:
    """One raw signal dict -> :class:`Signal`. ``type`` wins over ``signal_type``; the first date
    field (``date``, ``published_at``, ``created_at``) that parses is used."""
    when = None
    for field in DATE_FIELDS:
        when = parse_date(raw.get(field))
        if when is not None:
            break
    source = _text(raw.get("source")).casefold() or None
    return Signal(
        type=_text(raw.get("type")) or _text(raw.get("signal_type")),
        source=source,
        confidence=parse_confidence(raw.get("confidence")),
        when=when,
        tags=_tags(raw.get("tags")),
        title=_text(raw.get("title")),
        evidence=raw.get("evidence"),
    )


def normalise_signals(raws: Iterable[object] | None) -> list[Signal]:
    """Normalise a list; already-normalised signals pass through, non-dict items are skipped."""
    out: list[Signal] = []
    for raw in raws or ():
        if isinstance(raw, Signal):
            out.append(raw)
        elif isinstance(raw, Mapping):
            out.append(normalise_signal(raw))
    return out
