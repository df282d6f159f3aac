"""Consumer lag read from Kafka itself: each group's committed offsets against the partitions' ends.

The worker exports it on ``/metrics`` (``LagMonitor``, every few seconds); ``leadstream status``
reads it directly, so lag shows even while no worker runs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadstream.observability import metrics as m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


def worker_groups(all_groups: list[str], worker_group: str) -> list[str]:
    """The worker's consumer groups: its Faust group and ``<worker_group>-<processor>``."""
    return sorted(g for g in all_groups if g == worker_group or g.startswith(worker_group + "-"))


class LagReader:
    """An admin client and an offsets reader kept open between reads."""

    def __init__(self, bootstrap: str, worker_group: str) -> None:
        self._bootstrap = bootstrap
        self._worker_group = worker_group
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, request_timeout_ms=5000)
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
        self._admin = self._consumer = None

    async def read(self) -> list[PartitionLag]:
        assert self._admin is not None and self._consumer is not None
        listed = await self._admin.list_consumer_groups()
        groups = worker_groups([g[0] for g in listed], self._worker_group)
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            offsets = await self._admin.list_consumer_group_offsets(group)
            committed[group] = {tp: o.offset for tp, o in offsets.items() if o.offset >= 0}
        # Every partition of a topic the group reads: one it never committed (no record of it read
        # yet, the group starts there from the earliest) lags by all it holds.
        topics = sorted({tp.topic for offsets in committed.values() for tp in offsets})
        partitions = {
            t["topic"]: [TopicPartition(t["topic"], p["partition"]) for p in t["partitions"]]
            for t in (await self._admin.describe_topics(topics) if topics else [])
            if not t["error_code"]
        }
        tps = sorted({tp for tps in partitions.values() for tp in tps} | {tp for o in committed.values() for tp in o})
        ends = await self._consumer.end_offsets(tps) if tps else {}
        starts = await self._consumer.beginning_offsets(tps) if tps else {}
        lags = []
        for group, offsets in committed.items():
            mine = {tp for tp in offsets} | {tp for t in {tp.topic for tp in offsets} for tp in partitions.get(t, [])}
            for tp in sorted(mine):
                offset = offsets.get(tp, starts.get(tp, 0))
                lags.append(PartitionLag(group, tp.topic, tp.partition, offset, ends.get(tp, offset)))
        return lags


async def read_lag(bootstrap: str, worker_group: str, timeout_s: float = 10.0) -> list[PartitionLag]:
    """One reading (for the CLI)."""
    reader = LagReader(bootstrap, worker_group)
    try:
        async with asyncio.timeout(timeout_s):
            await reader.start()
            return await reader.read()
    finally:
        await reader.stop()


def export(lags: list[PartitionLag]) -> None:
    for p in lags:
        part = str(p.partition)
        m.COMMITTED_OFFSET.labels(p.group, p.topic, part).set(p.committed)
        m.END_OFFSET.labels(p.topic, part).set(p.end)
        m.LAG.labels(p.group, p.topic, part).set(p.lag)


class LagMonitor:
    """The worker's task: read the lag every ``interval_s`` and export it."""

    def __init__(self, bootstrap: str, worker_group: str, interval_s: float) -> None:
        self._reader = LagReader(bootstrap, worker_group)
        self._interval_s = interval_s

    async def run(self) -> None:
        started = False
        try:
            while True:
                try:
                    if not started:
                        await self._reader.start()
                        started = True
                    export(await self._reader.read())
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    m.LAG_SCRAPE_ERRORS.inc()
                    log.warning("could not read consumer lag: %r", exc)
                    if started:
                        await self._reader.stop()
                        started = False
                await asyncio.sleep(self._interval_s)
        finally:
            await self._reader.stop()
