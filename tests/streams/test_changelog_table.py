"""The scorer's table: written through the changelog, read back by the member that owns the partition."""

from __future__ import annotations

import pytest

from leadstream.broker import ensure_topics, partition_for
from leadstream.settings import Settings
from leadstream.streams.bulk import BulkProducer
from leadstream.streams.changelog_table import ChangelogTable
from leadstream.streams.tables import send_changelog, write_changelog


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
