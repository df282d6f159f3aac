"""What the tracking handlers need from the edge that runs them: small protocols, so that
``ingest`` depends on no adapter and not on the edge's composition (``edge.state.EdgeState``
provides all of them)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings

if TYPE_CHECKING:
    from leadstream.ingest.anonymise import Anonymiser
    from leadstream.ingest.client_ip import ClientAddress
    from leadstream.ingest.cors import CorsPolicy
    from leadstream.ingest.ratelimit import RateLimiter
    from leadstream.ingest.replay import ReplayGuard


class Publishes(Protocol):
    async def publish(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        """Return once Kafka has every record; raise ``BrokerUnavailable`` otherwise."""


class AwaitsReplies(Protocol):
    """Answers the stream processors post for a request (request-reply)."""

    @property
    def available(self) -> bool: ...
    def expect(self, kind: str, request_id: str) -> asyncio.Future[dict[str, Any]]: ...
    def forget(self, kind: str, request_id: str, fut: asyncio.Future[dict[str, Any]]) -> None: ...
    async def stored(self, kind: str, request_id: str) -> dict[str, Any] | None: ...
    async def wait(self, kind: str, request_id: str, fut: asyncio.Future[dict[str, Any]], timeout_s: float) -> Any: ...


class KnowsSites(Protocol):
    def get(self, public_id: str) -> SiteRecord | None: ...
    def origin_known(self, origin: str) -> bool: ...


class TrackingEdge(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def publisher(self) -> Publishes: ...
    @property
    def sites(self) -> KnowsSites: ...
    @property
    def cors(self) -> CorsPolicy: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def replies(self) -> AwaitsReplies: ...
    @property
    def clients(self) -> ClientAddress: ...
    @property
    def anonymiser(self) -> Anonymiser: ...
    @property
    def replays(self) -> ReplayGuard: ...
