"""A group that has never read a partition starts where the worker's previous group left it."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from leadstream.kafka.broker import TopicSpec, ensure_topics
from leadstream.settings import Settings
from leadstream.streams.runtime.group import PartitionOwner, group_consumer

pytestmark = pytest.mark.integration


async def commit(settings: Settings, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def first_offsets(settings: Settings, group: str, topic: str, previous: str) -> dict[int, int]:
    consumer = group_consumer(settings, group)
    gained: set[int] = set()

    async def gain(partitions: set[int]) -> None:
        gained.update(partitions)

    async def lose(partitions: set[int]) -> None:
        gained.difference_update(partitions)

    consumer.subscribe([topic], listener=PartitionOwner(consumer, settings, gain, lose, previous_group=previous))
    await consumer.start()
    try:
        firsts: dict[int, int] = {}
        while len(firsts) < 2:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                firsts.setdefault(tp.partition, records[0].offset)
        assert gained == {0, 1}
        return firsts
    finally:
        await consumer.stop()


async def test_a_new_group_resumes_where_the_previous_group_left_and_then_from_its_own_commits(
    settings: Settings,
) -> None:
    topic = f"{settings.topic_prefix}adopted"
    await ensure_topics(settings, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(10):
            for partition in (0, 1):
                await producer.send(topic, str(n).encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
    previous, group = f"{settings.worker_group}-faust", f"{settings.worker_group}-new"
    p0, p1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    await commit(settings, previous, {p0: 6})  # partition 1: never read by the previous group

    assert await first_offsets(settings, group, topic, previous) == {0: 6, 1: 0}
    await commit(settings, group, {p0: 8, p1: 3})
    assert await first_offsets(settings, group, topic, previous) == {0: 8, 1: 3}  # its own commits win
