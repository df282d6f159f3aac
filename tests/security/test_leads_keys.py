"""Site API keys: a key reaches only its own, active site; revoked and forged keys reach nothing;
the keys topic never holds a key in clear; last use is recorded without failing a request."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from leadstream.edge.site_auth import site_of
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.keys import SiteKeys, last_used, mint_key, publish_key
from leadstream.sites.registry import SiteRegistry
from tests.edge_fixtures import read_topic


@dataclass
class Edge:
    settings: Settings
    sites: SiteRegistry
    site_keys: SiteKeys
    redis: aioredis.Redis


def edge_with(settings: Settings, *sites: SiteRecord) -> Edge:
    registry = SiteRegistry(settings)
    for site in sites:
        registry.apply(site.public_id.encode(), site.model_dump_json().encode())
    return Edge(settings, registry, SiteKeys(settings), aioredis.from_url(settings.redis_url))


@pytest.mark.integration
async def test_a_key_reaches_its_own_active_site_only(settings: Settings) -> None:
    edge = edge_with(
        settings, SiteRecord(public_id="a"), SiteRecord(public_id="b"), SiteRecord(public_id="off", active=False)
    )
    key_a, rec_a = mint_key("a")
    key_off, rec_off = mint_key("off")
    for record in (rec_a, rec_off):
        edge.site_keys.put(record)
    assert site_of(edge, {"authorization": f"Bearer {key_a}"}) == "a"
    assert site_of(edge, {"x-api-key": key_a}) == "a"
    assert site_of(edge, {"authorization": f"Bearer {key_off}"}) is None  # disabled site
    assert site_of(edge, {"authorization": f"Basic {key_a}"}) is None
    assert site_of(edge, {"authorization": "Bearer " + key_a[:-2] + "xx"}) is None
    assert site_of(edge, {}) is None
    edge.site_keys.put(rec_a.model_copy(update={"revoked_at": datetime.now(UTC)}))
    assert site_of(edge, {"authorization": f"Bearer {key_a}"}) is None
    await asyncio.sleep(0.2)
    assert rec_a.prefix in await last_used(settings)
    await edge.redis.aclose()


@pytest.mark.integration
async def test_the_keys_topic_holds_hashes_never_keys(settings: Settings) -> None:
    key, record = mint_key("a")
    await publish_key(settings, record)
    values = await read_topic(settings, settings.topics.site_keys, 1)
    assert values and all(key.encode() not in v and key.split("_", 2)[2].encode() not in v for v in values)
    assert record.key_hash.encode() in values[0]


@pytest.mark.integration
async def test_last_use_failing_never_fails_the_request(settings: Settings) -> None:
    edge = edge_with(settings, SiteRecord(public_id="a"))
    edge.redis = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.1)
    key, record = mint_key("a")
    edge.site_keys.put(record)
    assert site_of(edge, {"authorization": f"Bearer {key}"}) == "a"
    await asyncio.sleep(0.3)
