"""Table changelog records written in bulk are what Faust's recovery reads back, where it reads
(the call matcher's table is a Faust table)."""

from __future__ import annotations

import faust
import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.serializers import codecs

from leadstream.broker import TopicSpec, ensure_topics
from leadstream.settings import Settings
from leadstream.streams.bulk import BulkProducer
from leadstream.streams.tables import FaustTableState, keyed_table, write_changelog
from tests.kafka_records import read_all

pytestmark = pytest.mark.integration


async def test_changelog_records_decode_as_recovery_decodes_them_on_the_source_partition(
    settings: Settings,
) -> None:
    app = faust.App(settings.worker_group, broker=f"kafka://{settings.kafka_bootstrap}", autodiscover=False)
    table = keyed_table(app, "sessions", settings)
    entries = {f"session-{i}": {"offset": i, "marks": {}} for i in range(20)}
    for key, entry in entries.items():
        table.data[key] = entry
    changelog = table.changelog_topic
    await ensure_topics(settings, [TopicSpec(changelog.get_topic_name(), settings.topic_partitions)])  # as Faust does
    bulk = BulkProducer(settings)
    try:
        await write_changelog(FaustTableState(table), bulk, entries)
    finally:
        await bulk.stop()
    records = await read_all(settings, changelog.get_topic_name(), len(entries))
    partitions = list(range(settings.topic_partitions))
    recovered = {}
    for partition, key, value in records:
        name = codecs.loads(changelog.key_serializer, key)  # as the recovery's changelog reader does
        recovered[name] = codecs.loads(changelog.value_serializer, value)
        assert partition == DefaultPartitioner()(name.encode(), partitions, partitions)  # the raw key's
    assert recovered == entries
