"""Topic -> ClickHouse table, a Kafka batch at a time, exactly once.

For stateless bulk copies (raw events, dead letters) the Faust stream machinery costs far
more per record than the copy itself, so these sinks use a plain consumer group:

1. poll until ``sink_batch_rows`` records or ``sink_flush_s`` have gathered;
2. drop records at or below the partition's high-water mark: the highest offset the table
   already holds for that partition (read from the table when the partition is assigned,
   kept up to date after each insert), so re-delivery after a crash or rebalance inserts
   nothing twice, and materialised views on the table count each record once;
3. leave out the rows the spec says must not go in (``leave_out``: a tracker's re-sent events
   stored already, a forgotten visitor's records);
4. insert the rest as one block (dedup token = topic/partition/offset ranges, so a retried
   insert whose first attempt landed is dropped by ClickHouse);
5. records that cannot be converted go to the dead-letter topic with the reason and their
   source offset before anything is committed;
6. commit the offsets.

While the warehouse is down the insert retries with backoff and nothing is polled or
committed: the sink pauses and catches up when ClickHouse is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from tenacity import AsyncRetrying, before_sleep_log, wait_exponential_jitter

from leadstream.kafka.broker import new_producer
from leadstream.observability.health import LOOPS
from leadstream.observability.logs import GROUP
from leadstream.observability.worker import BatchMetrics
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import dedup_token
from leadstream.streams.runtime.dead_letters import dead_letter
from leadstream.streams.runtime.group import FlushWindow, group_consumer, next_offsets, poll_batch, supervise
from leadstream.streams.runtime.warehouse_writes import WarehouseSink

log = logging.getLogger(__name__)


class Poison(Exception):
    """A record that can never be stored; ``reason`` goes with it to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Convert = Callable[[ConsumerRecord], list[object]]
# (records, their rows) -> positions of the rows that are not to be inserted.
LeaveOut = Callable[[Warehouse, list[ConsumerRecord], list[list[object]]], Awaitable[set[int]]]
T = TypeVar("T")


@dataclass(frozen=True)
class TableSinkSpec:
    name: str  # stage name, also in dead-letter headers
    topic: str
    table: str
    columns: Sequence[str]  # must end with kafka_partition, kafka_offset
    convert: Convert  # record -> row (without the two offset columns); raises Poison
    leave_out: LeaveOut | None = None


class TableSink:
    def __init__(self, spec: TableSinkSpec, settings: Settings, warehouse: Warehouse, sink: WarehouseSink) -> None:
        self.spec = spec
        self._settings = settings
        self._warehouse = warehouse
        self._sink = sink
        self._marks: dict[int, int] = {}  # partition -> highest offset the table holds
        self.stored = 0
        self.dead = 0
        self.health = LOOPS.loop(self.loop_name)
        self._metrics = BatchMetrics(f"{spec.name} sink")
        self.window = FlushWindow(settings.sink_flush_s)

    @property
    def loop_name(self) -> str:
        return f"{self.spec.name} sink"

    async def run(self) -> None:
        """Consume for as long as the worker runs; a lost broker or a failed step restarts it."""
        await supervise(self.loop_name, self._consume)

    async def _consume(self) -> None:
        s = self._settings
        group = f"{s.worker_group}-{self.spec.name}"
        GROUP.set(group)
        consumer = group_consumer(s, group)
        consumer.subscribe([self.spec.topic], listener=_Marks(self))
        dlq = new_producer(s)
        await consumer.start()
        await dlq.start()
        try:
            while True:
                await self._one_batch(consumer, dlq)
        finally:
            await dlq.stop()
            await consumer.stop()

    async def load_marks(self, partitions: list[int]) -> None:
        sql = (
            f"SELECT kafka_partition, max(kafka_offset) FROM {self.spec.table} "
            f"WHERE kafka_partition IN ({','.join(map(str, partitions)) or '0'}) GROUP BY kafka_partition"
        )
        rows = await retrying(lambda: self._warehouse.call(lambda c: c.query(sql).result_rows))
        self._marks.update({int(p): int(o) for p, o in rows})

    async def _one_batch(self, consumer: AIOKafkaConsumer, dlq: AIOKafkaProducer) -> None:
        records = await poll_batch(consumer, self._settings.sink_batch_rows, self.window.seconds, self.window.ceiling_s)
        self.health.polled()
        if not records:
            self.health.turned()
            return
        started = time.monotonic()
        rows, sources, spans, dead = [], [], {}, []
        for record in records:
            if record.offset <= self._marks.get(record.partition, -1):
                continue  # stored before a crash or rebalance
            lo, hi = spans.get(record.partition, (record.offset, record.offset))
            spans[record.partition] = (min(lo, record.offset), max(hi, record.offset))
            try:
                rows.append([*self.spec.convert(record), record.partition, record.offset])
                sources.append(record)
            except Poison as exc:
                dead.append((record, exc.reason))
        if rows and (check := self.spec.leave_out) is not None:
            left_out = await retrying(lambda: check(self._warehouse, sources, rows))
            rows = [row for i, row in enumerate(rows) if i not in left_out]
        if dead:
            await self._dead_letter(dlq, dead)
        if rows:
            await self._sink.write(self.spec.table, self.spec.columns, rows, dedup_token(self.spec.topic, spans))
        for partition, (_, hi) in spans.items():
            self._marks[partition] = max(self._marks.get(partition, -1), hi)
        self.stored += len(rows)
        await consumer.commit(next_offsets(records))
        self.window.took(time.monotonic() - started)
        self.health.committed()
        self._metrics.done(records)

    async def _dead_letter(self, dlq: AIOKafkaProducer, dead: list[tuple[ConsumerRecord, str]]) -> None:
        await dead_letter(dlq, self._settings.topics.dead_letters, self.spec.name, dead)
        self.dead += len(dead)


class _Marks(ConsumerRebalanceListener):
    """Reads the high-water marks of newly assigned partitions before their first batch."""

    def __init__(self, sink: TableSink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self._sink._marks.pop(tp.partition, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._sink.load_marks([tp.partition for tp in assigned])


async def retrying(fn: Callable[[], Awaitable[T]]) -> T:
    """``fn()`` until it succeeds, backing off while the warehouse refuses."""
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(initial=0.2, max=30),
        reraise=True,
        before_sleep=before_sleep_log(log, logging.WARNING),
    ):
        with attempt:
            return await fn()
    raise AssertionError("unreachable")
