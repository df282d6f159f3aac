"""How the call matcher keeps a key's recent sessions from the session updates (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from leadstream.scoring.session_score import SessionState
from leadstream.settings import Settings
from leadstream.streams.matcher import CallMatcher

KEY = b"site:fp"
T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


def update(session: int, last_seen_s: int, events: int = 1) -> bytes:
    state = SessionState(
        site_id="site",
        session_id=f"00000000-0000-0000-0000-{session:012d}",
        fingerprint="fp",
        first_seen=T0,
        last_seen=T0 + timedelta(seconds=last_seen_s),
        counts={"interaction": events},
    )
    return orjson.dumps(state.to_dict())


def stored(matcher: CallMatcher) -> list[tuple[str, int]]:
    entry: list[dict[str, Any]] = matcher.table.get(KEY.decode()) or []
    return [(e["session_id"][-2:], e["counts"]["interaction"]) for e in entry]


def matcher() -> CallMatcher:
    return CallMatcher(Settings())


def test_updates_merge_most_recent_first_and_an_older_redelivery_changes_nothing() -> None:
    m = matcher()
    assert m._remember(KEY, update(1, 10), 0) == "site:fp"
    m._remember(KEY, update(2, 20), 0)
    m._remember(KEY, update(1, 30, events=3), 0)
    assert stored(m) == [("01", 3), ("02", 1)]
    m._remember(KEY, update(1, 15, events=2), 0)  # re-delivered, older than what is held
    assert stored(m) == [("01", 3), ("02", 1)]
    assert [s.event_count for s in m._sessions(KEY.decode())] == [3, 1]


def test_a_key_keeps_its_fifty_most_recent_sessions() -> None:
    m = matcher()
    for n in range(60):
        m._remember(KEY, update(n, n), 0)
    assert [s for s, _ in stored(m)] == [f"{n:02d}" for n in range(59, 9, -1)]


@pytest.mark.parametrize(
    ("key", "value"),
    [(KEY, b"not json"), (KEY, b'{"site_id": "site"}'), (KEY, b"[1]"), (KEY, None), (None, update(1, 1))],
)
def test_updates_that_cannot_be_used_are_refused_for_the_dead_letters(key: bytes | None, value: bytes | None) -> None:
    m = matcher()
    with pytest.raises(ValueError):
        m._remember(key, value, 0)
    assert m.table.get(KEY.decode()) is None


def test_a_last_activity_in_another_form_is_stored_as_it_is_read_back() -> None:
    m = matcher()
    data = orjson.loads(update(1, 10))
    data["last_seen"] = (T0 + timedelta(seconds=10)).timestamp()  # lax JSON: a number
    m._remember(KEY, orjson.dumps(data), 0)
    m._remember(KEY, update(2, 20), 0)  # reads the first one's back
    assert stored(m) == [("02", 1), ("01", 1)]
