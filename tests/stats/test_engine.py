"""The Stats API's numbers on a real chDB, for the known data set (tests/stats/dataset.py), the
same whether the exact views, the live rollup or the stored rollup answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadstream.stats.engine import StatsEngine, StatsReader
from leadstream.stats.errors import StatsQueryError
from leadstream.stats.rollup import refresh_rollup
from leadstream.storage.warehouse import Warehouse
from tests.stats import dataset
from tests.stats.conftest import load, load_calls
from tests.stats.dataset import BASE, WIN_CHROME, _event

NOW = datetime(2026, 3, 10, 23, 59, tzinfo=UTC)
VISIT_METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]


async def ask(engine: StatsEngine, zone: str = "UTC", now: datetime = NOW, **query: Any) -> dict[str, Any]:
    body = {"site_id": dataset.SITE, "metrics": VISIT_METRICS, "date_range": "day"} | query
    return await engine.answer(body, zone, now)


def table(answer: dict[str, Any]) -> dict[tuple[str, ...], list[Any]]:
    return {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]}


async def test_totals_follow_plausibles_definitions(engine: StatsEngine) -> None:
    answer = await ask(engine, metrics=list(dataset.TOTALS))
    assert answer["results"] == [{"metrics": list(dataset.TOTALS.values()), "dimensions": []}]
    assert answer["query"]["date_range"] == ["2026-03-10T00:00:00+00:00", "2026-03-10T23:59:59+00:00"]
    assert answer["query"]["order_by"] == [["visitors", "desc"]]


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        (
            "visit:source",
            {
                ("newsletter",): [1, 1, 2, 0, 120],
                ("Google",): [1, 1, 1, 100, 0],
                ("Hacker News",): [1, 1, 2, 0, 180],
                ("Direct / None",): [1, 1, 1, 100, 0],
            },
        ),
        # visits: the visits with the page; bounce rate: of the visits entering there
        (
            "event:page",
            {("/pricing",): [3, 4, 4, 100, 75], ("/",): [1, 1, 1, 0, 120], ("/blog/post",): [1, 1, 1, 0, 180]},
        ),
        (
            "visit:entry_page",
            {("/pricing",): [2, 2, 2, 100, 0], ("/",): [1, 1, 2, 0, 120], ("/blog/post",): [1, 1, 2, 0, 180]},
        ),
        ("visit:exit_page", {("/pricing",): [3, 4, 6, 50, 75]}),
        ("visit:device", {("Desktop",): [3, 3, 4, 67, 60], ("Mobile",): [1, 1, 2, 0, 120]}),
        (
            "visit:browser",
            {("Chrome",): [2, 2, 2, 100, 0], ("Firefox",): [1, 1, 2, 0, 180], ("Safari",): [1, 1, 2, 0, 120]},
        ),
        ("visit:os", {("Windows",): [2, 2, 2, 100, 0], ("Linux",): [1, 1, 2, 0, 180], ("iOS",): [1, 1, 2, 0, 120]}),
        ("visit:utm_campaign", {("(not set)",): [3, 3, 4, 67, 60], ("spring",): [1, 1, 2, 0, 120]}),
        ("visit:utm_medium", {("(not set)",): [3, 3, 4, 67, 60], ("email",): [1, 1, 2, 0, 120]}),
        (
            "visit:referrer",
            {
                ("Direct / None",): [2, 2, 3, 50, 60],
                ("google.com/search",): [1, 1, 1, 100, 0],
                ("news.ycombinator.com/item",): [1, 1, 2, 0, 180],
            },
        ),
        (
            "time:hour",
            {
                ("2026-03-10 10:00:00",): [2, 2, 3, 50, 60],
                ("2026-03-10 11:00:00",): [1, 1, 2, 0, 180],
                ("2026-03-10 23:00:00",): [1, 1, 1, 100, 0],
            },
        ),
    ],
)
async def test_each_dimension(engine: StatsEngine, dimension: str, expected: dict[tuple[str, ...], list[Any]]) -> None:
    assert table(await ask(engine, dimensions=[dimension])) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([["is", "visit:source", ["Google"]]], [1, 1, 1, 100, 0]),
        ([["is", "visit:source", ["google"], {"case_sensitive": False}]], [1, 1, 1, 100, 0]),
        ([["is_not", "visit:source", ["Google", "Direct / None"]]], [1, 2, 4, 0, 150]),
        ([["contains", "visit:source", ["o"]]], [2, 2, 2, 100, 0]),  # Google, Direct / None
        ([["is", "visit:device", ["Desktop"]]], [3, 3, 4, 67, 60]),
        ([["is", "event:page", ["/pricing"]]], [3, 4, 4, 100, 75]),
        ([["contains", "event:page", ["blog"]]], [1, 1, 1, 0, 180]),
        ([["matches", "event:page", ["^/b.*t$"]]], [1, 1, 1, 0, 180]),
        ([["or", [["is", "visit:source", ["Google"]], ["is", "visit:device", ["Mobile"]]]]], [2, 2, 3, 50, 60]),
        ([["not", ["is", "visit:device", ["Desktop"]]]], [1, 1, 2, 0, 120]),
        ([["is", "visit:device", ["Desktop"]], ["is", "visit:browser", ["Chrome"]]], [2, 2, 2, 100, 0]),
    ],
)
async def test_filters(engine: StatsEngine, filters: list[Any], expected: list[Any]) -> None:
    assert (await ask(engine, filters=filters))["results"] == [{"metrics": expected, "dimensions": []}]


async def test_a_filter_and_a_dimension_together(engine: StatsEngine) -> None:
    answer = await ask(engine, dimensions=["event:page"], filters=[["is", "visit:device", ["Desktop"]]])
    assert table(answer) == {("/pricing",): [3, 3, 3, 100, 60], ("/blog/post",): [1, 1, 1, 0, 180]}


async def test_order_pagination_and_total_rows(engine: StatsEngine) -> None:
    answer = await ask(
        engine,
        metrics=["visitors", "pageviews"],
        dimensions=["visit:source"],
        order_by=[["pageviews", "desc"], ["visit:source", "asc"]],
        pagination={"limit": 2, "offset": 1},
        include={"total_rows": True},
    )
    assert [r["dimensions"][0] for r in answer["results"]] == ["newsletter", "Direct / None"]
    assert answer["meta"]["total_rows"] == 4


async def test_percentage_of_all_visitors(engine: StatsEngine) -> None:
    answer = await ask(engine, metrics=["visitors", "percentage"], dimensions=["visit:device"])
    assert table(answer) == {("Desktop",): [3, 100.0], ("Mobile",): [1, 33.3]}


async def test_ranges_in_whole_days_before_today(engine: StatsEngine) -> None:
    now = NOW + timedelta(days=1)  # 03-11: 7d is 03-04 .. 03-10
    answer = await ask(
        engine,
        now=now,
        date_range="7d",
        metrics=["visitors", "visits"],
        dimensions=["time:day"],
        include={"time_labels": True},
    )
    assert table(answer) == {("2026-03-09",): [1, 1], ("2026-03-10",): [3, 4]}
    assert answer["meta"]["time_labels"] == [f"2026-03-{d:02d}" for d in range(4, 11)]
    both = await ask(engine, date_range=["2026-03-09", "2026-03-10"], metrics=["visitors", "visits"])
    assert both["results"][0]["metrics"] == [4, 5]
    alltime = await ask(engine, date_range="all", metrics=["visits"])
    assert alltime["results"][0]["metrics"] == [5]
    assert alltime["query"]["date_range"][0] == "2026-03-09T00:00:00+00:00"


@pytest.mark.parametrize("zone", ["Europe/Istanbul", "Asia/Kolkata"])  # +3 (whole hours) and +5:30 (exact views)
async def test_days_follow_the_sites_timezone(engine: StatsEngine, zone: str) -> None:
    # 03-10 local: A, B and C (10:00-11:18 UTC); D (23:50 UTC) is already 03-11 there
    noon = dataset.DAY + timedelta(hours=12)
    answer = await ask(engine, zone, noon, metrics=["visitors", "visits"])
    assert answer["results"][0]["metrics"] == [2, 3]
    hours = table(await ask(engine, zone, noon, metrics=["visits"], dimensions=["time:hour"]))
    if zone == "Europe/Istanbul":
        assert hours == {("2026-03-10 13:00:00",): [2], ("2026-03-10 14:00:00",): [1]}
    else:
        assert hours == {("2026-03-10 15:00:00",): [1], ("2026-03-10 16:00:00",): [2]}  # 15:30, 16:00, 16:45


async def test_another_sites_data_never_counts(engine: StatsEngine) -> None:
    other = await ask(engine, site_id=dataset.OTHER, metrics=["visitors", "visits", "pageviews"])
    assert other["results"][0]["metrics"] == [1, 1, 3]
    pages = await ask(
        engine, dimensions=["event:page"], metrics=["pageviews"], filters=[["contains", "event:page", ["/"]]]
    )
    assert sum(r["metrics"][0] for r in pages["results"]) == 6
    nobody = await ask(engine, site_id="nobody", metrics=["visitors", "visits"])
    assert nobody["results"] == [{"metrics": [0, 0], "dimensions": []}]
    assert (await ask(engine, site_id="nobody", dimensions=["visit:source"]))["results"] == []


async def test_invalid_queries_name_the_field(engine: StatsEngine) -> None:
    with pytest.raises(StatsQueryError, match=r'#/metrics/1: Invalid metric "nope"'):
        await ask(engine, metrics=["visitors", "nope"])


async def test_calls_by_their_own_time(own: tuple[Warehouse, StatsReader]) -> None:
    warehouse, reader = own
    await load(warehouse)
    at = dataset.DAY + timedelta(hours=10, minutes=5)
    await load_calls(warehouse, ("shop", at, "matched"), ("shop", at, "unmatched"), ("other", at, "matched"))
    engine = StatsEngine(reader, margin_s=0)
    answer = await ask(engine, metrics=["visitors", "calls", "matched_calls"], dimensions=["time:hour"])
    assert table(answer) == {
        ("2026-03-10 10:00:00",): [2, 2, 1],
        ("2026-03-10 11:00:00",): [1, 0, 0],
        ("2026-03-10 23:00:00",): [1, 0, 0],
    }
    only = await ask(engine, metrics=["calls", "matched_calls"])
    assert only["results"] == [{"metrics": [2, 1], "dimensions": []}]


async def test_rollup_follows_late_events_and_vanished_values(own: tuple[Warehouse, StatsReader]) -> None:
    """A visit's late event moves its hour's rows at the next refresh; a value no visit has any
    more (the visit re-attributed) is gone, not left at its old count."""
    warehouse, reader = own
    await load(warehouse)
    warehouse.sync(lambda c: refresh_rollup(c, margin_s=0))
    engine = StatsEngine(reader, margin_s=0, hourly=True)
    before = table(await ask(engine, dimensions=["visit:entry_page"], metrics=["visits"]))
    assert before[("/pricing",)] == [2]
    # visit B gets an earlier pageview (a late event) on /landing: its entry page changes
    rows = await reader.rows("SELECT session_id FROM events WHERE fingerprint = 'fp-b'", {})
    early = _event(
        dataset.SITE, rows[0][0], "fp-b", dataset.DAY + timedelta(hours=10, minutes=29), f"{BASE}/landing", WIN_CHROME
    )
    await load(warehouse, [early])
    warehouse.sync(lambda c: refresh_rollup(c, margin_s=0))
    after = table(await ask(engine, dimensions=["visit:entry_page"], metrics=["visits"]))
    assert after == {("/pricing",): [1], ("/",): [1], ("/blog/post",): [1], ("/landing",): [1]}


async def test_stored_visits_follow_late_events(own: tuple[Warehouse, StatsReader]) -> None:
    """A query the hourly rollup cannot answer reads the stored visit rows: a late event changes
    them at the next refresh, and only the version in force counts."""
    warehouse, reader = own
    await load(warehouse)
    warehouse.sync(lambda c: refresh_rollup(c, margin_s=0))
    engine = StatsEngine(reader, margin_s=0)
    desktop = {
        "dimensions": ["visit:entry_page"],
        "metrics": ["visits"],
        "filters": [["is", "visit:device", ["Desktop"]]],
    }
    assert table(await ask(engine, **desktop)) == {("/pricing",): [2], ("/blog/post",): [1]}
    rows = await reader.rows("SELECT session_id FROM events WHERE fingerprint = 'fp-b'", {})
    early = _event(
        dataset.SITE, rows[0][0], "fp-b", dataset.DAY + timedelta(hours=10, minutes=29), f"{BASE}/landing", WIN_CHROME
    )
    await load(warehouse, [early])
    warehouse.sync(lambda c: refresh_rollup(c, margin_s=0))
    assert table(await ask(engine, **desktop)) == {("/pricing",): [1], ("/blog/post",): [1], ("/landing",): [1]}
    kept = await reader.rows("SELECT count() FROM stats_visits WHERE session_id = {s:UUID}", {"s": rows[0][0]})
    assert kept[0][0] == 2  # the old version is still stored (deleted once a minute old), yet not counted


async def test_realtime_counts_visitors_with_a_pageview_in_the_last_five_minutes(
    own: tuple[Warehouse, StatsReader],
) -> None:
    warehouse, reader = own
    now = datetime.now(UTC)
    fresh = [
        _event(dataset.SITE, uuid.uuid4(), f"rt-{i}", now - timedelta(minutes=m), f"{BASE}/", WIN_CHROME)
        for i, m in enumerate((1, 2, 10))
    ]
    await load(warehouse, fresh)
    engine = StatsEngine(reader)
    assert await engine.realtime_visitors(dataset.SITE) == 2
    assert await engine.realtime_visitors(dataset.OTHER) == 0
