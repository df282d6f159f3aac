"""Reading a test topic back from the real broker."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from leadstream.settings import Settings


async def read_all(settings: Settings, topic: str, n: int) -> list[tuple[int, bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[tuple[int, bytes, bytes]] = []
    try:
        while len(out) < n:
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
            out += [(r.partition, r.key, r.value) for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()
    return out
