"""The known data set sent through the tracking edge now (the real stack), and the numbers it
must give: three visits of two visitors on site A, one visit on site B."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.stats.dataset import IPHONE, LINUX_FIREFOX, WIN_CHROME

ORIGIN = "https://shop.example"


def send(http: httpx.Client, site: str, sid: str, fp: str, path: str, ua: str, **extra: Any) -> None:
    event = {"s": site, "u": f"{ORIGIN}{path}", "sid": sid, "ec": "interaction", "ea": "view", "meta": {"fp": fp}}
    r = http.post("/api/sync", json=event | extra, headers={"User-Agent": ua})
    assert r.status_code == 200, r.text


def send_data_set(http: httpx.Client, site: str, other: str) -> None:
    one, two, three, four = (str(uuid.uuid4()) for _ in range(4))
    send(http, site, one, "fp-1", "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring", IPHONE)
    send(http, site, one, "fp-1", "/pricing", IPHONE)
    send(http, site, one, "fp-1", "/pricing", IPHONE, ec="conversion", ea="form_submit")
    send(http, site, two, "fp-2", "/pricing?plan=pro", WIN_CHROME, r="https://www.google.com/search")
    send(http, site, three, "fp-1", "/blog/post", LINUX_FIREFOX, r="https://news.ycombinator.com/item?id=1")
    send(http, site, three, "fp-1", "/pricing", LINUX_FIREFOX)
    for _ in range(3):
        send(http, other, four, "fp-x", "/", WIN_CHROME)


def around_today() -> list[str]:
    """Yesterday to tomorrow (UTC): today's data, whatever the hour the test runs at."""
    today = datetime.now(UTC).date()
    return [(today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def query(http: httpx.Client, key: str, **body: Any) -> httpx.Response:
    return http.post("/api/v2/query", json={"date_range": around_today()} | body, headers=bearer(key))


def wait_for_visits(http: httpx.Client, key: str, site: str, visits: int, timeout_s: float = 60) -> None:
    """Until the warehouse holds the data set (events land within a second or two of the edge's 200)."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = query(http, key, site_id=site, metrics=["visits", "pageviews"])
        assert r.status_code == 200, r.text
        if r.json()["results"][0]["metrics"][0] >= visits or time.monotonic() > deadline:
            return
        time.sleep(0.5)
