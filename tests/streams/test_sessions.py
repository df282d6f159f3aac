"""The scorer's per-session step (exactly-once under re-delivery, 5 s duplicate suppression) and
the scorer as a processor: a batch in, rows, updates, changelog entries and dead letters out."""

import uuid
from datetime import UTC, date, datetime, timedelta

from aiokafka.structs import ConsumerRecord

from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.streams.row_topics import RowReader
from leadstream.streams.sessions import SESSION_COLUMNS, DecodedSessions, SessionScorer, Working, session_row

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SID = uuid.uuid4()


def record(seconds: float, action: str = "view", url: str = "https://x.example/") -> EventRecord:
    return EventRecord(
        event_id=uuid.uuid4(),
        received_at=T0 + timedelta(seconds=seconds),
        site_id="s",
        session_id=SID,
        session_month=date(2026, 11, 1),
        url=url,
        category="interaction",
        action=action,
        score=10,
        fingerprint="fp",
    )


def test_redelivered_offsets_are_not_applied_twice() -> None:
    w = Working()
    w.apply(record(0), offset=10)
    w.apply(record(10, url="https://x.example/2"), offset=11)
    again = Working.load(w.dump())
    again.apply(record(10, url="https://x.example/2"), offset=11)  # re-delivered after a crash
    assert again.state is not None and again.state.event_count == 2
    assert again.changed  # re-emitted: its row may not have reached the warehouse before the crash


def test_same_event_within_5s_counts_once_and_after_5s_again() -> None:
    w = Working()
    w.apply(record(0), offset=1)
    w.apply(record(4), offset=2)
    assert w.state is not None and w.state.event_count == 1
    w.apply(record(10), offset=3)
    assert w.state.event_count == 2


def test_round_trip_and_row() -> None:
    w = Working()
    w.apply(record(0, action="click"), offset=5)
    loaded = Working.load(w.dump())
    assert loaded.state == w.state and loaded.offset == 5 and loaded.marks == w.marks
    row = session_row(loaded.state, 5)  # type: ignore[arg-type]
    assert row[0] == "s" and row[-1] == 5


def test_marks_past_the_window_are_dropped_when_the_entry_is_saved() -> None:
    w = Working()
    w.apply(record(0, url="https://x.example/old"), offset=1)
    w.apply(record(5.5, url="https://x.example/edge"), offset=2)
    w.apply(record(7, url="https://x.example/new"), offset=3)
    kept = Working.load(w.dump()).marks
    assert len(kept) == 2  # the mark at 0 s is 7 s behind the newest: past the window and its 1 s slack
    again = Working.load(w.dump())
    again.apply(record(9, url="https://x.example/edge"), offset=4)  # 3.5 s after its mark: still a duplicate
    again.apply(record(9, url="https://x.example/old"), offset=5)  # its mark is gone, and 9 s is past it anyway
    assert again.state is not None and again.state.event_count == 4


def write_one(decoded: DecodedSessions, table: dict, key: str) -> Working:
    """A batch that applies one event to ``key`` and writes the entry, as the scorer does."""
    working = decoded.take(key, table.get(key))
    working.apply(record(0), offset=1)
    entry = table[key] = working.dump()
    decoded.written(key, entry, working)
    return working


def test_a_session_written_last_batch_is_not_decoded_again() -> None:
    decoded, table = DecodedSessions(size=10), {}
    w = write_one(decoded, table, "a")
    again = decoded.take("a", table["a"])
    assert again is w and not again.changed


def test_a_replaced_table_entry_is_decoded_from_the_table() -> None:
    decoded, table = DecodedSessions(size=10), {}
    w = write_one(decoded, table, "a")
    other = Working()
    other.apply(record(0), offset=7)
    table["a"] = other.dump()  # what changelog recovery does after a rebalance
    fresh = decoded.take("a", table["a"])
    assert fresh is not w and fresh.offset == 7


def test_a_batch_that_failed_midway_leaves_no_half_applied_session() -> None:
    decoded, table = DecodedSessions(size=10), {}
    write_one(decoded, table, "a")
    failed = decoded.take("a", table["a"])
    failed.apply(record(10, url="https://x.example/2"), offset=2)  # then the batch's writes fail
    retried = decoded.take("a", table["a"])
    assert retried is not failed and retried.offset == 1
    retried.apply(record(10, url="https://x.example/2"), offset=2)  # re-delivered: applied once
    assert retried.state is not None and retried.state.event_count == 2


def test_only_the_most_recent_sessions_stay_decoded() -> None:
    decoded, table = DecodedSessions(size=2), {}
    kept = {key: write_one(decoded, table, key) for key in "abc"}
    assert decoded.take("a", table["a"]) is not kept["a"]  # the oldest was evicted
    assert decoded.take("c", table["c"]) is kept["c"]


def resend_of(original: EventRecord, seconds: float) -> EventRecord:
    return original.model_copy(update={"received_at": T0 + timedelta(seconds=seconds), "resent": True})


def test_an_event_the_tracker_sends_again_counts_once_however_late() -> None:
    first = record(0).model_copy(update={"client_event_id": uuid.uuid4()})
    w = Working()
    w.apply(first, offset=1)
    w.apply(record(60, url="https://x.example/2"), offset=2)
    w = Working.load(w.dump())  # the ids survive the changelog
    w.apply(resend_of(first, 3600), offset=3)  # an hour later, past the 5 s window
    assert w.state is not None and w.state.event_count == 2 and w.offset == 3


def test_a_session_remembers_its_latest_tracker_ids_only() -> None:
    w = Working()
    firsts = [
        record(i, url=f"https://x.example/{i}").model_copy(update={"client_event_id": uuid.uuid4()}) for i in range(300)
    ]
    for offset, event in enumerate(firsts):
        w.apply(event, offset=offset)
    entry = w.dump()
    assert len(entry["eids"]) == 256
    again = Working.load(entry)
    again.apply(resend_of(firsts[-1], 400), offset=1000)
    assert again.state is not None and again.state.event_count == 300  # the newest are known


# --- the processor: a batch in, an outcome out (no Kafka) --------------------------------------


def consumed(value: bytes, offset: int, partition: int = 0) -> ConsumerRecord:
    return ConsumerRecord("events", partition, offset, 0, 0, None, value, None, 0, len(value), [])


async def test_a_batch_becomes_rows_updates_and_changelog_entries_and_its_redelivery_changes_nothing() -> None:
    settings = Settings()
    scorer = SessionScorer(settings)
    batch = [consumed(record(s).model_dump_json().encode(), offset=s) for s in (0, 10, 20)]
    outcome = await scorer.process(batch)
    [(route, key, value)] = outcome.outputs[settings.topics.session_rows]
    row = RowReader(SESSION_COLUMNS, ("first_seen", "last_seen"))(consumed(value, 0))
    assert route == key == str(SID).encode()
    assert row[SESSION_COLUMNS.index("events")] == 3 and row[-1] == 20  # version: the last offset applied
    [(update_key, _, _)] = outcome.outputs[settings.topics.session_updates]
    assert update_key == b"s:fp"
    assert list(outcome.changed) == [str(SID)] and scorer.table.get(str(SID))["offset"] == 20
    assert outcome.dead == [] and outcome.offsets is None  # past every record

    again = await scorer.process(batch)  # re-delivered after a crash: the same row again, nothing counted
    [(_, _, value_again)] = again.outputs[settings.topics.session_rows]
    assert value_again == value


async def test_a_record_that_is_not_an_event_is_dead_lettered_with_its_reason() -> None:
    scorer = SessionScorer(Settings())
    poison = consumed(b'{"not": "an event"}', offset=3)
    outcome = await scorer.process([poison, consumed(record(0).model_dump_json().encode(), offset=4)])
    [(dead, reason)] = outcome.dead
    assert dead is poison and reason.startswith("invalid")
    assert len(outcome.outputs[Settings().topics.session_rows]) == 1  # the stream goes on
