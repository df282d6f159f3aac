"""How the call matcher keeps a key's recent sessions from the session updates, and what it makes
of a batch (no I/O)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from leadstream.schemas.calls import CallRecord
from leadstream.scoring.session_score import SessionState
from leadstream.settings import Settings
from leadstream.streams.matcher import CALL_COLUMNS, CallMatcher
from leadstream.streams.row_topics import RowReader

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


# --- the processor: a batch in, an outcome out (no Kafka) --------------------------------------


def consumed(topic: str, key: bytes, value: bytes, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), [])


def a_call(n: int) -> CallRecord:
    return CallRecord(
        call_id=uuid.UUID(int=n),
        site_id="site",
        fingerprint="fp",
        phone_number="+905551112233",
        phone_raw="0555 111 22 33",
        action="phone",
        received_at=T0 + timedelta(seconds=30),
    )


async def test_a_call_meeting_its_session_becomes_a_row_and_a_reply_once_durable() -> None:
    settings = Settings()
    m = CallMatcher(settings)
    t = settings.topics
    outcome = await m.process(
        [
            consumed(t.session_updates, KEY, update(1, 20), 0),
            consumed(t.calls, KEY, a_call(1).model_dump_json().encode(), 0),
        ]
    )
    [(route, _, value)] = outcome.outputs[t.call_rows]
    row = RowReader(CALL_COLUMNS, ("received_at",))(consumed(t.call_rows, route, value, 0))
    assert row[CALL_COLUMNS.index("status")] == "matched" and row[-1] == 2
    assert outcome.changed == {"site:fp"} and len(outcome.then) == 1  # the reply, after the row is durable
    assert {(tp.topic, o) for tp, o in outcome.offsets.items()} == {(t.session_updates, 1), (t.calls, 1)}


async def test_a_call_waiting_for_its_session_holds_its_partition_back() -> None:
    settings = Settings().model_copy(update={"match_grace_s": 600})
    m = CallMatcher(settings)
    t = settings.topics
    outcome = await m.process([consumed(t.calls, KEY, a_call(2).model_dump_json().encode(), 5)])
    assert t.call_rows not in outcome.outputs and outcome.then == []
    assert {(tp.topic, o) for tp, o in outcome.offsets.items()} == {(t.calls, 5)}  # not past the waiting call
    later = await m.process([consumed(t.session_updates, KEY, update(1, 20), 0)])
    assert len(later.outputs[t.call_rows]) == 1
    assert {(tp.topic, o) for tp, o in later.offsets.items()} == {(t.calls, 6), (t.session_updates, 1)}
