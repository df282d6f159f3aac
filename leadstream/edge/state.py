"""What the edge holds for its lifetime: the Kafka publisher, the site registry, CORS policy,
rate limiter, reply hub, OS token table and circuit breakers. Built and started once per process."""

from __future__ import annotations

from dataclasses import dataclass

from leadstream.api.auth import BearerVerifier, TokenTable
from leadstream.ingest.cors import CorsPolicy
from leadstream.ingest.ratelimit import RateLimiter
from leadstream.kafka.publisher import Publisher
from leadstream.redis.replies import ReplyHub
from leadstream.salesos.breaker import BreakerRegistry
from leadstream.settings import Settings
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

    @classmethod
    def build(cls, settings: Settings) -> EdgeState:
        sites = SiteRegistry(settings)
        return cls(
            settings=settings,
            publisher=Publisher(settings),
            sites=sites,
            cors=CorsPolicy(sites, settings.global_origins),
            limiter=RateLimiter(settings.redis_url),
            replies=ReplyHub(settings.redis_url, namespace=settings.topic_prefix),
            os_auth=TokenTable(settings.os_tokens, BearerVerifier.from_settings(settings)),
            breakers=BreakerRegistry(),
        )

    async def start(self) -> None:
        await self.publisher.start()
        await self.sites.start(wait_s=self.settings.produce_timeout_s)
        await self.replies.start()

    async def stop(self) -> None:
        await self.replies.stop()
        await self.limiter.close()
        await self.sites.stop()
        await self.publisher.stop()  # flushes records in flight

    @property
    def ready(self) -> bool:
        return self.publisher.ready and self.sites.loaded
