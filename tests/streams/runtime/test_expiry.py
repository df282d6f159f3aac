"""Idle table entries leave the store and the changelog; an entry written again meanwhile stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faust.serializers import codecs

from leadstream.kafka.broker import ensure_topics, partition_for
from leadstream.settings import Settings
from leadstream.streams.matcher import latest_seen
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.expiry import TableExpiry
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.sessions import session_last_seen
from tests.kafka_records import read_all

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TTL = timedelta(days=7)


def entry(days: float) -> dict[str, Any]:
    return {"state": {"last_seen": (T0 + timedelta(days=days)).isoformat()}, "offset": 1, "marks": {}}


class RewriteDuringSend(BulkProducer):
    """Writes ``key`` again in the store while the first send (the tombstones) is in flight."""

    def __init__(self, settings: Settings, table: ChangelogTable, key: str, value: object) -> None:
        super().__init__(settings)
        self._rewrite: tuple[ChangelogTable, str, object] | None = (table, key, value)

    async def send(self, topic: str, records: Any) -> dict[int, int]:
        if self._rewrite is not None:
            table, key, value = self._rewrite
            self._rewrite = None
            table.put(key, value, partition_of(key, self._settings))
        return await super().send(topic, records)


def partition_of(key: str, settings: Settings) -> int:
    return partition_for(key.encode(), list(range(settings.topic_partitions)))


async def sweep(
    settings: Settings, entries: dict[str, Any], rewrite: tuple[str, object] | None = None
) -> tuple[ChangelogTable, int]:
    table = ChangelogTable("sessions", settings.topics.sessions_changelog, settings)
    for key, value in entries.items():
        table.put(key, value, partition_of(key, settings))
    await ensure_topics(settings, [ChangelogTable.topic(table.changelog, settings)])
    bulk = RewriteDuringSend(settings, table, *rewrite) if rewrite else BulkProducer(settings)
    try:
        dropped = await TableExpiry(table, bulk, session_last_seen, TTL, interval_s=60).sweep()
    finally:
        await bulk.stop()
    return table, dropped


@pytest.mark.integration
async def test_entries_idle_past_the_ttl_of_the_newest_activity_are_dropped_and_tombstoned(settings: Settings) -> None:
    entries = {"old": entry(0), "edge": entry(3), "new": entry(10), "no-state": {"state": None, "offset": 2}}
    table, dropped = await sweep(settings, entries)
    assert dropped == 2
    assert set(table.keys()) == {"edge", "new"}  # 7 days before the newest (day 10) is day 3
    records = await read_all(settings, table.changelog, 2)
    tombstones = sorted((codecs.loads("json", key), value) for _, key, value in records)
    assert tombstones == [("no-state", None), ("old", None)]


@pytest.mark.integration
async def test_tombstones_delete_the_key_when_a_worker_recovers_the_changelog(settings: Settings) -> None:
    table, _ = await sweep(settings, {"old": entry(0), "new": entry(10)})
    await read_all(settings, table.changelog, 1)  # the tombstone is there
    recovering = ChangelogTable("sessions", table.changelog, settings)
    recovering.put("old", entry(0), partition_of("old", settings))  # what the changelog held before the tombstone
    await recovering.recover(range(settings.topic_partitions))
    assert recovering.get("old") is None


@pytest.mark.integration
async def test_an_entry_written_again_during_the_sweep_stays_and_ends_the_changelog(settings: Settings) -> None:
    fresh = entry(11)
    table, dropped = await sweep(settings, {"old": entry(0), "new": entry(10)}, rewrite=("old", fresh))
    assert dropped == 0
    assert table.get("old") == fresh
    records = await read_all(settings, table.changelog, 2)
    assert [value for _, key, value in records if codecs.loads("json", key) == "old"][-1] is not None


@pytest.mark.integration
async def test_an_empty_table_or_one_without_activity_is_left_alone(settings: Settings) -> None:
    assert (await sweep(settings, {}))[1] == 0
    assert (await sweep(settings, {"no-state": {"state": None}}))[1] == 0


def test_last_activity_of_a_session_entry_and_of_a_fingerprints_sessions() -> None:
    assert session_last_seen(entry(2)) == T0 + timedelta(days=2)
    assert session_last_seen({"state": None}) is None
    sessions = [{"last_seen": "2026-11-01T00:00:00Z"}, {"last_seen": "2026-11-05T12:00:00+00:00"}]
    assert latest_seen(sessions) == datetime(2026, 11, 5, 12, tzinfo=UTC)
    assert latest_seen([]) is None
