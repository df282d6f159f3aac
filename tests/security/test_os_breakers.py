"""One tenant's failures never open another tenant's circuit breaker.

The edge kept one breaker per endpoint: a tenant whose runs failed (a body the chain chokes on, a flood
past the reply deadline) opened it, and every tenant got the fallback body for the next 30-60 s. Breakers
are now per (endpoint, tenant) at the edge and per (provider, tenant) for discovery's connectors; health
still reports one state per endpoint (the worst), naming no tenant. The registry is bounded, so a token
for any tenant cannot grow the edge's memory by inventing tenants.

The clock is injected in the unit tests; the edge and connector tests count requests, never time.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from prometheus_client import REGISTRY

from leadstream.providers import ProviderQuery, provider_breakers, search_providers
from leadstream.salesos.breaker import BREAKER_POLICIES, BreakerRegistry, BreakerState
from leadstream.settings import Settings
from tests.edge_fixtures import EdgeFactory
from tests.http_stub import Reply, StubServer

APOLLO = "/api/v1/mixed_companies/search"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fail(registry: BreakerRegistry, name: str, tenant: str, times: int) -> None:
    for _ in range(times):
        breaker = registry.get(name, tenant)
        if breaker.allow():
            breaker.record_failure()
        registry.observe(name, tenant)


def test_a_tenants_failures_open_its_own_breaker_only() -> None:
    clock = Clock()
    registry = BreakerRegistry(now=clock)
    fail(registry, "score", "acme", BREAKER_POLICIES["score"].failure_threshold)
    assert registry.get("score", "acme").state is BreakerState.OPEN
    assert registry.get("score", "globex").state is BreakerState.CLOSED
    assert registry.get("score", "globex").allow()
    assert registry.get("outreach", "acme").state is BreakerState.CLOSED  # and only for that endpoint
    assert registry.states()["score"] is BreakerState.OPEN and registry.states()["outreach"] is BreakerState.CLOSED
    assert registry.not_closed()["score"] == 1
    clock.now += BREAKER_POLICIES["score"].reset_timeout_s
    assert registry.worst("score") is BreakerState.HALF_OPEN
    for _ in range(2):
        breaker = registry.get("score", "acme")
        assert breaker.allow()
        breaker.record_success()
        registry.observe("score", "acme")
    assert registry.states()["score"] is BreakerState.CLOSED and registry.not_closed()["score"] == 0


def test_the_registry_is_bounded() -> None:
    registry = BreakerRegistry(max_breakers=3, now=Clock())
    fail(registry, "score", "t-0", 5)
    for n in range(1, 4):  # t-0 is the least recently used when t-3 comes
        registry.get("score", f"t-{n}")
    assert registry.states()["score"] is BreakerState.CLOSED  # t-0 forgotten, with its open breaker
    assert registry.get("score", "t-0").state is BreakerState.CLOSED


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


async def test_a_providers_breaker_opens_for_the_failing_tenant_only(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(500, {"error": "down"}))
    settings = Settings(
        apollo_api_key="k", apollo_base_url=stub.url, provider_retries=0, provider_timeout_s=2.0, os_reply_timeout_s=5
    )
    breakers = provider_breakers()
    acme = ProviderQuery({"industry": "banking"}, 10, "UAE", tenant="acme")
    for _ in range(3):
        _, failed = await search_providers(settings, ["apollo"], acme, breakers)
        assert failed["apollo"].startswith("HTTP 500")
    asked = len(stub.seen(APOLLO))
    _, failed = await search_providers(settings, ["apollo"], acme, breakers)
    assert failed["apollo"].startswith("circuit open") and len(stub.seen(APOLLO)) == asked  # not asked
    stub.reply(APOLLO, Reply(200, {"organizations": []}))
    globex = ProviderQuery({"industry": "banking"}, 10, "UAE", tenant="globex")
    found, failed = await search_providers(settings, ["apollo"], globex, breakers)
    assert failed == {} and "apollo" in found and len(stub.seen(APOLLO)) == asked + 1


def fallbacks(reason: str) -> float:
    value = REGISTRY.get_sample_value("leadstream_os_fallbacks_total", {"endpoint": "score", "reason": reason})
    return value or 0.0


@pytest.mark.integration
async def test_through_the_edge_another_tenant_is_still_served(edge: EdgeFactory) -> None:
    tokens = orjson.dumps({"saas": ["acme", "globex"]}).decode()
    http = await edge(os_tokens=tokens, os_reply_timeout_s=0.1)  # no worker: every run goes unanswered
    body = {"entity_data": {"name": "Acme"}}

    async def score(tenant: str) -> None:
        r = await http.post("/api/os/score", json=body, headers={"x-pr-os-token": "saas", "x-tenant-id": tenant})
        assert r.status_code == 200 and r.json()["data"]["fallback"] is True

    for _ in range(BREAKER_POLICIES["score"].failure_threshold):
        await score("acme")
    open_before = fallbacks("breaker_open")
    await score("acme")
    assert fallbacks("breaker_open") == open_before + 1  # acme's breaker is open
    tried_before = fallbacks("no_reply")
    await score("globex")
    assert fallbacks("no_reply") == tried_before + 1  # globex's run went to the chain
    assert fallbacks("breaker_open") == open_before + 1
    health = await http.get("/api/os/health")
    assert health.json()["data"]["breakers"]["score"] == "OPEN"
    assert "acme" not in health.text and "globex" not in health.text
