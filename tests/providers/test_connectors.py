"""The discovery connectors against a real HTTP server on 127.0.0.1 (tests/http_stub.py): what they send,
their bounded retries, and the reason they give for every kind of failure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from leadstream.providers import ProviderQuery, ProviderResult, search_providers
from leadstream.settings import Settings
from tests.conftest import free_port
from tests.http_stub import Reply, StubServer
from tests.providers.samples import APOLLO_SEARCH, LINKEDIN_SEARCH

APOLLO = "/api/v1/mixed_companies/search"
LINKEDIN = "/rest/companySearch"
QUERY = ProviderQuery({"industry": "banking"}, 10, "UAE")


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def provider_settings(stub: StubServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "apollo_api_key": "apollo-secret",
        "apollo_base_url": stub.url,
        "linkedin_api_token": "li-token",
        "linkedin_base_url": stub.url + "/",
        "provider_timeout_s": 2.0,
        "provider_retries": 2,
        "os_reply_timeout_s": 5.0,
    }
    return Settings(**(values | overrides))


async def search(settings: Settings, *names: str) -> tuple[dict[str, ProviderResult], dict[str, str]]:
    return await search_providers(settings, names, QUERY)


async def test_apollo_success_sends_key_and_filters(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(200, APOLLO_SEARCH))
    found, failed = await search(provider_settings(stub), "apollo")
    assert failed == {}
    assert [c["company_id"] for c in found["apollo"].companies] == ["apollo:64a1f0", "apollo:64a1f1"]
    [seen] = stub.seen(APOLLO)
    assert seen.method == "POST" and seen.headers["x-api-key"] == "apollo-secret"
    assert seen.query == {
        "page": ["1"],
        "per_page": ["10"],
        "q_organization_keyword_tags[]": ["banking"],
        "organization_locations[]": ["United Arab Emirates"],
    }


async def test_linkedin_success_sends_bearer_and_keywords(stub: StubServer) -> None:
    stub.reply(LINKEDIN, Reply(200, LINKEDIN_SEARCH))
    found, failed = await search(provider_settings(stub), "linkedin")
    assert failed == {}
    assert len(found["linkedin"].companies) == 2 and len(found["linkedin"].signals) == 2
    [seen] = stub.seen(LINKEDIN)
    assert seen.method == "GET" and seen.headers["authorization"] == "Bearer li-token"
    assert seen.headers["linkedin-version"] == "202506" and seen.headers["x-restli-protocol-version"] == "2.0.0"
    assert seen.query == {"q": ["search"], "query": ["banking"], "start": ["0"], "count": ["10"]}


async def test_401_is_not_retried_and_names_the_setting(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(401, {"error": "Invalid access credentials."}))
    found, failed = await search(provider_settings(stub), "apollo")
    assert found == {}
    assert failed == {"apollo": f"HTTP 401 from {stub.url}{APOLLO} (check LEADSTREAM_APOLLO_API_KEY)"}
    assert len(stub.seen(APOLLO)) == 1
    assert "apollo-secret" not in failed["apollo"]


async def test_500_then_success_is_retried(stub: StubServer) -> None:
    stub.reply(LINKEDIN, Reply(500, {"message": "oops"}), Reply(503, b""), Reply(200, LINKEDIN_SEARCH))
    found, failed = await search(provider_settings(stub), "linkedin")
    assert failed == {} and len(found["linkedin"].companies) == 2
    assert len(stub.seen(LINKEDIN)) == 3


async def test_429_is_retried_after_the_asked_delay(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(429, {}, headers={"Retry-After": "0.3"}), Reply(200, APOLLO_SEARCH))
    started = time.monotonic()
    found, _ = await search(provider_settings(stub), "apollo")
    assert "apollo" in found and time.monotonic() - started >= 0.3


async def test_retries_are_bounded(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(502, b"bad gateway"))
    _, failed = await search(provider_settings(stub, provider_retries=1), "apollo")
    assert failed == {"apollo": f"HTTP 502 from {stub.url}{APOLLO} after 2 attempts"}
    assert len(stub.seen(APOLLO)) == 2


async def test_timeout_gives_up_within_the_budget(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(200, APOLLO_SEARCH, delay_s=3.0))
    started = time.monotonic()
    _, failed = await search(provider_settings(stub, provider_timeout_s=0.5), "apollo")
    assert failed == {"apollo": "timeout after 0.5 s"}
    assert time.monotonic() - started < 1.5


async def test_budget_is_capped_below_the_reply_deadline(stub: StubServer) -> None:
    stub.reply(LINKEDIN, Reply(200, LINKEDIN_SEARCH, delay_s=3.0))
    _, failed = await search(provider_settings(stub, provider_timeout_s=10.0, os_reply_timeout_s=1.0), "linkedin")
    assert failed == {"linkedin": "timeout after 0.6 s"}


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, b"<html>not json</html>"), "invalid JSON from {url}"),
        (Reply(200, {"organizations": None}), "unexpected response: no list under 'accounts' or 'organizations'"),
    ],
)
async def test_unreadable_answers(stub: StubServer, reply: Reply, reason: str) -> None:
    stub.reply(APOLLO, reply)
    _, failed = await search(provider_settings(stub), "apollo")
    assert failed == {"apollo": reason.format(url=stub.url + APOLLO)}
    assert len(stub.seen(APOLLO)) == 1  # a bad answer is not retried


async def test_unreachable_provider(stub: StubServer) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    _, failed = await search(provider_settings(stub, apollo_base_url=closed, provider_retries=1), "apollo")
    assert failed == {"apollo": f"cannot reach {closed}{APOLLO}: ConnectError after 2 attempts"}


async def test_no_credentials_means_no_call(stub: StubServer) -> None:
    settings = provider_settings(stub, apollo_api_key=None, linkedin_api_token="")
    found, failed = await search(settings, "apollo", "linkedin", "custom", "news")
    assert found == {}
    assert failed == {
        "apollo": "no credentials: set LEADSTREAM_APOLLO_API_KEY",
        "linkedin": "no credentials: set LEADSTREAM_LINKEDIN_API_TOKEN",
    }
    assert stub.requests == []


async def test_providers_are_asked_concurrently_and_fail_alone(stub: StubServer) -> None:
    stub.reply(APOLLO, Reply(200, APOLLO_SEARCH, delay_s=0.6))
    stub.reply(LINKEDIN, Reply(403, {"message": "Not enough permissions"}, delay_s=0.6))
    started = time.monotonic()
    found, failed = await search(provider_settings(stub), "linkedin", "apollo")
    assert time.monotonic() - started < 1.1  # both waits overlapped
    assert list(found) == ["apollo"]
    assert failed == {"linkedin": f"HTTP 403 from {stub.url}{LINKEDIN} (check LEADSTREAM_LINKEDIN_API_TOKEN)"}
