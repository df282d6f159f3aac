"""A known data set for the Stats API, with the numbers Plausible's definitions give for it.

Site ``shop`` (UTC) on 2026-03-10, four visits by three visitors, plus one visit the day before
and another site's visit that must never be counted:

| visit | visitor | start | pageviews | other events | source | device | bounce | duration |
|---|---|---|---|---|---|---|---|---|
| A | fp-a | 10:00 | / , /pricing | form_submit on /pricing 10:02 | newsletter (utm) | Mobile Safari iOS | no | 120 s |
| B | fp-b | 10:30 | /pricing | - | Google (referrer) | Desktop Chrome Windows | yes | 0 |
| C | fp-a | 11:15 | /blog/post , /pricing 11:18 | heartbeat 11:16 | Hacker News | Desktop Firefox Linux | no | 180 s |
| D | fp-c | 23:50 | /pricing | scroll_depth 23:51 | Direct / None | Desktop Chrome Windows | yes | 0 |
| P (03-09) | fp-p | 09:00 | / | - | Direct / None | Desktop | yes | 0 |
| other site | fp-x | 10:00 | / x3 | - | | | | |
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from leadstream.schemas.event_view import view_of
from leadstream.schemas.tracking import EventRecord
from leadstream.streams.rows import EVENT_COLUMNS, event_row

DAY = datetime(2026, 3, 10, tzinfo=UTC)
SITE, OTHER = "shop", "other"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
WIN_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
BASE = "https://shop.example"


def _at(hour: int, minute: int, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def _event(site: str, sid: uuid.UUID, fp: str, at: datetime, url: str, ua: str, **fields: object) -> list[object]:
    record = {
        "event_id": uuid.uuid4(),
        "received_at": at,
        "site_id": site,
        "session_id": sid,
        "session_month": at.date().replace(day=1),
        "url": url,
        "category": "interaction",
        "action": "view",
        "score": 10,
        "fingerprint": fp,
        "user_agent": ua,
    }
    return event_row(view_of(EventRecord.model_validate(record | fields)))


def rows() -> list[list[object]]:
    a, b, c, d, p, x = (uuid.uuid4() for _ in range(6))
    landing = f"{BASE}/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    return [
        _event(SITE, a, "fp-a", _at(10, 0), landing, IPHONE),
        _event(SITE, a, "fp-a", _at(10, 1), f"{BASE}/pricing", IPHONE),
        _event(
            SITE,
            a,
            "fp-a",
            _at(10, 2),
            f"{BASE}/pricing",
            IPHONE,
            category="conversion",
            action="form_submit",
            score=60,
        ),
        _event(
            SITE,
            b,
            "fp-b",
            _at(10, 30),
            f"{BASE}/pricing?plan=pro",
            WIN_CHROME,
            referrer="https://www.google.com/search",
        ),
        _event(
            SITE,
            c,
            "fp-a",
            _at(11, 15),
            f"{BASE}/blog/post",
            LINUX_FIREFOX,
            referrer="https://news.ycombinator.com/item?id=1",
        ),
        _event(
            SITE,
            c,
            "fp-a",
            _at(11, 16),
            f"{BASE}/blog/post",
            LINUX_FIREFOX,
            category="system",
            action="heartbeat",
            score=0,
        ),
        _event(SITE, c, "fp-a", _at(11, 18), f"{BASE}/pricing", LINUX_FIREFOX, score=20),
        _event(SITE, d, "fp-c", _at(23, 50), f"{BASE}/pricing", WIN_CHROME),
        _event(SITE, d, "fp-c", _at(23, 51), f"{BASE}/pricing", WIN_CHROME, action="scroll_depth", value=50),
        _event(SITE, p, "fp-p", _at(9, 0, DAY - timedelta(days=1)), f"{BASE}/", WIN_CHROME),
        *(_event(OTHER, x, "fp-x", _at(10, i), "https://other.example/", WIN_CHROME) for i in range(3)),
    ]


COLUMNS = EVENT_COLUMNS

# Expected on 2026-03-10 (UTC), no filter.
TOTALS = {
    "visitors": 3,  # fp-a, fp-b, fp-c
    "visits": 4,
    "pageviews": 6,  # A 2, B 1, C 2, D 1
    "events": 7,  # + the conversion
    "bounce_rate": 50,  # B and D of 4
    "visit_duration": 75,  # (120 + 0 + 180 + 0) / 4
    "views_per_visit": 1.5,
    "leads": 1,
    # scores of the events but heartbeats: A 10 10 60, B 10, C 10 20, D 10 10 -> 140 / 8
    "avg_lead_score": 17.5,
}
