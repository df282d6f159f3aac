"""An in-process edge on the real broker, Redis and registry, and a Kafka reader for tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from leadstream.edge.app import create_app
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.registry import publish_site

ORIGIN = "https://shop.example"
SECRET = "test-signing-secret"
EdgeFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def edge(settings: Settings) -> AsyncIterator[EdgeFactory]:
    """``await edge(**setting_overrides)``: a client for a running edge with sites registered."""
    await publish_site(settings, SiteRecord(public_id="site-1", origins=[ORIGIN]))
    await publish_site(settings, SiteRecord(public_id="site-2", origins=["https://other.example"]))
    await publish_site(settings, SiteRecord(public_id="signed", origins=[ORIGIN], signing_secret=SECRET))
    contexts = []

    async def start(client_ip: str = "203.0.113.9", **overrides: object) -> httpx.AsyncClient:
        app = create_app(settings.model_copy(update=overrides))
        lifespan = app.api.router.lifespan_context(app.api)
        await lifespan.__aenter__()
        contexts.append(lifespan)
        await app.edge.sites.wait_loaded(10)
        transport = httpx.ASGITransport(app=app, client=(client_ip, 5555))
        client = httpx.AsyncClient(transport=transport, base_url="http://edge")
        contexts.append(client)
        return client

    yield start
    for ctx in reversed(contexts):
        await ctx.__aexit__(None, None, None)


@pytest.fixture
async def client(edge: EdgeFactory) -> httpx.AsyncClient:
    return await edge()


def sync_event(**kw: object) -> dict[str, object]:
    return {"s": "site-1", "u": "https://shop.example/p", "sid": str(uuid.uuid4()), **kw}


async def read_topic(settings: Settings, topic: str, n: int, max_s: float = 10) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        for _ in range(int(max_s * 4)):
            batches = await consumer.getmany(timeout_ms=250)
            out += [r.value for rs in batches.values() for r in rs]
            if len(out) >= n:
                break
    finally:
        await consumer.stop()
    return out
