"""What the sales-OS handlers need from the edge that runs them (``edge.state.EdgeState``
provides it): Kafka publishing and request-reply as the tracking handlers know them, plus the
OS token table and the circuit breakers (per endpoint and tenant)."""

from __future__ import annotations

from typing import Protocol

from leadstream.api.auth import TokenTable
from leadstream.ingest.ports import AwaitsReplies, Publishes
from leadstream.salesos.breaker import BreakerRegistry
from leadstream.settings import Settings


class PublishesWhenReady(Publishes, Protocol):
    @property
    def ready(self) -> bool: ...


class OSEdge(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def publisher(self) -> PublishesWhenReady: ...
    @property
    def replies(self) -> AwaitsReplies: ...
    @property
    def os_auth(self) -> TokenTable: ...
    @property
    def breakers(self) -> BreakerRegistry: ...
    @property
    def ready(self) -> bool: ...
