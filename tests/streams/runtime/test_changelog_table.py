"""The scorer's and matcher's table: written through the changelog, read back by the member that
owns the partition, from the start or after its local copy."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leadstream.kafka.broker import ensure_topics, partition_for
from leadstream.settings import Settings
from leadstream.streams.runtime.changelog import send_changelog, write_changelog
from leadstream.streams.runtime.changelog_table import TOMBSTONE_RETENTION, ChangelogTable
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.stores import LocalState, Mark


def where(key: str, settings: Settings) -> int:
    return partition_for(key.encode(), list(range(settings.topic_partitions)))


def test_forget_drops_only_the_partitions_taken_away() -> None:
    settings = Settings(topic_partitions=4)
    table = ChangelogTable("t", "t-changelog", settings)
    for p in range(4):
        table.put(f"k{p}", {"p": p}, p)
    assert table.forget([1, 3]) == 2
    assert sorted(table.keys()) == ["k0", "k2"]
    table.delete("k0")
    assert table.keys() == ["k2"]
    assert table.forget() == 1
    assert len(table) == 0


@pytest.mark.integration
async def test_a_new_owner_recovers_the_last_entry_of_each_key_of_its_partitions(settings: Settings) -> None:
    table = ChangelogTable("sessions", f"{settings.worker_group}-t-changelog", settings)
    await ensure_topics(settings, [ChangelogTable.topic(table.changelog, settings)])
    keys = [f"session-{i}" for i in range(40)]
    bulk = BulkProducer(settings)
    try:
        for round_ in range(2):  # each key written twice: the later entry wins
            for key in keys:
                table.put(key, {"round": round_, "key": key}, where(key, settings))
            await write_changelog(table, bulk, keys)
        await send_changelog(table, bulk, [(keys[0], None)])  # a tombstone deletes
    finally:
        await bulk.stop()

    owned = [0]
    recovering = ChangelogTable("sessions", table.changelog, settings)
    recovering.put("stale", {"round": -1}, 0)  # not in the changelog: gone after recovery of partition 0
    held = await recovering.recover(owned)
    expected = {k for k in keys[1:] if where(k, settings) in owned}
    assert 0 < len(expected) < len(keys) - 1
    assert set(recovering.keys()) == expected
    assert held == len(expected)
    assert all(recovering.get(k) == {"round": 1, "key": k} for k in expected)

    await recovering.recover(range(1, settings.topic_partitions))  # the rest, added to what it holds
    assert set(recovering.keys()) == set(keys[1:])
    assert recovering.forget(owned) == len(expected)


async def new_changelog(settings: Settings, name: str) -> str:
    changelog = f"{settings.worker_group}-{name}-changelog"
    await ensure_topics(settings, [ChangelogTable.topic(changelog, settings)])
    return changelog


async def write(table: ChangelogTable, bulk: BulkProducer, entries: dict[str, object], settings: Settings) -> None:
    for key, entry in entries.items():
        if entry is None:
            table.delete(key)
        else:
            table.put(key, entry, where(key, settings))
    await send_changelog(table, bulk, entries.items())


@pytest.mark.integration
async def test_with_a_local_copy_a_restart_reads_only_the_newer_changelog_records(
    settings: Settings, tmp_path: Path
) -> None:
    changelog = await new_changelog(settings, "local")
    partitions = range(settings.topic_partitions)
    keys = [f"session-{i}" for i in range(40)]
    bulk = BulkProducer(settings)
    try:
        table = ChangelogTable("sessions", changelog, settings, LocalState(tmp_path / "s.rocksdb"))
        await table.recover(partitions)
        await write(table, bulk, {k: {"v": 1} for k in keys}, settings)
        table.checkpoint()
        # written to the changelog but not saved locally when the worker dies: the tail
        await write(table, bulk, {keys[0]: {"v": 2}, keys[1]: None}, settings)
        table.close()

        restarted = ChangelogTable("sessions", changelog, settings, LocalState(tmp_path / "s.rocksdb"))
        assert await restarted.recover(partitions) == 39
        assert restarted.records_recovered == 2
        assert restarted.get(keys[0]) == {"v": 2} and restarted.get(keys[1]) is None
        assert all(restarted.get(k) == {"v": 1} for k in keys[2:])
        restarted.close()

        again = ChangelogTable("sessions", changelog, settings, LocalState(tmp_path / "s.rocksdb"))
        assert await again.recover(partitions) == 39
        assert again.records_recovered == 0  # the recovery saved what it read
        again.close()
    finally:
        await bulk.stop()


@pytest.mark.integration
async def test_a_local_copy_older_than_the_tombstone_retention_is_not_trusted(
    settings: Settings, tmp_path: Path
) -> None:
    changelog = await new_changelog(settings, "stale")
    partition = where("ghost", settings)
    kept = [k for k in (f"kept-{i}" for i in range(100)) if where(k, settings) == partition][:2]
    bulk = BulkProducer(settings)
    try:
        table = ChangelogTable("sessions", changelog, settings)
        await table.recover([partition])
        await write(table, bulk, {"ghost": {"v": 0}, kept[0]: {"v": 1}}, settings)
        await write(table, bulk, {"ghost": None, kept[1]: {"v": 1}}, settings)  # its tombstone...
    finally:
        await bulk.stop()
    local = LocalState(tmp_path / "s.rocksdb")
    long_ago = time.time() - TOMBSTONE_RETENTION.total_seconds()
    # ...which a copy saved long ago, at offset 0, never saw: compaction may since have removed it
    local.save([(partition, "ghost", {"v": 0})], {partition: Mark(0, long_ago)})
    local.close()

    restarted = ChangelogTable("sessions", changelog, settings, LocalState(tmp_path / "s.rocksdb"))
    await restarted.recover(range(settings.topic_partitions))
    assert restarted.get("ghost") is None
    assert restarted.records_recovered == 4  # all of it, from the start
    restarted.close()
