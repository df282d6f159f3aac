"""Discovery's provider connectors through the real edge, stage chain and worker, the providers played
by a real HTTP server on 127.0.0.1 (tests/http_stub.py) that the worker process calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.http_stub import Reply, StubServer
from tests.processes import edge_and_worker
from tests.providers.samples import APOLLO_SEARCH, LINKEDIN_SEARCH

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
TOKEN = "providers-token"
HEADERS = {"x-pr-os-token": TOKEN, "x-tenant-id": "acme"}
APOLLO = "/api/v1/mixed_companies/search"
LINKEDIN = "/rest/companySearch"
TENANT_COMPANY = {"company_id": "c-1", "name": "Gulf Payroll", "domain": "www.gulfpayroll.ae", "industry": "banking"}


@pytest.fixture(scope="module")
def providers() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture(scope="module")
def os_edge(stack: None, tmp_path_factory: pytest.TempPathFactory, providers: StubServer) -> Iterator[httpx.Client]:
    with edge_and_worker(
        tmp_path_factory.mktemp("os-providers"),
        os_tokens=orjson.dumps({TOKEN: ["acme"]}).decode(),
        apollo_api_key="apollo-key",
        apollo_base_url=providers.url,
        linkedin_api_token="linkedin-token",
        linkedin_base_url=providers.url,
        provider_timeout_s=3.0,
        provider_retries=1,
    ) as (_, http):
        assert http.post("/api/os/signals", json={"companies": [TENANT_COMPANY]}, headers=HEADERS).status_code == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for the load to reach the warehouse
            if discovery(http, ["custom"])["total"] == 1:
                break
            time.sleep(0.5)
        yield http


@pytest.fixture
def http(os_edge: httpx.Client, providers: StubServer) -> httpx.Client:
    """The edge, with the providers' script and record cleared."""
    providers.reset()
    return os_edge


def discovery(http: httpx.Client, sources: list[str], **config: Any) -> dict[str, Any]:
    r = http.post("/api/os/discovery", json={"config": {"sources": sources, **config}}, headers=HEADERS)
    assert r.status_code == 200, r.text
    assert "fallback" not in r.json()["data"], r.text
    return r.json()["data"]


def test_discovery_merges_what_the_providers_find(http: httpx.Client, providers: StubServer) -> None:
    providers.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    providers.reply(LINKEDIN, Reply(503, b""), Reply(200, LINKEDIN_SEARCH))
    data = discovery(http, ["custom", "apollo", "linkedin"], limit=10)
    # apollo:64a1f0 has the tenant's domain, so the tenant's own record stands for it
    assert [c["company_id"] for c in data["companies"]] == ["c-1", "apollo:64a1f1", "linkedin:1001", "linkedin:1002"]
    assert [c.get("source") for c in data["companies"]] == [None, "apollo", "linkedin", "linkedin"]
    assert data["sources"] == {"used": ["custom", "apollo", "linkedin"], "failed": []}
    assert {s["source"] for s in data["signals"]} == {"linkedin"}
    [asked] = providers.seen(APOLLO)
    assert asked.headers["x-api-key"] == "apollo-key"
    assert asked.query["organization_locations[]"] == ["United Arab Emirates"]
    assert len(providers.seen(LINKEDIN)) == 2  # the 503 was retried


def test_a_failing_provider_is_reported_and_the_rest_still_answer(http: httpx.Client, providers: StubServer) -> None:
    providers.reply(APOLLO, Reply(401, {"error": "Invalid access credentials."}))
    providers.reply(LINKEDIN, Reply(200, b"{not json"))
    data = discovery(http, ["custom", "apollo", "linkedin"])
    assert [c["company_id"] for c in data["companies"]] == ["c-1"]
    assert data["sources"] == {
        "used": ["custom"],
        "failed": [
            {
                "source": "apollo",
                "reason": f"HTTP 401 from {providers.url}{APOLLO} (check LEADSTREAM_APOLLO_API_KEY)",
            },
            {"source": "linkedin", "reason": f"invalid JSON from {providers.url}{LINKEDIN}"},
        ],
    }


def test_pipeline_scores_the_providers_companies(http: httpx.Client, providers: StubServer) -> None:
    providers.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    body = {"config": {"mode": "discovery_to_score", "discovery": {"sources": ["apollo"], "limit": 5}}}
    r = http.post("/api/os/pipeline", json=body, headers=HEADERS)
    assert r.status_code == 200, r.text
    stages = r.json()["data"]["stages"]
    assert stages["discovery"]["sources"] == {"used": ["apollo"], "failed": []}
    assert [s["entity_id"] for s in stages["score"]["scores"]] == ["apollo:64a1f0", "apollo:64a1f1"]
    assert {x["entity_id"] for x in stages["rank"]["ranked"]} == {"apollo:64a1f0", "apollo:64a1f1"}


def test_discovery_v2_searches_every_configured_provider(http: httpx.Client, providers: StubServer) -> None:
    providers.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    providers.reply(LINKEDIN, Reply(200, LINKEDIN_SEARCH))
    r = http.post("/api/os/discovery-v2", json={"query": "payroll", "options": {"maxResults": 10}}, headers=HEADERS)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert "fallback" not in data
    assert data["trace"]["sources"] == {"used": ["custom", "apollo", "linkedin"], "failed": []}
    [asked] = providers.seen(APOLLO)
    assert asked.query["q_organization_keyword_tags[]"] == ["payroll"]  # the query goes to the providers
    assert "c-1" in [c["company_id"] for c in data["companies"]]  # Gulf Payroll, the tenant's own
    found = {c["company_id"] for c in data["discovery"]["candidates"]}
    assert {c["company_id"] for c in data["companies"]} <= found
    composites = [x["composite"] for x in data["discovery"]["ranked"]]
    assert composites == sorted(composites, reverse=True)
