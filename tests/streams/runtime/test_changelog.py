"""Changelogs written by the Faust tables of earlier worker versions are read back by
``ChangelogTable`` as they are, on the partition of the key's source records."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from faust.serializers import codecs

from leadstream.kafka.broker import ensure_topics
from leadstream.settings import Settings
from leadstream.streams.runtime.changelog_table import ChangelogTable

pytestmark = pytest.mark.integration


async def test_a_faust_table_changelog_recovers_into_a_changelog_table(settings: Settings) -> None:
    table = ChangelogTable("fingerprint_sessions", f"{settings.worker_group}-fingerprint_sessions-changelog", settings)
    await ensure_topics(settings, [ChangelogTable.topic(table.changelog, settings)])
    entries = {f"site:fp-{i}": [{"session_id": str(i), "last_seen": "2026-11-24T10:00:00Z"}] for i in range(20)}
    partitions = list(range(settings.topic_partitions))
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, entry in entries.items():  # as Faust wrote them: codec-encoded key and value
            partition = DefaultPartitioner()(key.encode(), partitions, partitions)
            await producer.send_and_wait(
                table.changelog, codecs.dumps("json", entry), key=codecs.dumps("json", key), partition=partition
            )
    finally:
        await producer.stop()

    assert await table.recover(partitions) == len(entries)
    assert {k: table.get(k) for k in table} == entries
    one = next(iter(entries))
    table.forget([DefaultPartitioner()(one.encode(), partitions, partitions)])
    assert table.get(one) is None  # it was filed under its source partition
