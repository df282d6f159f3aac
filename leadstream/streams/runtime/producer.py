"""Keyed records to Kafka one record batch per partition, for writes that are batched already.

Faust produces table changelog records and ``Topic.send`` one message at a time through its
producer buffer, which drains one record per loop turn (~0.4 ms a record on this machine):
with a changelog record per touched session that bound the session scorer at ~2,000
sessions/s. The scorer writes a whole Kafka batch's sessions at once, so they go here as
aiokafka record batches instead: appended in C, one produce request per partition.

Each record goes to the partition Kafka's default partitioner picks for its routing key: the
record's key itself, or (for a table's changelog, whose keys are JSON-encoded) the raw key its
source topic is partitioned by, so a key's state is on the partition its records arrive on.
Order per partition is the order given (one idempotent producer, batches queued in order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import ConsumerRecord
from tenacity import AsyncRetrying, before_sleep_log, retry_if_exception_type, wait_exponential_jitter

from leadstream.kafka.broker import new_producer, partition_for
from leadstream.settings import Settings
from leadstream.streams.runtime.dead_letters import dead_letter_headers

log = logging.getLogger(__name__)

OutRecord = tuple[bytes, bytes | None, bytes | None]  # routing key, key, value
Headers = Sequence[tuple[str, bytes]]


class BulkProducer:
    """A durable (``acks=all``, idempotent) producer, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._partitions: dict[str, list[int]] = {}

    async def _started(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = new_producer(self._settings, linger_ms=0)
                await producer.start()
                self._producer = producer
        return self._producer

    async def send(
        self, topic: str, records: Iterable[OutRecord], headers: Sequence[Headers] | None = None
    ) -> dict[int, int]:
        """Send (routing key, key, value) records and wait until Kafka has acknowledged them all, retrying
        while it cannot (the caller's offsets must not commit before these records are written).

        Returns the offset of the last record written to each partition.
        """
        records = list(records)
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(KafkaError),
            wait=wait_exponential_jitter(initial=0.2, max=5.0),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        ):
            with attempt:
                return await self._send(topic, records, headers)
        raise AssertionError("unreachable: tenacity retries until success")

    async def dead_letter(self, topic: str, stage: str, dead: Sequence[tuple[ConsumerRecord, str]]) -> None:
        """(record, reason) pairs to the dead-letter topic, as they came, with why and where from."""
        records = [(r.key or b"", r.key, r.value) for r, _ in dead]
        headers = [dead_letter_headers(stage, why, r.topic, r.partition, r.offset) for r, why in dead]
        await self.send(topic, records, headers)

    async def _send(self, topic: str, records: list[OutRecord], headers: Sequence[Headers] | None) -> dict[int, int]:
        producer = await self._started()
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(await producer.partitions_for(topic))
        chains: dict[int, list[BatchBuilder]] = {}  # per partition, the batches in order
        for i, (route, key, value) in enumerate(records):
            partition = partition_for(route, partitions)
            chain = chains.get(partition)
            if chain is None:
                chain = chains[partition] = [producer.create_batch()]
            extra = headers[i] if headers is not None else []
            if chain[-1].append(key=key, value=value, timestamp=None, headers=extra) is None:  # full: the next
                chain.append(producer.create_batch())
                if chain[-1].append(key=key, value=value, timestamp=None, headers=extra) is None:
                    raise ValueError(f"a record of {len(value or b'')} bytes exceeds the producer's batch size")
        pending = []
        last: dict[int, tuple[asyncio.Future, int]] = {}  # partition -> its last batch's ack, record count
        for partition, chain in chains.items():
            for builder in chain:
                pending.append(await producer.send_batch(builder, topic, partition=partition))
            last[partition] = (pending[-1], chain[-1].record_count())
        await asyncio.gather(*pending)
        return {p: ack.result().offset + count - 1 for p, (ack, count) in last.items()}

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
