"""What the edge holds for its lifetime: the Kafka publisher, the site registry, CORS policy,
rate limiter, reply hub, OS token table, circuit breakers, and what turns a client's address into
what may be published (trusted proxies, the daily salts, the replay guard). Built and started once
per process."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from leadstream.api.auth import BearerVerifier, TokenTable
from leadstream.ingest.anonymise import Anonymiser, DailySalts
from leadstream.ingest.client_ip import ClientAddress
from leadstream.ingest.cors import CorsPolicy
from leadstream.ingest.ratelimit import RateLimiter
from leadstream.ingest.replay import ReplayGuard
from leadstream.kafka.publisher import Publisher
from leadstream.redis.replies import ReplyHub
from leadstream.salesos.breaker import BreakerRegistry
from leadstream.settings import Settings
from leadstream.sites.keys import SiteKeys
from leadstream.sites.registry import SiteRegistry


@dataclass
class EdgeState:
    settings: Settings
    publisher: Publisher
    sites: SiteRegistry
    cors: CorsPolicy
    limiter: RateLimiter
    replies: ReplyHub
    os_auth: TokenTable
    breakers: BreakerRegistry  # per (endpoint, tenant)
    clients: ClientAddress
    salts: DailySalts
    anonymiser: Anonymiser
    replays: ReplayGuard
    redis: aioredis.Redis  # the salts' and the replay guard's connections
    site_keys: SiteKeys  # the sites' API keys (hashed), for the leads, OCI and Stats APIs

    @classmethod
    def build(cls, settings: Settings) -> EdgeState:
        sites = SiteRegistry(settings)
        redis = aioredis.from_url(settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
        salts = DailySalts(redis, namespace=settings.topic_prefix)
        return cls(
            settings=settings,
            publisher=Publisher(settings),
            sites=sites,
            cors=CorsPolicy(sites, settings.global_origins),
            limiter=RateLimiter(settings.redis_url, processes=settings.edge_workers),
            replies=ReplyHub(settings.redis_url, namespace=settings.topic_prefix),
            os_auth=TokenTable(settings.os_tokens, BearerVerifier.from_settings(settings)),
            breakers=BreakerRegistry(),
            clients=ClientAddress(settings.trusted_proxies),
            salts=salts,
            anonymiser=Anonymiser(salts),
            replays=ReplayGuard(redis, namespace=settings.topic_prefix),
            redis=redis,
            site_keys=SiteKeys(settings),
        )

    async def start(self) -> None:
        await self.publisher.start()
        await self.sites.start(wait_s=self.settings.produce_timeout_s)
        await self.site_keys.start(wait_s=self.settings.produce_timeout_s)
        await self.replies.start()
        await self.salts.start()

    async def stop(self) -> None:
        await self.salts.stop()
        await self.replies.stop()
        await self.limiter.close()
        await self.redis.aclose()
        await self.site_keys.stop()
        await self.sites.stop()
        await self.publisher.stop()  # flushes records in flight

    @property
    def ready(self) -> bool:
        return self.publisher.ready and self.sites.loaded
