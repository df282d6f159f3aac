"""The edge's group-commit publisher on the real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.partitioner import DefaultPartitioner

from leadstream.kafka.broker import BrokerUnavailable
from leadstream.kafka.publisher import Publisher
from leadstream.settings import Settings
from tests.kafka_records import read_all

pytestmark = pytest.mark.integration


async def test_concurrent_requests_all_acked_in_key_order_on_the_keys_partition(settings: Settings) -> None:
    publisher = Publisher(settings)
    await publisher.start()
    topic = settings.topics.events
    try:
        keys = [f"session-{i}".encode() for i in range(7)]

        async def request(i: int) -> None:
            await publisher.publish(topic, [(keys[i % 7], f"{i:05d}".encode()), (keys[(i + 1) % 7], b"x")])

        await asyncio.gather(*(request(i) for i in range(300)))
        for i in range(50):  # sequential requests for one key keep their order
            await publisher.publish(topic, [(b"ordered", f"{i:05d}".encode())])
    finally:
        await publisher.stop()
    records = await read_all(settings, topic, 650)
    assert len(records) == 650
    partitions = sorted({p for p, _, _ in records})
    for p, key, _ in records:  # the default partitioner's choice, as any Kafka client would make it
        assert p == DefaultPartitioner()(key, partitions, partitions)
    ordered = [v for _, k, v in records if k == b"ordered"]
    assert ordered == [f"{i:05d}".encode() for i in range(50)]


async def test_unreachable_broker_raises_within_the_deadline(settings: Settings) -> None:
    publisher = Publisher(settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1", "produce_timeout_s": 0.3}))
    await publisher.start()
    try:
        with pytest.raises(BrokerUnavailable):
            await publisher.publish(settings.topics.events, [(b"k", b"v")])
    finally:
        await publisher.stop()
