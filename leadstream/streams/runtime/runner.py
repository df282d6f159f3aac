"""Runs a processor on a consumer group: poll a batch, let the processor make an ``Outcome``
of it, make that durable (``Checkpoint``), commit, and go again.

A processor is a small object that turns a batch of records into rows, changelog entries and
outputs; it never touches the consumer or the producer, so it is tested without Kafka. The
runner gives it the partitions the group assigns (state recovered before any of their records
is handed out) and takes them away between batches, never in the middle of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from leadstream.observability.health import LOOPS
from leadstream.observability.logs import GROUP
from leadstream.observability.worker import BatchMetrics
from leadstream.settings import Settings
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.checkpoint import Checkpoint, Outcome
from leadstream.streams.runtime.commits import BackgroundCommits
from leadstream.streams.runtime.group import (
    REQUEST_PATH_FETCH_WAIT_MS,
    FlushWindow,
    PartitionOwner,
    fetch_when_drained,
    group_consumer,
    next_offsets,
    poll_batch,
    supervise,
)
from leadstream.streams.runtime.producer import BulkProducer

COMMIT_EVERY_S = 0.25  # commit_behind: the most a member's commits wait for the offsets behind them


class Processor(Protocol):
    name: str  # the loop's name in health, metrics and logs ("session scorer")
    group: str  # its consumer group's suffix: <worker_group>-<group>
    stage: str  # the stage named in its dead letters
    topics: Sequence[str]
    table: ChangelogTable | None

    async def process(self, records: list[ConsumerRecord]) -> Outcome: ...
    async def assigned(self, partitions: set[int]) -> None: ...
    async def revoked(self, partitions: set[int] | None) -> None: ...  # None: every partition


class Runner:
    """One member of the processor's group. ``window`` sets how long a batch gathers;
    ``every_turn``: the processor is called even when a poll brings nothing (e.g. the matcher
    answers calls whose grace ran out); ``batch_records``: the most records a batch holds
    (default ``LEADSTREAM_SINK_BATCH_ROWS``); ``metrics_label``: the processor's label in the
    batch metrics (default its name); ``commit_behind``: for batches on a request's path, the
    offsets are committed in the background while the next batch is done (``commits.py``), and
    ``then`` runs as soon as the outputs are durable, before the commit (a crash in between does
    the batch and its ``then`` again); commits then go at most every ``COMMIT_EVERY_S``, and the
    member fetches only once it has handed out what it fetched, with a long wait
    (``fetch_when_drained``)."""

    def __init__(
        self,
        processor: Processor,
        settings: Settings,
        producer: BulkProducer,
        window: FlushWindow,
        *,
        every_turn: bool = False,
        consumer_options: dict[str, Any] | None = None,
        previous_group: str | None = None,
        batch_records: int | None = None,
        metrics_label: str | None = None,
        commit_behind: bool = False,
    ) -> None:
        self.processor = processor
        self._settings = settings
        self._window = window
        self._every_turn = every_turn
        self._options = consumer_options or {}
        self._previous_group = previous_group
        self._batch_records = batch_records or settings.sink_batch_rows
        if commit_behind and processor.table is not None:  # its checkpoint would run mid-batch
            raise ValueError("commit_behind is for stateless processors")
        self._commit_behind = commit_behind
        self._commits: BackgroundCommits | None = None
        self._lock = asyncio.Lock()
        self._checkpoint = Checkpoint(producer, settings.topics.dead_letters, processor.stage, processor.table)
        self.health = LOOPS.loop(processor.name)
        self._metrics = BatchMetrics(metrics_label or processor.name)

    @property
    def group(self) -> str:
        return f"{self._settings.worker_group}-{self.processor.group}"

    async def run(self) -> None:
        """For as long as the worker runs; a lost broker or a failed step restarts the member."""
        await supervise(self.processor.name, self._consume)

    async def _consume(self) -> None:
        s, p = self._settings, self.processor
        GROUP.set(self.group)
        options = {"fetch_max_wait_ms": REQUEST_PATH_FETCH_WAIT_MS} if self._commit_behind else {}
        consumer = group_consumer(s, self.group, **{**options, **self._options})
        owner = PartitionOwner(consumer, s, self._assigned, self._revoked, previous_group=self._previous_group)
        consumer.subscribe(list(p.topics), listener=owner)
        await p.revoked(None)  # a new member owns nothing until the group says so
        if p.table is not None:
            p.table.forget()
        self._commits = BackgroundCommits(consumer, self._committed, COMMIT_EVERY_S) if self._commit_behind else None
        await consumer.start()
        if self._commit_behind:
            fetch_when_drained(consumer)  # no idle polling, and no partition waits behind a fetch
        try:
            while True:
                records = await poll_batch(consumer, self._batch_records, self._window.seconds, self._window.ceiling_s)
                self.health.polled()
                owner.check()
                if self._commits is not None:
                    self._commits.check()
                async with self._lock:
                    await self._turn(consumer, records)
        finally:
            if self._commits is not None:
                with contextlib.suppress(Exception):  # what failed was raised in the loop already
                    await self._commits.flush()
            await consumer.stop()

    async def _turn(self, consumer: Any, records: list[ConsumerRecord]) -> None:
        owned = consumer.assignment()
        records = [r for r in records if TopicPartition(r.topic, r.partition) in owned]  # fetched before a rebalance
        if not records and not self._every_turn:
            self.health.turned()
            return
        started = time.monotonic()
        outcome = await self.processor.process(records)
        await self._checkpoint.acknowledge(outcome)
        offsets = next_offsets(records) if outcome.offsets is None else outcome.offsets
        if self._commits is not None:
            for then in outcome.then:  # once the outputs are durable, not after the commit
                await then()
            self._commits.add(offsets)
        else:
            if offsets:
                await consumer.commit(offsets)
            self._checkpoint.committed()
            for then in outcome.then:
                await then()
        if records:
            self._window.took(time.monotonic() - started)
            self._metrics.done(records)
        if offsets and self._commits is None:
            self.health.committed()
        else:
            self.health.turned()

    def _committed(self) -> None:
        """A background commit is done."""
        self._checkpoint.committed()
        self.health.committed()

    async def _assigned(self, partitions: set[int]) -> None:
        async with self._lock:
            if self.processor.table is not None:
                await self.processor.table.recover(partitions)
            await self.processor.assigned(partitions)

    async def _revoked(self, partitions: set[int]) -> None:
        async with self._lock:  # after the batch in hand is durable and committed
            if self._commits is not None:
                await self._commits.flush()
            if self.processor.table is not None:
                self.processor.table.forget(partitions)
            await self.processor.revoked(partitions)
