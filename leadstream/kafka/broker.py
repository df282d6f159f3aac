"""Kafka adapter: durable producer settings and topic creation (the edge's publisher is in
``leadstream.kafka.publisher``)."""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from leadstream.salesos.more_calls import MORE_STAGES
from leadstream.salesos.stages import STAGES as OS_STAGES
from leadstream.settings import Settings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """Kafka could not take the record within the deadline; nothing was acknowledged."""


@functools.lru_cache(maxsize=1 << 16)
def _key_hash(key: bytes) -> int:
    # Kafka's default partitioner hash; murmur2 is pure Python in aiokafka (~10 us a key), and a
    # session's key comes back with each of its events.
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: bytes, partitions: list[int]) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (the same as Java's)."""
    return partitions[_key_hash(key) % len(partitions)]


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
        TopicSpec(t.session_rows, settings.topic_partitions),
        TopicSpec(t.call_rows, settings.topic_partitions),
        TopicSpec(t.sites, 1, {"cleanup.policy": "compact"}),
        TopicSpec(t.erasures, 1, {"cleanup.policy": "compact"}),  # kept for good: who stays forgotten
        TopicSpec(t.site_keys, 1, {"cleanup.policy": "compact"}),  # hashed keys, keyed by prefix
        # leads, stage commands and stage changes: keyed by lead id, co-partitioned
        TopicSpec(t.leads, settings.topic_partitions),
        TopicSpec(t.lead_stage_commands, settings.topic_partitions),
        TopicSpec(t.lead_stages, settings.topic_partitions),
        TopicSpec(t.dead_letters, 1, {"retention.ms": str(30 * 24 * 3600 * 1000)}),
        TopicSpec(t.os_companies, settings.topic_partitions),
        TopicSpec(t.os_signals, settings.topic_partitions),
        TopicSpec(t.os_runs, settings.topic_partitions),
        TopicSpec(t.os_feedback, settings.topic_partitions),
        *(TopicSpec(t.os_stage(stage), settings.topic_partitions) for stage in (*OS_STAGES, *MORE_STAGES)),
    ]


async def delete_topics(bootstrap: str, prefixes: tuple[str, ...]) -> int:
    """Delete the topics whose names start with one of ``prefixes`` (a run's own, never a
    pattern shared with other runs); thousands of leftover partitions slow every broker call."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        for i in range(0, len(names), 200):
            await admin.delete_topics(names[i : i + 200])
        return len(names)
    finally:
        await admin.close()
