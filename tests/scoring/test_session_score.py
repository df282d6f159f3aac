import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest

from leadstream.schemas.tracking import EventRecord
from leadstream.scoring.dedup import DEDUP_WINDOW, counted_mark, duplicate_key, is_duplicate
from leadstream.scoring.session_score import (
    SessionState,
    apply_event,
    call_status,
    confidence,
    session_age,
    session_score,
    status_for,
)

SITE = "site-1"
SID = uuid.UUID("0190f0c4-0000-7000-8000-000000000001")
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
GCLID = "Cj0KCQiA-abcdef"


def event(offset: float = 0, **kw: Any) -> EventRecord:
    base: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "received_at": T0 + timedelta(seconds=offset),
        "site_id": SITE,
        "session_id": SID,
        "session_month": date(2026, 3, 1),
        "url": "https://shop.example/p",
        "category": "interaction",
        "action": "view",
        "score": 10,
    }
    return EventRecord(**{**base, **kw})


def fold(*events: EventRecord) -> SessionState:
    state = None
    for e in events:
        state = apply_event(state, e)
    assert state is not None
    return state


def state(**kw: Any) -> SessionState:
    base: dict[str, Any] = {"site_id": SITE, "session_id": str(SID), "first_seen": T0, "last_seen": T0}
    return SessionState(**{**base, **kw})


# --- apply_event: identity, counts, times ---------------------------------------------------------


def test_first_event_creates_state() -> None:
    s = apply_event(None, event(fingerprint="fp-1", score=35))
    assert (s.site_id, s.session_id, s.fingerprint) == (SITE, str(SID), "fp-1")
    assert (s.first_seen, s.last_seen) == (T0, T0)
    assert s.counts == {"interaction": 1}
    assert (s.event_count, s.heartbeats, s.events_total) == (1, 0, 1)
    assert s.highest_event_score == 35
    assert (s.source, s.medium, s.duration_sec, s.click_ids) == ("direct", "(none)", 0.0, {})


def test_counts_per_category_and_highest_score() -> None:
    s = fold(
        event(0, category="interaction", score=10),
        event(1, category="conversion", action="form_submit", score=50),
        event(2, category="conversion", action="phone_call", score=75),
        event(3, category="system", action="session_end", score=0),
        event(4, category="acquisition", score=0),
    )
    assert s.counts == {"interaction": 1, "conversion": 2, "system": 1, "acquisition": 1}
    assert s.event_count == 5
    assert s.highest_event_score == 75


def test_heartbeats_are_kept_apart_from_scoring_counts() -> None:
    s = fold(
        event(0), event(15, action="heartbeat", score=0), event(30, action="heartbeat", category="system", score=0)
    )
    assert s.counts == {"interaction": 1}
    assert (s.event_count, s.heartbeats, s.events_total) == (1, 2, 3)
    assert s.last_seen == T0 + timedelta(seconds=30)
    assert s.duration_sec == 30


def test_heartbeat_never_raises_highest_score() -> None:
    # A heartbeat's score is 0 by the event rule; even a bogus one must not count.
    s = fold(event(0, score=10), event(1, action="heartbeat", score=99))
    assert s.highest_event_score == 10


def test_out_of_order_events_first_seen_is_min_last_seen_is_max() -> None:
    s = fold(event(10), event(0), event(20), event(5))
    assert s.first_seen == T0
    assert s.last_seen == T0 + timedelta(seconds=20)
    assert s.duration_sec == 20


def test_result_does_not_depend_on_arrival_order() -> None:
    events = [
        event(0, referrer="https://news.example/a"),
        event(3, category="conversion", score=50, click_ids={"gclid": GCLID}),
        event(7, action="heartbeat", score=0, duration_sec=40),
        event(9, fingerprint="fp", meta={"utm_source": "mail", "utm_medium": "email"}),
    ]
    results = {json.dumps(fold(*p).to_dict(), sort_keys=True) for p in itertools.permutations(events)}
    assert len(results) == 1


def test_event_of_another_session_or_site_is_refused() -> None:
    s = fold(event(0))
    with pytest.raises(ValueError):
        apply_event(s, event(1, session_id=uuid.uuid4()))
    with pytest.raises(ValueError):
        apply_event(s, event(1, site_id="site-2"))


def test_a_saved_state_does_not_change_as_the_state_goes_on() -> None:
    live = fold(event(0))
    saved = live.to_dict()
    assert apply_event(live, event(1, category="conversion", click_ids={"gclid": GCLID})) is live  # in place
    assert saved["counts"] == {"interaction": 1} and saved["click_ids"] == {}
    assert live.counts == {"interaction": 1, "conversion": 1}
    assert SessionState.from_dict(saved) == fold(event(0))


# --- fingerprint and click ids --------------------------------------------------------------------


def test_fingerprint_first_non_empty_is_kept() -> None:
    assert fold(event(0), event(1, fingerprint="fp-a"), event(2, fingerprint="fp-b")).fingerprint == "fp-a"
    assert fold(event(0, fingerprint=""), event(1)).fingerprint is None


def test_click_ids_keep_first_valid_of_each_kind() -> None:
    s = fold(
        event(0, click_ids={"gclid": "{gclid}-template"}),
        event(1, click_ids={"gclid": "short", "wbraid": "W" * 12}),
        event(2, click_ids={"gclid": GCLID, "wbraid": "X" * 12}),
        event(3, click_ids={"gclid": "G" * 20, "gbraid": "B" * 10}),
    )
    assert s.click_ids == {"gclid": GCLID, "wbraid": "W" * 12, "gbraid": "B" * 10}
    assert s.has_click_id


def test_invalid_click_ids_only_means_no_click_id() -> None:
    s = fold(event(0, click_ids={"gclid": "{gclid}", "wbraid": "abc"}))
    assert s.click_ids == {}
    assert not s.has_click_id


# --- attribution ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gclid", "wbraid", "gbraid"])
def test_any_click_id_is_google_cpc(kind: str) -> None:
    s = fold(event(0, click_ids={kind: GCLID}, meta={"utm_source": "mail", "utm_medium": "email"}))
    assert (s.source, s.medium) == ("google", "cpc")


def test_click_id_seen_later_still_makes_google_cpc() -> None:
    s = fold(event(0, referrer="https://news.example/"), event(5, click_ids={"gclid": GCLID}))
    assert (s.source, s.medium) == ("google", "cpc")


def test_click_id_wins_over_an_earlier_event_arriving_late() -> None:
    s = fold(event(5, click_ids={"gclid": GCLID}), event(0, meta={"utm_source": "mail", "utm_medium": "email"}))
    assert (s.source, s.medium) == ("google", "cpc")


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"meta": {"utm_source": "newsletter", "utm_medium": "email"}}, ("newsletter", "email")),
        ({"meta": {"utm_source": " fb "}}, ("fb", "(not set)")),
        ({"meta": {"utm_medium": "cpc"}}, ("(not set)", "cpc")),
        ({"meta": {"utm_source": "{utm_source}", "utm_medium": "  "}}, ("direct", "(none)")),
        ({"url": "https://shop.example/?utm_source=bing&utm_medium=cpc"}, ("bing", "cpc")),
        (
            {"url": "https://shop.example/?utm_source=bing&utm_medium=cpc", "meta": {"utm_source": "meta-wins"}},
            ("meta-wins", "(not set)"),
        ),
        (
            {"meta": {"utm_source": "mail", "utm_medium": "email"}, "referrer": "https://www.google.com/"},
            ("mail", "email"),
        ),
        ({"referrer": "https://www.google.com/search?q=x"}, ("google", "organic")),
        ({"referrer": "https://google.co.uk/"}, ("google", "organic")),
        ({"referrer": "https://www.news.example/story"}, ("news.example", "referral")),
        ({"referrer": "https://M.Facebook.com/"}, ("m.facebook.com", "referral")),
        ({"referrer": "https://shop.example/other"}, ("direct", "(none)")),
        ({"referrer": "https://www.shop.example/other"}, ("direct", "(none)")),
        ({"referrer": "android-app://com.google.android.gm/"}, ("direct", "(none)")),
        ({"referrer": "not a url"}, ("direct", "(none)")),
        ({"referrer": "https://[::1/"}, ("direct", "(none)")),
        ({"referrer": ""}, ("direct", "(none)")),
        ({}, ("direct", "(none)")),
    ],
)
def test_first_touch_rules(kw: dict[str, Any], expected: tuple[str, str]) -> None:
    s = fold(event(0, **kw))
    assert (s.source, s.medium) == expected


def test_first_touch_is_not_changed_by_later_events() -> None:
    s = fold(event(0), event(5, meta={"utm_source": "mail", "utm_medium": "email"}))
    assert (s.source, s.medium) == ("direct", "(none)")
    s = fold(event(0, referrer="https://news.example/"), event(5, referrer="https://www.google.com/"))
    assert (s.source, s.medium) == ("news.example", "referral")


def test_earlier_event_arriving_late_becomes_the_first_touch() -> None:
    s = fold(event(5, referrer="https://shop.example/"), event(0, referrer="https://news.example/"))
    assert (s.source, s.medium) == ("news.example", "referral")


def test_same_instant_keeps_the_first_arrived_touch() -> None:
    # A batch shares one received_at; the tracker's first event is the landing.
    s = fold(event(0, referrer="https://news.example/"), event(0, referrer="https://shop.example/"))
    assert (s.source, s.medium) == ("news.example", "referral")


# --- duration -------------------------------------------------------------------------------------


def test_duration_is_the_larger_of_span_and_reported() -> None:
    assert fold(event(0), event(42)).duration_sec == 42
    assert fold(event(0), event(10, duration_sec=95.5)).duration_sec == 95.5
    assert fold(event(0, duration_sec=95.5), event(120)).duration_sec == 120
    assert fold(event(0, duration_sec=80), event(10, duration_sec=20)).duration_sec == 80


# --- serialisation --------------------------------------------------------------------------------


def test_round_trips_through_a_json_safe_dict() -> None:
    s = fold(
        event(0, fingerprint="fp", referrer="https://news.example/"),
        event(3, category="conversion", score=75, click_ids={"gclid": GCLID}, duration_sec=12.5),
        event(9, action="heartbeat", score=0),
    )
    data = s.to_dict()
    assert data["first_seen"] == "2026-03-01T12:00:00Z"
    assert data["counts"] == {"interaction": 1, "conversion": 1}
    text = json.dumps(data)
    again = SessionState.from_dict(json.loads(text))
    assert again == s
    assert again.first_seen.tzinfo is not None
    assert SessionState.from_dict(orjson.loads(orjson.dumps(data))) == s


def test_from_dict_ignores_unknown_keys_and_fills_defaults() -> None:
    s = SessionState.from_dict(
        {
            "site_id": SITE,
            "session_id": str(SID),
            "first_seen": "2026-03-01T12:00:00Z",
            "last_seen": "2026-03-01T12:00:05Z",
            "future_field": 1,
        }
    )
    assert (s.event_count, s.heartbeats, s.highest_event_score, s.source) == (0, 0, 0, "direct")


@pytest.mark.parametrize(
    "broken",
    [
        {"site_id": SITE},
        {"site_id": SITE, "session_id": str(SID), "first_seen": "yesterday", "last_seen": "2026-03-01T12:00:05Z"},
        {"site_id": 7, "session_id": str(SID), "first_seen": "2026-03-01T12:00:00Z", "last_seen": "2026-03-01"},
    ],
)
def test_from_dict_rejects_a_broken_state(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a session state"):
        SessionState.from_dict(broken)


# --- session score (SPEC §3.2) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "highest", "expected"),
    [
        ({}, 0, 0),
        ({"interaction": 1}, 10, 5 + 10),
        ({"conversion": 1}, 50, 20 + 40),
        ({"conversion": 2, "interaction": 3}, 35, 40 + 15 + 35),
        ({"interaction": 2}, 40, 10 + 40),
        ({"interaction": 2}, 41, 10 + 40),
        ({"interaction": 2}, 100, 10 + 40),
        ({"conversion": 3}, 0, 60),
        ({"conversion": 3}, 40, 100),
        ({"conversion": 5, "interaction": 10}, 100, 100),
        ({"acquisition": 7, "system": 4}, 0, 0),
    ],
)
def test_session_score(counts: dict[str, int], highest: int, expected: int) -> None:
    assert session_score(state(counts=counts, highest_event_score=highest)) == expected


def test_session_score_ignores_heartbeats() -> None:
    s = fold(event(0, score=10), *(event(i * 15, action="heartbeat", score=0) for i in range(1, 50)))
    assert session_score(s) == 5 + 10


def test_session_score_from_events() -> None:
    s = fold(
        event(0, score=15, referrer="https://www.google.com/"),
        event(5, category="conversion", action="phone_call", score=75, click_ids={"gclid": GCLID}),
    )
    assert session_score(s) == 20 + 5 + 40


# --- confidence -----------------------------------------------------------------------------------


def aged(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("click", "events", "age", "expected"),
    [
        (True, 2, 30, 100),
        (False, 2, 30, 75),
        (True, 2, 29.999, 80),
        (True, 1, 30, 90),
        (True, 0, 30, 90),
        (False, 1, 30, 65),
        (False, 2, 0, 55),
        (True, 1, 0, 70),
        (False, 1, 0, 45),
        (False, 1, -60, 45),
    ],
)
def test_confidence(click: bool, events: int, age: float, expected: int) -> None:
    s = state(counts={"interaction": events} if events else {}, click_ids={"gclid": GCLID} if click else {})
    assert confidence(s, aged(age)) == expected


def test_confidence_30s_boundary_is_exclusive() -> None:
    s = state(counts={"interaction": 2}, click_ids={"gclid": GCLID})
    assert confidence(s, aged(30) - timedelta(microseconds=1)) == 80
    assert confidence(s, aged(30)) == 100


def test_confidence_heartbeats_do_not_count_as_events() -> None:
    s = fold(event(0, click_ids={"gclid": GCLID}), event(60, action="heartbeat", score=0))
    assert s.event_count == 1
    assert confidence(s, aged(300)) == 90


def test_confidence_age_is_from_first_seen() -> None:
    s = fold(event(0, click_ids={"gclid": GCLID}), event(100))
    assert session_age(s, aged(110)) == timedelta(seconds=110)
    assert confidence(s, aged(110)) == 100


# --- call status ----------------------------------------------------------------------------------


def test_call_status_120s_boundary() -> None:
    s = state(counts={"interaction": 2}, click_ids={"gclid": GCLID})
    assert call_status(s, aged(120) - timedelta(microseconds=1)) == "suspicious"
    assert call_status(s, aged(120)) == "intent"
    assert call_status(s, aged(86400)) == "intent"


def test_call_status_young_session_is_suspicious_whatever_the_confidence() -> None:
    s = state(counts={"interaction": 5}, click_ids={"gclid": GCLID})
    assert confidence(s, aged(60)) == 100
    assert call_status(s, aged(60)) == "suspicious"


def test_call_status_old_session_with_weak_signals_is_intent_at_confidence_65() -> None:
    s = state(counts={"interaction": 1})
    assert confidence(s, aged(600)) == 65
    assert call_status(s, aged(600)) == "intent"


def test_call_before_the_first_event_is_suspicious() -> None:
    s = state(counts={"interaction": 3}, click_ids={"gclid": GCLID})
    assert call_status(s, aged(-5)) == "suspicious"


@pytest.mark.parametrize(
    ("age", "conf", "expected"),
    [
        (119.999, 100, "suspicious"),
        (120, 100, "intent"),
        (120, 50, "intent"),
        (120, 49, "suspicious"),
        (3600, 0, "suspicious"),
        (-1, 100, "suspicious"),
    ],
)
def test_status_rule(age: float, conf: int, expected: str) -> None:
    assert status_for(timedelta(seconds=age), conf) == expected


# --- duplicate suppression (SPEC §4) --------------------------------------------------------------


def key(**kw: Any) -> str:
    base: dict[str, Any] = {
        "site_id": SITE,
        "session_id": SID,
        "category": "interaction",
        "action": "click",
        "label": "cta",
        "url": "https://shop.example/p",
    }
    return duplicate_key(**{**base, **kw})


def test_duplicate_key_is_stable_and_bounded() -> None:
    assert key() == key(session_id=str(SID))
    assert len(key(url="https://shop.example/" + "x" * 4000)) == 64
    assert key(label=None) == key(label="")


@pytest.mark.parametrize(
    "change",
    [
        {"site_id": "site-2"},
        {"session_id": uuid.uuid4()},
        {"category": "conversion"},
        {"action": "view"},
        {"label": "other"},
        {"url": "https://shop.example/q"},
    ],
)
def test_duplicate_key_tells_every_part_apart(change: dict[str, Any]) -> None:
    assert key(**change) != key()


def test_duplicate_key_parts_cannot_bleed_into_each_other() -> None:
    assert key(action="a|b", label="c") != key(action="a", label="b|c")


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (None, 0, False),
        (0, 0, True),
        (0, 4.999, True),
        (0, 5, True),
        (0, 5.001, False),
        (5, 0.5, True),
        (10, 4.999, False),
    ],
)
def test_is_duplicate(last: float | None, now: float, expected: bool) -> None:
    assert is_duplicate(None if last is None else aged(last), aged(now)) is expected


def test_window_is_configurable_and_defaults_to_5s() -> None:
    assert timedelta(seconds=5) == DEDUP_WINDOW
    assert is_duplicate(aged(0), aged(8), window=timedelta(seconds=10))


def test_a_steady_repeat_counts_once_per_window() -> None:
    counted: list[float] = []
    mark = None
    for t in range(0, 21, 2):  # the same click every 2 s
        if not is_duplicate(mark, aged(t)):
            counted.append(t)
            mark = counted_mark(mark, aged(t))
    assert counted == [0, 6, 12, 18]


def test_counted_mark_keeps_the_later_time() -> None:
    assert counted_mark(None, aged(3)) == aged(3)
    assert counted_mark(aged(10), aged(3)) == aged(10)
    assert counted_mark(aged(3), aged(10)) == aged(10)


# --- enrichment on the session ------------------------------------------------------------------

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
LANDING = "https://shop.example/l?utm_source=google&utm_medium=cpc&utm_campaign=spring&adgroup=leaks&matchtype=p"


def test_device_referrer_and_campaign_come_from_the_first_events() -> None:
    state = fold(
        event(0, url=LANDING, user_agent=IPHONE, referrer="https://www.google.com/", consent_scopes=["analytics"]),
        event(5, url="https://shop.example/l?utm_campaign=other", user_agent="curl/8", referrer="https://x.example/"),
        event(9, consent_scopes=["analytics", "marketing"]),
    )
    assert (state.device_type, state.os, state.browser, state.is_bot) == ("mobile", "iOS", "Safari", False)
    assert state.referrer_host == "google.com"
    assert state.campaign == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_adgroup": "leaks",
        "matchtype": "p",
    }
    assert state.consent_scopes == ["analytics", "marketing"]  # the latest


def test_a_session_seen_with_a_bot_agent_is_a_bot() -> None:
    state = fold(event(0, user_agent=IPHONE), event(3, user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)"))
    assert state.is_bot and state.device_type == "mobile"


def test_an_earlier_event_arriving_late_takes_over_first_touch() -> None:
    state = fold(event(10, url="https://shop.example/b?utm_campaign=late"), event(0, url=LANDING))
    assert state.campaign["utm_campaign"] == "spring"
