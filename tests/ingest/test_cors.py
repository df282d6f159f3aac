"""Fail-closed CORS (SPEC §2.3) on both tracking endpoints."""

from __future__ import annotations

import httpx
import pytest

from tests.edge_fixtures import ORIGIN, sync_event

pytestmark = pytest.mark.integration
PATHS = ["/api/sync", "/api/call-event"]
EVIL = "https://evil.example"


def call(**kw: object) -> dict[str, object]:
    return {"site_id": "site-1", "phone_number": "+15550100", "fingerprint": "fp", **kw}


@pytest.mark.parametrize("path", PATHS)
async def test_preflight_allowed_origin(client: httpx.AsyncClient, path: str) -> None:
    r = await client.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("origin", [EVIL, "null", "https://shop.example.evil.example", "http://shop.example", "*"])
async def test_preflight_denied_origin(client: httpx.AsyncClient, path: str, origin: str) -> None:
    r = await client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert "Origin" in r.headers["vary"]


async def test_preflight_allows_an_origin_of_any_registered_site(client: httpx.AsyncClient) -> None:
    r = await client.options("/api/sync", headers={"Origin": "https://other.example"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://other.example"


async def test_post_allowed_origin_echoes_exactly(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/sync", json=sync_event(), headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize(("path", "body"), [("/api/sync", sync_event()), ("/api/call-event", call())])
async def test_post_from_unknown_origin_is_403_without_acao(client: httpx.AsyncClient, path: str, body: dict) -> None:
    r = await client.post(path, json=body, headers={"Origin": EVIL})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize(("path", "body"), [("/api/sync", sync_event()), ("/api/call-event", call())])
async def test_post_origin_of_another_site_is_403(client: httpx.AsyncClient, path: str, body: dict) -> None:
    # https://other.example is registered, but for site-2, and the body names site-1
    r = await client.post(path, json=body, headers={"Origin": "https://other.example"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


async def test_without_origin_cors_does_not_apply(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/sync", json=sync_event())
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    assert "Origin" in r.headers["vary"]


async def test_errors_to_an_allowed_origin_are_readable(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/sync", content=b"{oops", headers={"Origin": ORIGIN})
    assert r.status_code == 400
    assert r.headers["access-control-allow-origin"] == ORIGIN


async def test_global_origin_list(edge) -> None:  # type: ignore[no-untyped-def]
    client = await edge(cors_origins=["https://partner.example", "https://cdn.example"])
    r = await client.post("/api/sync", json=sync_event(), headers={"Origin": "https://cdn.example"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://cdn.example"


async def test_vary_on_every_response(client: httpx.AsyncClient) -> None:
    for r in [await client.get("/healthz"), await client.post("/api/sync", json={}), await client.get("/nope")]:
        assert "Origin" in r.headers["vary"]
