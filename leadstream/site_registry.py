"""The site registry: a compacted Kafka topic (system of record) mirrored in every process.

Each edge and worker tails the topic from the beginning, so ``sites add|update|disable``
reaches all of them within about a second, with no restarts and no shared database.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from leadstream.broker import core_topics, ensure_topics, new_producer
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings

log = logging.getLogger(__name__)
STEP_TIMEOUT_S = 5.0


class SiteRegistry:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topic = settings.topics.sites
        self._sites: dict[str, SiteRecord] = {}
        self._origins: frozenset[str] | None = frozenset()  # None: rebuild on next read
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- reads -----------------------------------------------------------------------------
    def get(self, public_id: str) -> SiteRecord | None:
        """The active site with this id, or None (unknown or disabled)."""
        site = self._sites.get(public_id)
        return site if site is not None and site.active else None

    def origin_known(self, origin: str) -> bool:
        """Does any active site list this exact origin?"""
        if self._origins is None:
            self._origins = frozenset(o for s in self._sites.values() if s.active for o in s.origins)
        return origin in self._origins

    def all(self) -> list[SiteRecord]:
        return sorted(self._sites.values(), key=lambda s: s.public_id)

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self, wait_s: float | None = None) -> None:
        """Start tailing; wait up to ``wait_s`` for the topic to be read to its end."""
        self._task = asyncio.create_task(self._run(), name="site-registry")
        if wait_s:
            try:
                await self.wait_loaded(wait_s)
            except TimeoutError:
                log.warning("site registry not loaded after %.0fs; unknown sites get 404 until it is", wait_s)

    async def wait_loaded(self, timeout_s: float) -> None:
        """Wait until the topic has been read to the end it had when tailing began."""
        await asyncio.wait_for(self._loaded.wait(), timeout=timeout_s)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._tail()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep tailing whatever happens; the registry must not die
                log.warning("site registry lost Kafka (%r); reconnecting in %.1fs", exc, delay)
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
            # after a few seconds and start over with a fresh consumer (see _run).
            await asyncio.wait_for(consumer.seek_to_beginning(*parts), STEP_TIMEOUT_S)
            end = await asyncio.wait_for(consumer.end_offsets(parts), STEP_TIMEOUT_S)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for record in records:
                        self._apply(record.key, record.value)
                if not self._loaded.is_set() and all(await _positions(consumer, end)):
                    self._loaded.set()
        finally:
            await consumer.stop()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        self._origins = None
        if value is None:  # tombstone
            self._sites.pop(key.decode(), None)
            return
        try:
            site = SiteRecord.model_validate_json(value)
        except ValueError:
            log.error("ignoring malformed site record for key %r", key)
            return
        self._sites[site.public_id] = site


async def _positions(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> list[bool]:
    return [await consumer.position(tp) >= offset for tp, offset in end.items()]


async def publish_site(settings: Settings, site: SiteRecord) -> None:
    """Write a site to the registry (create or replace); durable when this returns."""
    await ensure_topics(settings, [s for s in core_topics(settings) if s.name == settings.topics.sites])
    producer = new_producer(settings)
    await producer.start()
    try:
        value = site.model_dump_json().encode()
        await producer.send_and_wait(settings.topics.sites, value, key=site.public_id.encode())
    finally:
        await producer.stop()


class RegistryUnavailable(RuntimeError):
    pass


async def read_sites(settings: Settings, timeout_s: float = 45.0) -> list[SiteRecord]:
    """Read the registry once, to its end (for the CLI)."""
    registry = SiteRegistry(settings)
    await registry.start()
    try:
        await registry.wait_loaded(timeout_s)
    except TimeoutError:
        raise RegistryUnavailable(
            f"could not read the site registry ({settings.topics.sites}) from Kafka at {settings.kafka_bootstrap} "
            f"within {timeout_s:.0f}s; is Kafka up? (`make up` starts the local stack)"
        ) from None
    finally:
        await registry.stop()
    return registry.all()
