"""Consumer-group membership for every processor and sink: plain aiokafka consumers (Faust's
stream machinery cost several times the work these paths do per record).

Offsets are committed by the caller, after a batch's writes have landed (at-least-once); the
writes themselves are idempotent, so a batch delivered again changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from leadstream.observability.health import LOOPS
from leadstream.settings import Settings

log = logging.getLogger(__name__)


def group_consumer(settings: Settings, group: str, **overrides: object) -> AIOKafkaConsumer:
    """A member of ``group`` that commits by hand and reads new partitions from the start."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": settings.sink_batch_rows,
        "fetch_max_wait_ms": settings.worker_fetch_max_wait_ms,
        "max_partition_fetch_bytes": 4 << 20,
        # sinks keep polling (paused) while the warehouse refuses: an outage does not count
        "max_poll_interval_ms": int(settings.worker_max_poll_interval_s * 1000),
        "session_timeout_ms": int(settings.worker_session_timeout_s * 1000),
        "heartbeat_interval_ms": int(min(3.0, settings.worker_session_timeout_s / 3) * 1000),
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)  # type: ignore[arg-type]


REQUEST_PATH_FETCH_WAIT_MS = 500  # a request-path member's fetch: new records end the wait at once
_HOLD_S = 3600.0


def fetch_when_drained(consumer: AIOKafkaConsumer) -> None:
    """Fetch from a broker only once every record fetched from it is handed out (call after ``start``).

    aiokafka sends no fetch to a broker while one of its partitions holds records not yet handed out,
    but only for 0.1 s (its ``prefetch_backoff``); after that it fetches the other partitions alone,
    and a partition emptied later waits for that fetch to come back: up to the fetch's whole wait.
    That is why the request-path members polled with a 25 ms wait, 40 fetches a second each while
    idle. A member that hands out all it fetched at every poll (the runner does) loses nothing by
    waiting for the drain: then its fetch may wait long (new records end it at once), and no
    partition ever waits behind one."""
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_prefetch_backoff"):  # aiokafka is pinned: this is its 0.14
        raise RuntimeError("aiokafka's fetcher has no prefetch_backoff: check fetch_when_drained")
    fetcher._prefetch_backoff = _HOLD_S


async def poll_batch(
    consumer: AIOKafkaConsumer, max_records: int, within_s: float, idle_s: float | None = None
) -> list[ConsumerRecord]:
    """Records until ``max_records`` have gathered or ``within_s`` has passed since the first of
    them came; an empty list when none came for ``idle_s`` (default ``within_s``)."""
    polled = await consumer.getmany(timeout_ms=int((idle_s or within_s) * 1000), max_records=max_records)
    records: list[ConsumerRecord] = [r for part in polled.values() for r in part]
    if not records:
        return records
    deadline = time.monotonic() + within_s
    while len(records) < max_records:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        polled = await consumer.getmany(timeout_ms=int(left * 1000), max_records=max_records - len(records))
        for part in polled.values():
            records.extend(part)
    return records


class FlushWindow:
    """How long a loop gathers records before it writes a batch: as long as its last batch took,
    between ``floor_s`` and ``ceiling_s`` (``LEADSTREAM_SINK_FLUSH_S``, ``_PROCESSOR_FLUSH_S``).

    Records that arrive while a batch is written wait in the fetch buffer, so the batch size
    follows the load by itself: light traffic makes small, quick batches, written soon after
    their ack; under load batches take longer and grow with it, so the warehouse gets fewer,
    larger inserts. The floor bounds inserts at light load (at most 1/floor_s a second); a full
    batch (``LEADSTREAM_SINK_BATCH_ROWS``) is written at once whatever the window. Measured at
    2,000 events/s offered (bench e2e, 40 s, same hour): a fixed 1 s window gave ack -> row p50
    931 ms / p99 2,192 ms; four times the last batch 1,059 / 2,035 ms; once the last batch with a
    100 ms floor 365 / 1,660 ms."""

    def __init__(self, ceiling_s: float, floor_s: float = 0.1, factor: float = 1.0) -> None:
        self.ceiling_s = ceiling_s
        self.floor_s = min(floor_s, ceiling_s)
        self.factor = factor
        self.seconds = self.floor_s

    def took(self, batch_s: float) -> None:
        self.seconds = min(self.ceiling_s, max(self.floor_s, self.factor * batch_s))


def next_offsets(records: Iterable[ConsumerRecord]) -> dict[TopicPartition, int]:
    """The offsets to commit once ``records`` are done: past the last of each partition."""
    last = {(r.topic, r.partition): r.offset for r in records}  # plain tuples: a TopicPartition per record cost 5 %
    return {TopicPartition(*tp): offset + 1 for tp, offset in last.items()}


async def supervise(name: str, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body`` for as long as the worker runs; a lost broker or a failed step restarts it
    after a backoff (1 s, doubling to 30 s; back to 1 s after a minute without failing).
    Failures are reported to the loop's health (``LOOPS``, the worker's ``/leadstream/health``)."""
    health = LOOPS.loop(name)
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            await body()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() - started > 60:
                delay = 1.0
            log.exception("%s failed; restarting in %.0fs", name, delay)
            health.failed(exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


Partitions = set[int]


class PartitionOwner(ConsumerRebalanceListener):
    """Tells a member with keyed state which partitions (by number) the group gives and takes.

    aiokafka hands out records of newly assigned partitions while the assignment callback is
    still running, so those partitions stay paused until ``gained`` (e.g. the table's recovery)
    is done. If it fails they stay paused, and ``check()`` raises in the member's loop, which
    restarts the member; so does a failure of ``lost``.

    A partition its group has never committed starts where ``previous_group`` left it, if that
    group read it: a worker upgraded from one that consumed these topics in its Faust group
    goes on from there instead of reading the topics again from the start."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        settings: Settings,
        gained: Callable[[Partitions], Awaitable[None]],
        lost: Callable[[Partitions], Awaitable[None]],
        previous_group: str | None = None,
    ) -> None:
        self._consumer = consumer
        self._bootstrap = settings.kafka_bootstrap
        self._gained = gained
        self._lost = lost
        self._previous_group = previous_group
        self._failed: BaseException | None = None

    def check(self) -> None:
        if self._failed is not None:
            raise RuntimeError("a rebalance step failed") from self._failed

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        try:
            await self._lost({tp.partition for tp in revoked})
        except Exception as exc:  # state the member cannot trust any more: start over
            log.exception("giving up %s failed", sorted(revoked))
            self._failed = exc

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._consumer.pause(*assigned)  # before any await: nothing of them is handed out yet
        try:
            if self._previous_group and assigned:
                await self._resume(assigned, self._previous_group)
            await self._gained({tp.partition for tp in assigned})
        except Exception as exc:
            log.exception("taking over %s failed", sorted(assigned))
            self._failed = exc
            return
        self._consumer.resume(*assigned)

    async def _resume(self, assigned: list[TopicPartition], previous_group: str) -> None:
        fresh = [tp for tp in assigned if await self._consumer.committed(tp) is None]
        if not fresh:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(previous_group, partitions=fresh)
        finally:
            await admin.close()
        for tp, committed in sorted(offsets.items()):
            if committed.offset >= 0:
                self._consumer.seek(tp, committed.offset)
                log.info(
                    "%s[%d]: first read by this group, from offset %d where %s left it",
                    *(tp.topic, tp.partition, committed.offset, previous_group),
                )
