"""Kafka adapter: producer settings, topic creation, and the edge's bounded publisher.

aiokafka has no ``buffer.memory`` / ``max.block.ms``; the Publisher bounds in-flight sends
itself and turns "the broker did not ack in time" into BrokerUnavailable (HTTP 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from leadstream.settings import Settings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """Kafka could not take the record within the deadline; nothing was acknowledged."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def new_producer(settings: Settings, **overrides: object) -> AIOKafkaProducer:
    """A durable producer: every send is acknowledged by all in-sync replicas, idempotently."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 2,
        "request_timeout_ms": max(1000, int(settings.produce_timeout_s * 1000)),
        "retry_backoff_ms": 100,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)  # type: ignore[arg-type]


async def ensure_topics(settings: Settings, specs: list[TopicSpec]) -> dict[str, int]:
    """Create missing topics (idempotent; existing ones are left as they are).

    Returns each topic's partition count as the broker reports it.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(s.name, s.partitions, settings.topic_replication, topic_configs=s.config)
            for s in specs
            if s.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was faster
                await admin.create_topics(missing)
        described = await admin.describe_topics([s.name for s in specs])
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


def core_topics(settings: Settings) -> list[TopicSpec]:
    t = settings.topics
    return [
        TopicSpec(t.events, settings.topic_partitions),
        TopicSpec(t.calls, settings.topic_partitions),
        # co-partitioned with calls: same key (<site>:<fingerprint>), same partition count
        TopicSpec(t.session_updates, settings.topic_partitions),
        TopicSpec(t.sites, 1, {"cleanup.policy": "compact"}),
    ]


class Publisher:
    """Shared producer for the edge. Starts in the background if Kafka is down at boot."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = settings.produce_timeout_s
        self._slots = asyncio.Semaphore(settings.max_inflight_sends)
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_up(), name="publisher-connect")
        try:  # give a healthy broker a moment so the first request does not see 503
            await asyncio.wait_for(asyncio.shield(self._connecting), timeout=self._timeout)
        except TimeoutError:
            log.warning("Kafka not reachable at %s yet; answering 503 until it is", self._settings.kafka_bootstrap)

    async def _connect_until_up(self) -> None:
        delay = 0.2
        while True:
            producer = new_producer(self._settings)
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.info("Kafka connect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:  # so the first sends do not race topic auto-creation
                await ensure_topics(self._settings, core_topics(self._settings))
            except KafkaError as exc:
                log.warning("could not check topics (%s); they will be auto-created", exc)
            self._producer = producer
            return

    async def stop(self) -> None:
        """Flush what is in flight, then close."""
        if self._connecting and not self._connecting.done():
            self._connecting.cancel()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def publish(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        """Send (key, value) records and return once Kafka has acknowledged all of them."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("Kafka is not reachable")
        try:
            async with asyncio.timeout(self._timeout), self._slots:
                acks = [await producer.send(topic, value, key=key) for key, value in items]
                await asyncio.gather(*acks)
        except TimeoutError as exc:
            raise BrokerUnavailable(f"Kafka did not acknowledge within {self._timeout:g}s") from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused the record: {exc}") from exc
