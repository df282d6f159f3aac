"""The pure parts of the Stats API: validation, date ranges in a site's zone, and which way
(rollup or exact views) a query is answered. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from leadstream.stats.dates import resolve, whole_hours
from leadstream.stats.errors import StatsQueryError
from leadstream.stats.plan import granularity, plans, rollup_dimension
from leadstream.stats.query import Leaf, Tree, parse

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def q(**body: object) -> object:
    return parse({"site_id": "s", "metrics": ["visitors"], "date_range": "day"} | body)


def test_defaults_and_normalised_order() -> None:
    query = q(dimensions=["time:day"], metrics=["pageviews", "visitors"])
    assert query.order_by == (("time:day", "asc"), ("pageviews", "desc"))
    assert query.limit == 10_000 and query.offset == 0
    assert q().order_by == (("visitors", "desc"),)


def test_filter_trees_parse_into_leaves_and_trees() -> None:
    query = q(
        filters=[
            ["or", [["is", "visit:source", ["Google"]], ["contains", "event:page", ["/p"], {"case_sensitive": False}]]],
            ["not", ["is_not", "visit:device", ["Mobile"]]],
        ]
    )
    assert query.filters[0] == Tree(
        "or", (Leaf("is", "visit:source", ("Google",)), Leaf("contains", "event:page", ("/p",), False))
    )
    assert query.filters[1] == Tree("not", (Leaf("is_not", "visit:device", ("Mobile",)),))
    assert query.has_page


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("day", "2026-03-10T00:00:00+03:00", "2026-03-10T23:59:59+03:00"),
        ("7d", "2026-03-03T00:00:00+03:00", "2026-03-09T23:59:59+03:00"),
        ("30d", "2026-02-08T00:00:00+03:00", "2026-03-09T23:59:59+03:00"),
        ("month", "2026-03-01T00:00:00+03:00", "2026-03-31T23:59:59+03:00"),
        ("6mo", "2025-09-01T00:00:00+03:00", "2026-02-28T23:59:59+03:00"),
        ("12mo", "2025-03-01T00:00:00+03:00", "2026-02-28T23:59:59+03:00"),
        ("year", "2026-01-01T00:00:00+03:00", "2026-12-31T23:59:59+03:00"),
        ("all", "2026-01-05T00:00:00+03:00", "2026-03-10T23:59:59+03:00"),
        (["2026-01-01", "2026-01-02"], "2026-01-01T00:00:00+03:00", "2026-01-02T23:59:59+03:00"),
    ],
)
def test_ranges_resolve_in_the_sites_zone(spec: object, start: str, end: str) -> None:
    rng = resolve(spec, "Europe/Istanbul", NOW, first_day=date(2026, 1, 5))
    assert rng.echo() == [start, end]


def test_today_is_the_sites_today() -> None:
    late = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # already 03-11 in Istanbul
    assert resolve("day", "Europe/Istanbul", late).echo()[0] == "2026-03-11T00:00:00+03:00"
    assert resolve("day", "UTC", late).echo()[0] == "2026-03-10T00:00:00+00:00"


def test_datetime_ranges_need_an_offset() -> None:
    rng = resolve(["2026-03-10T10:00:00+00:00", "2026-03-10T10:30:00+00:00"], "UTC", NOW)
    assert rng.start == datetime(2026, 3, 10, 10, tzinfo=UTC) and not rng.whole_days
    with pytest.raises(StatsQueryError, match="#/date_range"):
        resolve(["2026-03-10T10:00:00", "2026-03-10T10:30:00"], "UTC", NOW)


def test_the_rollup_answers_only_whole_hours_of_the_zone() -> None:
    assert whole_hours(resolve("7d", "Europe/Istanbul", NOW))
    assert not whole_hours(resolve("7d", "Asia/Kolkata", NOW))  # +5:30
    assert not whole_hours(resolve(["2026-03-10T10:15:00+00:00", "2026-03-10T11:00:00+00:00"], "UTC", NOW))


@pytest.mark.parametrize(
    ("body", "dimension"),
    [
        ({}, ""),
        ({"dimensions": ["time:hour"]}, ""),
        ({"dimensions": ["visit:source"]}, "visit:source"),
        ({"dimensions": ["visit:source", "time:day"]}, "visit:source"),
        ({"dimensions": ["event:page"]}, "event:page"),
        ({"filters": [["is", "visit:source", ["Google"]]]}, "visit:source"),
        ({"filters": [["is", "visit:source", ["Google"]]], "dimensions": ["visit:source"]}, "visit:source"),
        ({"filters": [["is", "event:page", ["/a"]]]}, "event:page"),
        ({"filters": [["contains", "event:page", ["/a"]]]}, None),  # a visit may pass on two pages
        ({"filters": [["is", "visit:source", ["Google"]]], "dimensions": ["event:page"]}, None),
        ({"dimensions": ["visit:source", "visit:device"]}, None),
        ({"filters": [["is", "visit:source", ["a"]], ["is", "visit:device", ["b"]]]}, None),
    ],
)
def test_which_queries_the_rollup_answers(body: dict[str, object], dimension: str | None) -> None:
    rng = resolve("7d", "UTC", NOW)
    assert rollup_dimension(q(**body), rng) == dimension


def test_time_picks_its_bucket_from_the_range() -> None:
    assert granularity(q(dimensions=["time"]), resolve("day", "UTC", NOW)) == "hour"
    assert granularity(q(dimensions=["time"]), resolve("30d", "UTC", NOW)) == "day"
    assert granularity(q(dimensions=["time"]), resolve("12mo", "UTC", NOW)) == "month"


def test_values_reach_sql_only_as_parameters() -> None:
    hostile = "x') OR 1=1 --"
    for body in (
        {"filters": [["is", "visit:source", [hostile]]]},
        {"filters": [["contains", "event:page", [hostile]]]},
    ):
        for plan in plans(q(**body), resolve("day", "UTC", NOW), None):
            assert hostile not in plan.sql
            assert hostile in plan.params.values() or [hostile] in plan.params.values()
    assert "'s'" not in plans(q(site_id="s"), resolve("day", "UTC", NOW), None)[0].sql


def test_calls_are_their_own_query_merged_with_the_visits() -> None:
    found = plans(q(metrics=["visitors", "calls"]), resolve("day", "UTC", NOW), None)
    assert [p.way for p in found] == ["visits", "calls"] and not any(p.paginated for p in found)
    hourly = plans(q(metrics=["visitors", "calls"]), resolve("day", "UTC", NOW), None, hourly=True)
    assert [p.way for p in hourly] == ["rollup", "calls"]


@pytest.mark.parametrize(
    "body",
    [
        {"filters": [["is", "visit:source", ["Google"]]], "dimensions": ["event:page"]},
        {"filters": [["contains", "event:page", ["/a"]]]},
        {"dimensions": ["visit:source", "visit:device"]},
        {"filters": [["is", "visit:source", ["a"]], ["is", "visit:device", ["b"]]], "dimensions": ["visit:os"]},
    ],
)
def test_what_the_hourly_rollup_cannot_answer_reads_the_stored_visits(body: dict[str, object]) -> None:
    rng = resolve("7d", "UTC", NOW)
    stored = plans(q(**body), rng, NOW.replace(minute=0, second=0, microsecond=0), hourly=True)[0]
    assert stored.way == "visits" and "FROM stats_visits" in stored.sql and "events_v" not in stored.sql
    assert stored.stored_only  # the last refresh covers the range: the answer is kept until the next
    live = plans(q(**body), rng, None, hourly=True)[0]
    assert live.way == "visits" and "stats_visits" not in live.sql and not live.stored_only
    assert plans(q(**body), rng, None, rollup=False)[0].way == "exact"
