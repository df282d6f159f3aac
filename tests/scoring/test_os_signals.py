from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction

import pytest

from leadstream.scoring.os_signals import (
    Signal,
    as_utc,
    is_recent,
    normalise_signal,
    normalise_signals,
    parse_confidence,
    parse_date,
)

NOW = datetime(2025, 12, 13, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-12-01", date(2025, 12, 1)),
        ("  2025-12-01 ", date(2025, 12, 1)),
        ("20251201", date(2025, 12, 1)),
        ("2025-12-01T10:00:00Z", datetime(2025, 12, 1, 10, tzinfo=UTC)),
        ("2025-12-01T10:00:00", datetime(2025, 12, 1, 10, tzinfo=UTC)),  # naive -> UTC
        ("2025-12-01 10:00:00", datetime(2025, 12, 1, 10, tzinfo=UTC)),
        ("2025-12-01T14:00:00+04:00", datetime(2025, 12, 1, 10, tzinfo=UTC)),
        ("2025-12-01T10:00:00.123456789Z", datetime(2025, 12, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        (datetime(2025, 12, 1, 10), datetime(2025, 12, 1, 10, tzinfo=UTC)),
        (datetime(2025, 12, 1, 14, tzinfo=timezone(timedelta(hours=4))), datetime(2025, 12, 1, 10, tzinfo=UTC)),
        (date(2025, 12, 1), date(2025, 12, 1)),
    ],
)
def test_parse_date_accepts_iso_forms(raw: object, expected: object) -> None:
    got = parse_date(raw)
    assert got == expected
    assert type(got) is type(expected)
    if isinstance(got, datetime):
        assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "yesterday", "2025-13-01", "2025-02-30", "12/01/2025", 1733000000, 1.5]
)
def test_unparseable_dates_are_undated(raw: object) -> None:
    assert parse_date(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, Fraction(0)),
        (1, Fraction(1)),
        (0.7, Fraction(7, 10)),  # exact, not the binary float
        ("0.85", Fraction(17, 20)),
        (" 0.5 ", Fraction(1, 2)),
        (Fraction(1, 3), Fraction(1, 3)),
    ],
)
def test_parse_confidence_valid(raw: object, expected: Fraction) -> None:
    assert parse_confidence(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, True, False, "", "high", "nan", "inf", float("nan"), float("inf"), -0.1, 1.01, 85, [0.5], {}]
)
def test_parse_confidence_invalid_is_missing(raw: object) -> None:
    assert parse_confidence(raw) is None


def test_as_utc() -> None:
    assert as_utc(datetime(2025, 1, 1)).tzinfo is UTC
    assert as_utc(datetime(2025, 1, 1, 4, tzinfo=timezone(timedelta(hours=4)))) == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "recent"),
    [
        (None, False),
        (NOW, True),
        (NOW - timedelta(days=30), True),  # boundary: exactly 30 days counts
        (NOW - timedelta(days=30, seconds=1), False),
        (NOW + timedelta(days=30), True),  # slightly future (skew, announced events) counts
        (NOW + timedelta(days=30, seconds=1), False),
        (date(2025, 11, 13), True),  # a bare date 30 calendar days ago counts all day
        (date(2025, 11, 12), False),
        (date(2026, 1, 12), True),
        (date(2026, 1, 13), False),
    ],
)
def test_is_recent_boundaries(when: object, recent: bool) -> None:
    assert is_recent(when, NOW) is recent  # type: ignore[arg-type]


def test_is_recent_accepts_naive_now_as_utc() -> None:
    assert is_recent(NOW - timedelta(days=29), NOW.replace(tzinfo=None))


def test_normalise_signal_fields() -> None:
    s = normalise_signal(
        {
            "type": " Hiring ",
            "source": " LinkedIn ",
            "evidence": {"roles": 12},
            "confidence": "0.9",
            "date": "2025-12-01",
            "tags": ["growth", " ", 3],
            "title": " Hiring 12 bankers ",
        }
    )
    assert s == Signal(
        type="Hiring",
        source="linkedin",
        confidence=Fraction(9, 10),
        when=date(2025, 12, 1),
        tags=("growth",),
        title="Hiring 12 bankers",
        evidence={"roles": 12},
    )


def test_type_wins_over_signal_type_and_falls_back() -> None:
    assert normalise_signal({"type": "funding", "signal_type": "hiring"}).type == "funding"
    assert normalise_signal({"signal_type": "hiring"}).type == "hiring"
    assert normalise_signal({"type": "  ", "signal_type": "hiring"}).type == "hiring"
    assert normalise_signal({}).type == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"date": "2025-12-01", "published_at": "2025-11-01", "created_at": "2025-10-01"}, date(2025, 12, 1)),
        ({"published_at": "2025-11-01", "created_at": "2025-10-01"}, date(2025, 11, 1)),
        ({"created_at": "2025-10-01T00:00:00Z"}, datetime(2025, 10, 1, tzinfo=UTC)),
        ({"date": "soon", "published_at": "2025-11-01"}, date(2025, 11, 1)),  # first one that parses
        ({"date": "soon"}, None),
        ({}, None),
    ],
)
def test_date_field_precedence(raw: dict, expected: object) -> None:
    assert normalise_signal(raw).when == expected


def test_missing_source_and_tags() -> None:
    s = normalise_signal({"type": "x", "source": "", "tags": "expansion"})
    assert s.source is None
    assert s.tags == ("expansion",)
    assert normalise_signal({"tags": 5}).tags == ()


def test_normalise_signals_skips_non_dicts_and_passes_signals_through() -> None:
    ready = normalise_signal({"type": "a"})
    out = normalise_signals([{"type": "b"}, "junk", None, 3, ready])
    assert [s.type for s in out] == ["b", "a"]
    assert out[1] is ready
    assert normalise_signals(None) == []
