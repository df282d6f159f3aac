"""Offsets committed in the background, for a member whose batches are on a request's path.

A commit is a round trip to the group coordinator (~7 ms on the local Kafka 4.1), longer than a
small batch's own work: awaited in each turn it held up the records behind it (the sales-OS
stages at 100 runs/s: publish -> stage p50 21 ms, against 2.6 ms without commits). Here the
next batch goes on while a commit is in flight; offsets that come meanwhile go in the next one,
so at most one commit is in flight and one waits.

``every_s`` spaces the commits: offsets gather for that long after a commit before the next goes
(``flush`` sends what is gathered at once). Under load a stage made a batch every few ms and
committed each: ~150 commits a second, each a write to the broker's offsets log, for nothing a
reader can see. A crash before a commit does the batches since the last one again, as it would
before an awaited one (their outputs are idempotent where they land).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition


class BackgroundCommits:
    def __init__(self, consumer: AIOKafkaConsumer, committed: Callable[[], None], every_s: float = 0.0) -> None:
        self._consumer = consumer
        self._committed = committed  # after each commit (table checkpoint, health)
        self._every_s = every_s
        self._offsets: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._last = float("-inf")  # when the last commit went
        self._now = asyncio.Event()  # set by flush: no more spacing

    def add(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` (their outputs are durable); returns at once."""
        self.check()
        if not offsets:
            return
        self._offsets.update(offsets)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    def check(self) -> None:
        """Raise here, in the member's loop, what a background commit raised (the member restarts)."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()

    async def flush(self) -> None:
        """Commit everything added, now, and wait until it is (before partitions are given up)."""
        if self._task is not None:
            self._now.set()
            try:
                await self._task
            finally:
                self._now.clear()

    async def _run(self) -> None:
        while self._offsets:
            wait = self._last + self._every_s - time.monotonic()
            if wait > 0 and not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), wait)
            offsets, self._offsets = self._offsets, {}
            self._last = time.monotonic()
            await self._consumer.commit(offsets)
            self._committed()
