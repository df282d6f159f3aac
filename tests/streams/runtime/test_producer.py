"""The bulk producer on the real broker: where records land, in what order, at which offsets."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner

from leadstream.settings import Settings
from leadstream.streams.runtime.producer import BulkProducer
from tests.kafka_records import read_all

pytestmark = pytest.mark.integration


async def test_records_land_where_the_default_partitioner_puts_them_in_order_with_their_offsets(
    settings: Settings,
) -> None:
    topic = settings.topics.session_updates
    bulk = BulkProducer(settings)
    big = b"v" * 4000  # ~16 KB batches: a partition's records span several record batches
    try:
        keys = [f"k{i % 5}".encode() for i in range(100)]
        first = await bulk.send(topic, [(k, k, b"%05d" % i + big) for i, k in enumerate(keys)])
        second = await bulk.send(topic, [(b"k0", b"k0", b"last")])
    finally:
        await bulk.stop()
    records = await read_all(settings, topic, 101)
    partitions = sorted({p for p, _, _ in records} | set(first))
    for p, key, _ in records:
        assert p == DefaultPartitioner()(key, partitions, partitions)
    for k in range(5):
        values = [v[:5] for _, key, v in records if key == f"k{k}".encode()]
        assert values[:20] == [b"%05d" % i for i in range(k, 100, 5)]
    per_partition = {p: sum(1 for q, _, _ in records if q == p) for p in partitions}
    assert first == {p: per_partition[p] - 1 - (p in second) for p in first}  # the last offset of each
    [(p0, offset)] = second.items()
    assert offset == per_partition[p0] - 1
