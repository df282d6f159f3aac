"""A compacted Kafka topic mirrored in a process: read from its beginning, then tailed for as
long as the process runs. The site registry and the list of forgotten visitors are mirrors."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.settings import Settings

log = logging.getLogger(__name__)
STEP_TIMEOUT_S = 5.0


class TopicMirror:
    """Subclasses say what a record means (``apply``); this keeps the topic coming."""

    name = "topic mirror"

    def __init__(self, settings: Settings, topic: str) -> None:
        self._settings = settings
        self._topic = topic
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def apply(self, key: bytes, value: bytes | None) -> None:
        """One record, in topic order (``value`` None: a tombstone)."""
        raise NotImplementedError

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    async def start(self, wait_s: float | None = None) -> None:
        """Start tailing; wait up to ``wait_s`` for the topic to be read to its end."""
        self._task = asyncio.create_task(self.run(), name=self.name)
        if wait_s:
            try:
                await self.wait_loaded(wait_s)
            except TimeoutError:
                log.warning("%s not loaded after %.0fs; carrying on with what it has", self.name, wait_s)

    async def wait_loaded(self, timeout_s: float) -> None:
        """Wait until the topic has been read to the end it had when tailing began."""
        await asyncio.wait_for(self._loaded.wait(), timeout=timeout_s)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def run(self) -> None:
        """Tail the topic for as long as the process runs (``start`` runs this as a task)."""
        delay = 0.5
        while True:
            try:
                await self._tail()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep tailing whatever happens; the mirror must not die
                log.warning("%s lost Kafka (%r); reconnecting in %.1fs", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _tail(self) -> None:
        counts = await ensure_topics(self._settings, [s for s in core_topics(self._settings) if s.name == self._topic])
        parts = [TopicPartition(self._topic, p) for p in range(counts[self._topic])]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            consumer.assign(parts)
            # A just-restarted broker can leave these waiting on a leader for minutes: give up
            # after a few seconds and start over with a fresh consumer (see run).
            await asyncio.wait_for(consumer.seek_to_beginning(*parts), STEP_TIMEOUT_S)
            end = await asyncio.wait_for(consumer.end_offsets(parts), STEP_TIMEOUT_S)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for record in records:
                        if record.key is not None:
                            self.apply(record.key, record.value)
                if not self._loaded.is_set() and all(await _positions(consumer, end)):
                    self._loaded.set()
        finally:
            await consumer.stop()


async def _positions(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> list[bool]:
    return [await consumer.position(tp) >= offset for tp, offset in end.items()]
