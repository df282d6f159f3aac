"""Topic -> ClickHouse table, a Kafka batch at a time, exactly once.

The warehouse writer's loop, one per table (events, dead letters, sites, the sales-OS tables,
and the rows the scorer and matcher publish):

1. poll until ``sink_batch_rows`` records or the flush window have gathered;
2. drop records at or below the partition's high-water mark: the highest offset the table
   already holds for that partition (read from the table before the partition's first batch,
   kept up to date after each insert), so re-delivery after a crash or rebalance inserts
   nothing twice, and materialised views on the table count each record once. Tables of
   versioned rows (``offsets=False``: sessions, calls) need no mark: a row stored again
   replaces itself;
3. leave out the rows the spec says must not go in (``leave_out``: a tracker's re-sent events
   stored already, a forgotten visitor's records);
4. insert the rest as one block (dedup token = topic/partition/offset ranges, so a retried
   insert whose first attempt landed is dropped by ClickHouse);
5. records that cannot be converted go to the dead-letter topic with the reason and their
   source offset before anything is committed;
6. commit the offsets.

Backpressure: while the warehouse refuses, the sink pauses its partitions and keeps polling
(so it stays in its group, within the poll interval, and heartbeats), retrying with backoff;
it resumes when the warehouse is back. A batch whose partitions are taken away meanwhile is
given up uncommitted: their new owner stores it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from leadstream.observability import metrics as m
from leadstream.observability.health import LOOPS
from leadstream.observability.logs import GROUP
from leadstream.observability.worker import BatchMetrics
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import dedup_token
from leadstream.streams.runtime.group import FlushWindow, group_consumer, next_offsets, poll_batch, supervise
from leadstream.streams.runtime.producer import BulkProducer

log = logging.getLogger(__name__)


class Poison(Exception):
    """A record that can never be stored; ``reason`` goes with it to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Revoked(Exception):
    """Partitions of the batch in hand were taken away while the warehouse refused it."""


Convert = Callable[[ConsumerRecord], list[object]]
# (records, their rows) -> positions of the rows that are not to be inserted.
LeaveOut = Callable[[Warehouse, list[ConsumerRecord], list[list[object]]], Awaitable[set[int]]]
T = TypeVar("T")
MAX_BACKOFF_S = 30.0
FIXED_WINDOW_FETCH_BYTES = 1 << 20


@dataclass(frozen=True)
class TableSinkSpec:
    name: str  # stage name, also in dead-letter headers
    topic: str
    table: str
    columns: Sequence[str]  # ends with kafka_partition, kafka_offset when ``offsets``
    convert: Convert  # record -> row (without the two offset columns); raises Poison
    leave_out: LeaveOut | None = None
    offsets: bool = True  # the table keeps each row's partition and offset (the high-water marks)
    json_rows: bool = False  # rows hold JSON values, dates and date-times only: inserted as JSON
    # A fixed gathering window for a table nobody waits on: a chDB insert costs ~10 ms of CPU whatever
    # its size, so the 100 ms floor of LEADSTREAM_SINK_FLUSH_S's window cost a busy table a tenth of a
    # core. None: the window follows what the last batch took.
    flush_s: float | None = None


def idle_fetch_wait_ms(settings: Settings) -> int:
    """How long a sink's fetch waits for records: as long as a batch may gather (``LEADSTREAM_SINK_FLUSH_S``,
    at most 1 s), not the stage chain's 25 ms. New records end the wait at once either way, and a
    dozen idle sinks fetching 40 times a second each cost the worker and the broker for nothing."""
    return max(settings.worker_fetch_max_wait_ms, min(1000, int(settings.sink_flush_s * 1000)))


def fetch_options(spec: TableSinkSpec, settings: Settings) -> dict[str, int]:
    """The sink's consumer's fetch settings. A sink with a fixed window asks the broker to hold each
    fetch until a MiB has gathered or the window has passed: a consumer fetches again as soon as it
    has handed out what it fetched, so gathering a window in polls made a fetch for every few records,
    each a round trip with its share of both processes' CPU."""
    if spec.flush_s is None:
        return {"fetch_max_wait_ms": idle_fetch_wait_ms(settings)}
    return {"fetch_max_wait_ms": int(min(spec.flush_s, 1.0) * 1000), "fetch_min_bytes": FIXED_WINDOW_FETCH_BYTES}


class TableSink:
    def __init__(self, spec: TableSinkSpec, settings: Settings, warehouse: Warehouse, producer: BulkProducer) -> None:
        self.spec = spec
        self._settings = settings
        self._warehouse = warehouse
        self._producer = producer
        self._marks: dict[int, int] = {}  # partition -> highest offset the table holds
        self._owned: set[int] = set()
        self.stored = 0
        self.dead = 0
        self.health = LOOPS.loop(self.loop_name)
        self._metrics = BatchMetrics(f"{spec.name} sink")
        self._paused = m.WAREHOUSE_PAUSED.labels(spec.table)
        fixed = spec.flush_s
        self.window = FlushWindow(settings.sink_flush_s) if fixed is None else FlushWindow(fixed, floor_s=fixed)

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
        consumer = group_consumer(s, group, **fetch_options(self.spec, s))
        consumer.subscribe([self.spec.topic], listener=_Ownership(self))
        self._marks.clear()
        self._owned.clear()
        await consumer.start()
        try:
            while True:
                await self._one_batch(consumer)
        finally:
            await consumer.stop()

    async def _load_marks(self, partitions: set[int]) -> None:
        sql = (
            f"SELECT kafka_partition, max(kafka_offset) FROM {self.spec.table} "
            f"WHERE kafka_partition IN ({','.join(map(str, sorted(partitions)))}) GROUP BY kafka_partition"
        )
        rows = await self._warehouse.call(lambda c: c.query(sql).result_rows)
        found = {int(p): int(o) for p, o in rows}
        self._marks.update({p: found.get(p, -1) for p in partitions})

    async def _one_batch(self, consumer: AIOKafkaConsumer) -> None:
        records = await poll_batch(consumer, self._settings.sink_batch_rows, self.window.seconds, self.window.ceiling_s)
        self.health.polled()
        records = [r for r in records if r.partition in self._owned]  # fetched before a rebalance
        if not records:
            self.health.turned()
            return
        started = time.monotonic()
        try:
            await self._store(consumer, records)
        except Revoked:
            for tp, first in _firsts(records).items():  # still ours: read again from the batch's start
                if tp.partition in self._owned:
                    consumer.seek(tp, first)
            return
        await consumer.commit(next_offsets(records))
        self.window.took(time.monotonic() - started)
        self.health.committed()
        self._metrics.done(records)

    async def _store(self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord]) -> None:
        spec, partitions = self.spec, {r.partition for r in records}
        unknown = {p for p in partitions if p not in self._marks} if spec.offsets else set()
        if unknown:
            await self._when_stored(consumer, partitions, lambda: self._load_marks(unknown))
        rows, sources, spans, dead = [], [], {}, []
        for record in records:
            if record.offset <= self._marks.get(record.partition, -1):
                continue  # stored before a crash or rebalance
            lo, hi = spans.get(record.partition, (record.offset, record.offset))
            spans[record.partition] = (min(lo, record.offset), max(hi, record.offset))
            try:
                row = spec.convert(record)
                rows.append([*row, record.partition, record.offset] if spec.offsets else row)
                sources.append(record)
            except Poison as exc:
                dead.append((record, exc.reason))
        if rows and (check := spec.leave_out) is not None:
            left_out = await self._when_stored(consumer, partitions, lambda: check(self._warehouse, sources, rows))
            rows = [row for i, row in enumerate(rows) if i not in left_out]
        if dead:
            await self._producer.dead_letter(self._settings.topics.dead_letters, spec.name, dead)
            self.dead += len(dead)
        if rows:
            token = dedup_token(spec.topic, spans)
            await self._when_stored(consumer, partitions, lambda: self._insert(rows, token))
        if spec.offsets:
            for partition, (_, hi) in spans.items():
                self._marks[partition] = max(self._marks.get(partition, -1), hi)
        self.stored += len(rows)

    async def _insert(self, rows: list[list[object]], token: str) -> None:
        table = self.spec.table
        with m.Timer(m.INSERT_DURATION.labels(table)):
            await self._warehouse.insert(table, self.spec.columns, rows, token, as_json=self.spec.json_rows)
        m.ROWS_INSERTED.labels(table).inc(len(rows))

    async def _when_stored(
        self, consumer: AIOKafkaConsumer, partitions: set[int], attempt: Callable[[], Awaitable[T]]
    ) -> T:
        """``attempt()`` until the warehouse takes it. Meanwhile the partitions are paused and the
        consumer keeps polling; raises ``Revoked`` if the batch's partitions are taken away."""
        delay, paused = 0.2, False
        try:
            while True:
                try:
                    return await attempt()
                except Exception as exc:
                    m.INSERT_RETRIES.labels(self.spec.table).inc()
                    log.warning("%s: the warehouse refused (%r); paused, retrying in %.1fs", self.loop_name, exc, delay)
                    paused = True
                    self._paused.set(1)
                await self._idle(consumer, delay)
                self.health.polled()  # waiting on the warehouse (health names it), not stuck
                if not partitions <= self._owned:
                    raise Revoked
                delay = min(delay * 2, MAX_BACKOFF_S)
        finally:
            if paused:
                consumer.resume(*consumer.assignment())
                self._paused.set(0)

    @staticmethod
    async def _idle(consumer: AIOKafkaConsumer, seconds: float) -> None:
        """Poll with every partition paused: the member stays in its group. Partitions assigned
        in a rebalance meanwhile may hand out records: they are read again after the pause."""
        consumer.pause(*consumer.assignment())
        stray = await consumer.getmany(timeout_ms=int(seconds * 1000))
        for tp, records in stray.items():
            consumer.seek(tp, records[0].offset)
        consumer.pause(*consumer.assignment())


def _firsts(records: list[ConsumerRecord]) -> dict[TopicPartition, int]:
    firsts: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        firsts[tp] = min(r.offset, firsts.get(tp, r.offset))
    return firsts


class _Ownership(ConsumerRebalanceListener):
    """Which partitions the sink owns; a newly assigned one's mark is read before its first batch."""

    def __init__(self, sink: TableSink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self._sink._owned.discard(tp.partition)
            self._sink._marks.pop(tp.partition, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._sink._owned.update(tp.partition for tp in assigned)
