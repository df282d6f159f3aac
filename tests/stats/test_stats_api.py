"""The Stats API on the real stack (edge and worker processes, Kafka, Redis, chDB): the known data
set sent through the tracking edge, then asked for through ``POST /api/v2/query`` with a site key,
with exact numbers per metric, dimension and filter, and another site's data never counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from leadstream.settings import Settings
from tests.oci.stack import site_with_key
from tests.processes import edge_and_worker
from tests.stats.live import bearer, query, send_data_set, wait_for_visits

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


class Live:
    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings, self.http = settings, http
        self.key_a = site_with_key(settings, "alpha")
        self.key_b = site_with_key(settings, "beta")
        send_data_set(http, "alpha", "beta")
        wait_for_visits(http, self.key_a, "alpha", 3)
        wait_for_visits(http, self.key_b, "beta", 1)

    def ask(self, **body: Any) -> dict[str, Any]:
        r = query(self.http, self.key_a, site_id="alpha", **body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def table(self, **body: Any) -> dict[tuple[str, ...], list[Any]]:
        return {tuple(row["dimensions"]): row["metrics"] for row in self.ask(**body)["results"]}


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with edge_and_worker(tmp_path_factory.mktemp("stats-api")) as (settings, http):
        yield Live(settings, http)


def test_totals(live: Live) -> None:
    metrics = ["visitors", "visits", "pageviews", "events", "bounce_rate", "views_per_visit", "leads"]
    answer = live.ask(metrics=metrics)
    assert answer["results"] == [{"metrics": [2, 3, 5, 6, 33, 1.67, 1], "dimensions": []}]
    assert answer["query"]["metrics"] == metrics and len(answer["query"]["date_range"]) == 2


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("visit:source", {("newsletter",): [1, 1, 2], ("Google",): [1, 1, 1], ("Hacker News",): [1, 1, 2]}),
        ("event:page", {("/pricing",): [2, 3, 3], ("/",): [1, 1, 1], ("/blog/post",): [1, 1, 1]}),
        ("visit:entry_page", {("/",): [1, 1, 2], ("/pricing",): [1, 1, 1], ("/blog/post",): [1, 1, 2]}),
        ("visit:device", {("Desktop",): [2, 2, 3], ("Mobile",): [1, 1, 2]}),
        ("visit:browser", {("Chrome",): [1, 1, 1], ("Firefox",): [1, 1, 2], ("Safari",): [1, 1, 2]}),
        ("visit:os", {("Windows",): [1, 1, 1], ("Linux",): [1, 1, 2], ("iOS",): [1, 1, 2]}),
        ("visit:utm_campaign", {("spring",): [1, 1, 2], ("(not set)",): [2, 2, 3]}),
        (
            "visit:referrer",
            {
                ("Direct / None",): [1, 1, 2],
                ("google.com/search",): [1, 1, 1],
                ("news.ycombinator.com/item",): [1, 1, 2],
            },
        ),
    ],
)
def test_dimensions(live: Live, dimension: str, expected: dict[tuple[str, ...], list[Any]]) -> None:
    assert live.table(metrics=["visitors", "visits", "pageviews"], dimensions=[dimension]) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([["is", "visit:source", ["Google"]]], [1, 1, 1, 100]),
        ([["is_not", "visit:source", ["Google"]]], [1, 2, 4, 0]),
        ([["is", "event:page", ["/pricing"]]], [2, 3, 3, 100]),  # bounce rate: of the visits entering there
        ([["contains", "event:page", ["blog"]]], [1, 1, 1, 0]),
        ([["or", [["is", "visit:device", ["Mobile"]], ["is", "visit:source", ["Google"]]]]], [2, 2, 3, 50]),
        ([["not", ["is", "visit:device", ["Mobile"]]]], [2, 2, 3, 50]),
    ],
)
def test_filters(live: Live, filters: list[Any], expected: list[Any]) -> None:
    answer = live.ask(metrics=["visitors", "visits", "pageviews", "bounce_rate"], filters=filters)
    assert answer["results"][0]["metrics"] == expected


def test_ordering_pagination_and_total_rows(live: Live) -> None:
    answer = live.ask(
        metrics=["pageviews"],
        dimensions=["event:page"],
        order_by=[["pageviews", "desc"], ["event:page", "asc"]],
        pagination={"limit": 1, "offset": 1},
        include={"total_rows": True},
    )
    assert answer["results"] == [{"metrics": [1], "dimensions": ["/"]}]
    assert answer["meta"]["total_rows"] == 3


def test_another_sites_data_never_leaks(live: Live) -> None:
    r = query(live.http, live.key_b, site_id="beta", metrics=["visitors", "visits", "pageviews"])
    assert r.json()["results"] == [{"metrics": [1, 1, 3], "dimensions": []}]
    pages = live.table(metrics=["pageviews"], dimensions=["event:page"])
    assert sum(m[0] for m in pages.values()) == 5  # alpha's own five, none of beta's three
    # a key never reaches another site, even one that exists
    denied = query(live.http, live.key_b, site_id="alpha", metrics=["visitors"])
    assert denied.status_code == 401 and "error" in denied.json()


def test_realtime_visitors(live: Live) -> None:
    r = live.http.get("/api/v1/stats/realtime/visitors", params={"site_id": "alpha"}, headers=bearer(live.key_a))
    assert r.status_code == 200 and r.json() == 2
    r = live.http.get("/api/v1/stats/realtime/visitors", params={"site_id": "beta"}, headers=bearer(live.key_b))
    assert r.json() == 1


def test_time_series(live: Live) -> None:
    answer = live.ask(metrics=["visitors", "pageviews"], dimensions=["time:day"], include={"time_labels": True})
    assert sum(row["metrics"][1] for row in answer["results"]) == 5
    assert len(answer["meta"]["time_labels"]) == 3
