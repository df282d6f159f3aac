"""A request-path member fetches only once it has handed out what it fetched (``fetch_when_drained``),
so its fetches may wait long while idle and still no partition's new record waits behind one.

aiokafka's own rule: a partition holding records not yet handed out is left out of the fetches for
0.1 s, then the other partitions are fetched alone, and once it is emptied its next record waits for
that fetch to come back, here 30 s."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from leadstream.kafka.broker import TopicSpec, ensure_topics
from leadstream.settings import Settings
from leadstream.streams.runtime.group import fetch_when_drained, group_consumer

pytestmark = pytest.mark.integration
LONG_FETCH_MS = 30_000


async def third_record_comes(settings: Settings, drained: bool, within_s: float) -> bool:
    """Two records on partition 0, one handed out and one left while the 0.1 s passes, then the other,
    then a third record: does it come within ``within_s``?"""
    topic = f"{settings.topic_prefix}drained-{drained}"
    await ensure_topics(settings, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    consumer = group_consumer(settings, f"{topic}-group", fetch_max_wait_ms=LONG_FETCH_MS)
    await producer.start()
    consumer.subscribe([topic])
    await consumer.start()
    if drained:
        fetch_when_drained(consumer)
    try:
        sent = [await producer.send(topic, value, partition=0) for value in (b"1", b"2")]
        await asyncio.gather(*sent)  # one record batch: fetched together
        first = await consumer.getmany(timeout_ms=20_000, max_records=1)
        assert [r.value for r in first.get(TopicPartition(topic, 0), [])] == [b"1"]
        await asyncio.sleep(0.3)  # record 2 waits past the 0.1 s: aiokafka now fetches partition 1 alone
        second = await consumer.getmany(timeout_ms=20_000)
        assert [r.value for r in second.get(TopicPartition(topic, 0), [])] == [b"2"]
        await producer.send_and_wait(topic, b"3", partition=0)
        third = await consumer.getmany(timeout_ms=int(within_s * 1000))
        return [r.value for r in third.get(TopicPartition(topic, 0), [])] == [b"3"]
    finally:
        await consumer.stop()
        await producer.stop()


async def test_no_record_waits_behind_a_fetch_when_the_member_fetches_once_drained(settings: Settings) -> None:
    assert await third_record_comes(settings, drained=True, within_s=15)


async def test_without_it_the_record_waits_for_the_other_partitions_fetch(settings: Settings) -> None:
    assert not await third_record_comes(settings, drained=False, within_s=3)  # held by a 30 s fetch
