"""The site registry: a compacted Kafka topic (system of record) mirrored in every process.

Each edge and worker tails the topic from the beginning, so ``sites add|update|disable``
reaches all of them within about a second, with no restarts and no shared database.
"""

from __future__ import annotations

import logging

from leadstream.kafka.broker import core_topics, ensure_topics, new_producer
from leadstream.kafka.topic_mirror import TopicMirror
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.sealing import seal, unseal

log = logging.getLogger(__name__)


class SiteRegistry(TopicMirror):
    name = "site registry"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, settings.topics.sites)
        self._settings = settings
        self._sites: dict[str, SiteRecord] = {}
        self._origins: frozenset[str] | None = frozenset()  # None: rebuild on next read

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

    def apply(self, key: bytes, value: bytes | None) -> None:
        self._origins = None
        if value is None:  # tombstone
            self._sites.pop(key.decode(), None)
            return
        try:
            site = SiteRecord.model_validate_json(value)
        except ValueError:
            log.error("ignoring malformed site record for key %r", key)
            return
        if site.signing_secret and not site.signing_secret_sealed:
            log.warning(
                "site %s: its signing secret is on the topic in clear; `sites update --secret` seals it",
                key,
            )
        self._sites[site.public_id] = unseal(self._settings, site)


async def publish_site(settings: Settings, site: SiteRecord) -> None:
    """Write a site to the registry (create or replace), its secret sealed; durable when this returns."""
    sealed = seal(settings, site)
    await ensure_topics(settings, [s for s in core_topics(settings) if s.name == settings.topics.sites])
    producer = new_producer(settings)
    await producer.start()
    try:
        value = sealed.model_dump_json().encode()
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
