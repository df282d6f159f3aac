"""Site API keys: minted here, kept hashed on a compacted topic (the system of record, keyed by
prefix), mirrored by every edge, which answers which site a presented key belongs to.

A key reaches only its own site: the leads API, the OCI endpoints and the Stats API ask
``SiteKeys.site_for``. When a key was last used is kept best effort in Redis (one hash per
namespace), for ``leadstream sites keys``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime

import redis.asyncio as aioredis

from leadstream.kafka.broker import core_topics, ensure_topics, new_producer
from leadstream.kafka.topic_mirror import TopicMirror
from leadstream.schemas.site_keys import SiteKeyRecord, hash_key, key_prefix
from leadstream.settings import Settings

log = logging.getLogger(__name__)


def mint_key(site_id: str) -> tuple[str, SiteKeyRecord]:
    """A new key (to show once) and the record that keeps its hash."""
    prefix = secrets.token_hex(4)
    key = f"lsk_{prefix}_{secrets.token_urlsafe(32)}"
    record = SiteKeyRecord(prefix=prefix, site_id=site_id, key_hash=hash_key(key), created_at=datetime.now(UTC))
    return key, record


class SiteKeys(TopicMirror):
    name = "site keys"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.topics.site_keys)
        self._records: dict[str, SiteKeyRecord] = {}

    def apply(self, key: bytes, value: bytes | None) -> None:
        if value is None:
            self._records.pop(key.decode(), None)
            return
        try:
            record = SiteKeyRecord.model_validate_json(value)
        except ValueError:
            log.error("ignoring malformed site key record for key %r", key)
            return
        self._records[record.prefix] = record

    def put(self, record: SiteKeyRecord) -> None:
        """Know a record before the topic brings it (tests, the CLI)."""
        self._records[record.prefix] = record

    def record_for(self, key: str) -> SiteKeyRecord | None:
        """The live record this key matches (hashes compared in constant time), else None."""
        prefix = key_prefix(key)
        record = self._records.get(prefix) if prefix else None
        if record is None or record.revoked:
            return None
        return record if hmac.compare_digest(hash_key(key), record.key_hash) else None

    def site_for(self, key: str) -> str | None:
        record = self.record_for(key)
        return record.site_id if record is not None else None

    def of_site(self, site_id: str) -> list[SiteKeyRecord]:
        return sorted((r for r in self._records.values() if r.site_id == site_id), key=lambda r: r.created_at)


def usage_hash(settings: Settings) -> str:
    return f"{settings.topic_prefix}site-keys-used"


async def record_use(client: aioredis.Redis, settings: Settings, prefix: str) -> None:
    """Best effort: when this key was last used."""
    try:
        await client.hset(usage_hash(settings), prefix, datetime.now(UTC).isoformat(timespec="seconds"))
    except Exception as exc:  # never fail a request for it
        log.debug("could not record the use of key %s: %r", prefix, exc)


async def last_used(settings: Settings) -> dict[str, str]:
    """Prefix -> when last used (empty when Redis does not answer)."""
    client = aioredis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        raw = await client.hgetall(usage_hash(settings))
    except Exception:
        return {}
    finally:
        await client.aclose()
    return {k.decode(): v.decode() for k, v in raw.items()}


async def publish_key(settings: Settings, record: SiteKeyRecord) -> None:
    """Write a key record (create, or revoke); durable when this returns."""
    topic = settings.topics.site_keys
    await ensure_topics(settings, [s for s in core_topics(settings) if s.name == topic])
    producer = new_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, record.model_dump_json().encode(), key=record.prefix.encode())
    finally:
        await producer.stop()


async def read_keys(settings: Settings, timeout_s: float = 45.0) -> SiteKeys:
    """The keys topic read once, to its end (for the CLI)."""
    keys = SiteKeys(settings)
    await keys.start()
    try:
        await keys.wait_loaded(timeout_s)
    except TimeoutError:
        raise RuntimeError(
            f"could not read the site keys ({settings.topics.site_keys}) from Kafka at {settings.kafka_bootstrap} "
            f"within {timeout_s:.0f}s; is Kafka up? (`make up` starts the local stack)"
        ) from None
    finally:
        await keys.stop()
    return keys
