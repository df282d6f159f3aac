"""The discovery stage of the OS chain in-process: the tenant's rows (from a stand-in for the warehouse)
merged with what the provider connectors find on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from leadstream.schemas.os import OSRun
from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryResult
from leadstream.streams.os_chain import OSStages, answer
from tests.http_stub import Reply, StubServer
from tests.providers.samples import APOLLO_SEARCH, LINKEDIN_SEARCH

APOLLO = "/api/v1/mixed_companies/search"
LINKEDIN = "/rest/companySearch"
COMPANY_COLUMNS = ["company_id", "name", "domain", "industry", "size", "linkedin_url", "location", "data"]
SIGNAL_COLUMNS = ["signal_id", "company_id", "type", "source", "evidence", "confidence", "date", "data"]


class TenantRows:
    """What the warehouse holds for the tenant: one company, whose domain Apollo also knows."""

    async def read(self, sql: str, params: dict[str, Any]) -> QueryResult:
        if "os_companies_v" in sql:
            return QueryResult(COMPANY_COLUMNS, [["c-1", "Gulf Payroll", "gulfpayroll.ae", "banking", "", "", "", ""]])
        return QueryResult(SIGNAL_COLUMNS, [["s-1", "c-1", "hiring", "news", "30 roles", 0.9, "2026-11-01", ""]])


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def stages(stub: StubServer, **overrides: Any) -> OSStages:
    settings = Settings(
        **{
            "apollo_api_key": "k",
            "apollo_base_url": stub.url,
            "linkedin_api_token": "t",
            "linkedin_base_url": stub.url,
            "provider_timeout_s": 1.0,
            "provider_retries": 1,
            **overrides,
        }
    )
    return OSStages(settings, TenantRows())  # type: ignore[arg-type]


def os_run(endpoint: str, request: dict[str, Any]) -> OSRun:
    return OSRun(
        run_id="r-1",
        tenant_id="acme",
        request_id="q-1",
        endpoint=endpoint,
        stages=["discovery"],
        request=request,
        context={"region": "UAE", "vertical": "banking"},
        started_at=datetime.now(UTC),
    )


async def test_discovery_merges_the_providers_after_the_tenant(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    stub.reply(LINKEDIN, Reply(500, {}), Reply(200, LINKEDIN_SEARCH))
    run = os_run("/api/os/discovery", {"config": {"sources": ["custom", "apollo", "linkedin"], "limit": 4}})
    await stages(stub).discovery(run)
    data = answer(run)["data"]
    assert [c["company_id"] for c in data["companies"]] == ["c-1", "apollo:64a1f1", "linkedin:1001", "linkedin:1002"]
    assert data["total"] == 4 and data["region"] == "UAE" and data["vertical"] == "banking"
    assert data["sources"] == {"used": ["custom", "apollo", "linkedin"], "failed": []}
    assert {s["signal_id"] for s in data["signals"]} == {"s-1", "linkedin:1002:u-1", "linkedin:1002:1"}
    assert stub.seen(APOLLO)[0].query["per_page"] == ["4"]


async def test_pipeline_discovery_config_and_a_failing_provider(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    run = os_run(
        "/api/os/pipeline",
        {"config": {"mode": "discovery_only", "discovery": {"sources": ["apollo", "linkedin", "news"]}}},
    )
    await stages(stub, linkedin_base_url=stub.url + "/gone").discovery(run)
    found = run.results["discovery"]
    assert [c["company_id"] for c in found["companies"]] == ["apollo:64a1f0", "apollo:64a1f1"]
    assert found["sources"] == {
        "used": ["apollo"],
        "failed": [
            {"source": "linkedin", "reason": f"HTTP 404 from {stub.url}/gone{LINKEDIN}"},
            {"source": "news", "reason": "unknown source"},
        ],
    }


async def test_without_credentials_nothing_is_called(stub: StubServer) -> None:
    run = os_run("/api/os/discovery", {"config": {"sources": ["custom", "apollo", "linkedin"]}})
    await stages(stub, apollo_api_key=None, linkedin_api_token=None).discovery(run)
    found = run.results["discovery"]
    assert [c["company_id"] for c in found["companies"]] == ["c-1"] and stub.requests == []
    assert [f["reason"] for f in found["sources"]["failed"]] == [
        "no credentials: set LEADSTREAM_APOLLO_API_KEY",
        "no credentials: set LEADSTREAM_LINKEDIN_API_TOKEN",
    ]
