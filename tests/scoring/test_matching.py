import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from leadstream.schemas.tracking import EventRecord
from leadstream.scoring.matching import (
    MATCH_WINDOW,
    MAX_START_AFTER_CALL,
    RECENT_SESSIONS_LIMIT,
    SessionSummary,
    best_match,
    is_eligible,
    rank_candidates,
    remember_session,
)
from leadstream.scoring.session_score import apply_event

SITE = "site-1"
FP = "fp-1"
CALL_AT = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
GCLID = "Cj0KCQiA-abcdef"


def ago(**kw: float) -> datetime:
    return CALL_AT - timedelta(**kw)


def summary(sid: str, *, first: datetime | None = None, last: datetime | None = None, **kw: Any) -> SessionSummary:
    last = last or ago(minutes=1)
    base: dict[str, Any] = {
        "site_id": SITE,
        "session_id": sid,
        "fingerprint": FP,
        "first_seen": first or last,
        "last_seen": last,
        "has_click_id": False,
    }
    return SessionSummary(**{**base, **kw})


def match(sessions: list[Any], **kw: Any) -> Any:
    return best_match(sessions, **{"site_id": SITE, "fingerprint": FP, "at": CALL_AT, **kw})


def ids(sessions: list[Any]) -> list[str]:
    return [str(s.session_id) for s in sessions]


# --- candidates -----------------------------------------------------------------------------------


def test_no_sessions_no_match() -> None:
    assert match([]) is None


def test_never_matches_another_site() -> None:
    other = summary("b", site_id="site-2", has_click_id=True)
    assert match([other]) is None
    mine = summary("a")
    assert match([other, mine]) is mine


def test_same_fingerprint_only() -> None:
    assert match([summary("a", fingerprint="fp-2")]) is None
    assert match([summary("a", fingerprint=None)]) is None


def test_empty_call_fingerprint_matches_nothing() -> None:
    assert match([summary("a", fingerprint="")], fingerprint="") is None


def test_14_day_window_edge_is_inclusive() -> None:
    edge = summary("a", first=ago(days=20), last=ago(days=14))
    assert match([edge]) is edge
    just_out = summary("b", first=ago(days=20), last=ago(days=14) - timedelta(microseconds=1))
    assert match([just_out]) is None
    assert timedelta(days=14) == MATCH_WINDOW


def test_activity_counts_not_start_for_the_window() -> None:
    # Started 30 days ago, still active yesterday: eligible.
    s = summary("a", first=ago(days=30), last=ago(days=1))
    assert match([s]) is s


def test_window_is_configurable() -> None:
    s = summary("a", last=ago(days=3))
    assert match([s], window=timedelta(days=2)) is None


def test_session_active_after_the_call_is_eligible() -> None:
    s = summary("a", first=ago(minutes=10), last=CALL_AT + timedelta(minutes=30))
    assert match([s]) is s


def test_session_starting_slightly_after_the_call_is_eligible() -> None:
    # The arrival-order case: the call is handled before its session's first event.
    for delta in (timedelta(0), timedelta(milliseconds=3), timedelta(seconds=20), MAX_START_AFTER_CALL):
        s = summary("a", first=CALL_AT + delta, last=CALL_AT + delta)
        assert match([s]) is s, delta


def test_session_starting_long_after_the_call_is_another_visit() -> None:
    late = CALL_AT + MAX_START_AFTER_CALL + timedelta(microseconds=1)
    assert match([summary("a", first=late, last=late)]) is None
    assert match([summary("a", first=late, last=late)], max_start_after_call=timedelta(hours=1)) is not None


def test_is_eligible_reports_each_rule() -> None:
    kw: dict[str, Any] = {"site_id": SITE, "fingerprint": FP, "at": CALL_AT}
    assert is_eligible(summary("a"), **kw)
    assert not is_eligible(summary("a", site_id="x"), **kw)
    assert not is_eligible(summary("a", fingerprint="x"), **kw)
    assert not is_eligible(summary("a", last=ago(days=15)), **kw)


# --- ranking --------------------------------------------------------------------------------------


def test_click_id_session_beats_a_more_recent_one_without() -> None:
    clicked = summary("a", first=ago(days=3), last=ago(days=3), has_click_id=True)
    recent = summary("b", first=ago(seconds=30), last=ago(seconds=5))
    assert match([recent, clicked]) is clicked
    assert match([clicked, recent]) is clicked


def test_among_click_id_sessions_the_closest_start_wins() -> None:
    far = summary("z", first=ago(hours=5), last=ago(seconds=1), has_click_id=True)
    near = summary("a", first=ago(minutes=2), last=ago(minutes=1), has_click_id=True)
    assert match([far, near]) is near


def test_closest_start_counts_both_sides_of_the_call() -> None:
    before = summary("a", first=ago(seconds=90), last=ago(seconds=10), has_click_id=True)
    after = summary("b", first=CALL_AT + timedelta(seconds=30), last=CALL_AT + timedelta(seconds=40), has_click_id=True)
    assert match([before, after]) is after


def test_without_click_ids_the_most_recently_active_wins() -> None:
    old_start_recent = summary("a", first=ago(days=2), last=ago(minutes=1))
    new_start_stale = summary("z", first=ago(hours=1), last=ago(minutes=50))
    assert match([new_start_stale, old_start_recent]) is old_start_recent


def test_ties_by_session_id_descending() -> None:
    at = ago(minutes=3)
    a, b, c = (summary(x, first=at, last=at) for x in ("0190-a", "0190-c", "0190-b"))
    assert match([a, b, c]) is b
    x, y = (summary(s, first=at, last=at, has_click_id=True) for s in ("0190-a", "0190-b"))
    assert match([x, y]) is y


def test_tie_on_distance_either_side_goes_to_session_id() -> None:
    before = summary("b", first=ago(seconds=30), has_click_id=True, last=ago(seconds=1))
    after = summary("a", first=CALL_AT + timedelta(seconds=30), last=CALL_AT + timedelta(seconds=31), has_click_id=True)
    assert match([after, before]) is before


def test_rank_candidates_full_order() -> None:
    sessions = [
        summary("n1", first=ago(hours=3), last=ago(hours=2)),
        summary("c1", first=ago(hours=1), last=ago(hours=1), has_click_id=True),
        summary("n2", first=ago(hours=3), last=ago(minutes=5)),
        summary("c2", first=ago(minutes=4), last=ago(minutes=4), has_click_id=True),
        summary("x", site_id="site-2", has_click_id=True),
        summary("old", last=ago(days=20), has_click_id=True),
    ]
    ranked = rank_candidates(sessions, site_id=SITE, fingerprint=FP, at=CALL_AT)
    assert ids(ranked) == ["c2", "c1", "n2", "n1"]


def test_uuid_session_ids_compare_as_their_text() -> None:
    at = ago(minutes=3)
    low, high = uuid.UUID(int=1), uuid.UUID(int=2**127)
    sessions = [summary(str(low), first=at, last=at), summary(str(high), first=at, last=at)]
    assert match(sessions).session_id == str(high)


def test_works_on_session_states() -> None:
    def record(sid: uuid.UUID, offset_s: float, **kw: Any) -> EventRecord:
        return EventRecord(
            event_id=uuid.uuid4(),
            received_at=CALL_AT + timedelta(seconds=offset_s),
            site_id=SITE,
            session_id=sid,
            session_month=date(2026, 3, 1),
            url="https://shop.example/",
            category="interaction",
            action="view",
            score=10,
            fingerprint=FP,
            **kw,
        )

    plain = apply_event(None, record(uuid.uuid4(), -30))
    clicked = apply_event(None, record(uuid.uuid4(), -3600, click_ids={"gclid": GCLID}))
    assert match([plain, clicked]) is clicked


# --- bounded recent list --------------------------------------------------------------------------


def test_remember_adds_and_orders_most_recent_first() -> None:
    recent: list[SessionSummary] = []
    recent = remember_session(recent, summary("a", last=ago(hours=2)))
    recent = remember_session(recent, summary("b", last=ago(hours=1)))
    recent = remember_session(recent, summary("c", last=ago(hours=3)))
    assert ids(recent) == ["b", "a", "c"]


def test_remember_replaces_the_same_session() -> None:
    recent = [summary("a", last=ago(hours=2)), summary("b", last=ago(hours=1))]
    updated = summary("a", first=ago(hours=2), last=ago(minutes=1), has_click_id=True)
    merged = remember_session(recent, updated)
    assert ids(merged) == ["a", "b"]
    assert merged[0] is updated
    assert ids(recent) == ["a", "b"]  # the input list is not changed


def test_remember_replaces_on_equal_last_seen() -> None:
    at = ago(minutes=5)
    first = summary("a", first=at, last=at)
    grown = summary("a", first=ago(minutes=6), last=at)  # an earlier event arrived late
    assert remember_session([first], grown) == [grown]


def test_remember_ignores_a_stale_redelivery() -> None:
    fresh = summary("a", last=ago(minutes=1))
    stale = summary("a", last=ago(minutes=9))
    assert remember_session([fresh], stale) == [fresh]


def test_remember_is_bounded_keeping_the_most_recent() -> None:
    recent: list[SessionSummary] = []
    for i in range(RECENT_SESSIONS_LIMIT + 10):
        recent = remember_session(recent, summary(f"s{i:03d}", last=ago(hours=100 - i)))
    assert len(recent) == RECENT_SESSIONS_LIMIT == 50
    assert recent[0].session_id == "s059"
    assert recent[-1].session_id == "s010"


def test_remember_drops_a_session_older_than_a_full_list() -> None:
    recent = [summary(f"s{i}", last=ago(minutes=i)) for i in range(3)]
    merged = remember_session(recent, summary("old", last=ago(days=1)), limit=3)
    assert ids(merged) == ["s0", "s1", "s2"]


def test_remember_orders_ties_by_session_id_descending() -> None:
    at = ago(minutes=1)
    recent = remember_session([summary("a", last=at)], summary("b", last=at))
    assert ids(recent) == ["b", "a"]


@pytest.mark.parametrize("limit", [1, 2])
def test_remember_custom_limit(limit: int) -> None:
    recent = [summary("a", last=ago(minutes=3))]
    recent = remember_session(recent, summary("b", last=ago(minutes=2)), limit=limit)
    recent = remember_session(recent, summary("c", last=ago(minutes=1)), limit=limit)
    assert ids(recent) == ["c", "b"][:limit]


def test_summary_round_trips_through_json() -> None:
    s = summary("a", has_click_id=True)
    assert SessionSummary.model_validate_json(s.model_dump_json()) == s
