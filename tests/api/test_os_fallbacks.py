"""With no stream processors running, every OS endpoint answers the contract's fallback body,
and the endpoint's circuit breaker opens."""

from __future__ import annotations

import orjson
import pytest

from tests.edge_fixtures import EdgeFactory

pytestmark = pytest.mark.integration
TOKEN = "t"
HEADERS = {"x-pr-os-token": TOKEN, "x-tenant-id": "acme"}


@pytest.fixture
async def client(edge: EdgeFactory):  # type: ignore[no-untyped-def]
    return await edge(
        os_tokens=orjson.dumps({TOKEN: ["*"]}).decode(), os_reply_timeout_s=0.3, os_pipeline_timeout_s=0.3
    )


async def test_score_fallback(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.post("/api/os/score", json={"entity_id": "e-1"}, headers=HEADERS)
    body = r.json()
    assert r.status_code == 200 and body["success"] is True and body["data"]["fallback"] is True
    scores = body["data"]["scores"]
    assert [scores[k]["value"] for k in scores] == [50] * 5
    assert (
        scores["q_score"]["rating"],
        scores["t_score"]["category"],
        scores["l_score"]["tier"],
        scores["e_score"]["strength"],
    ) == ("FAIR", "SOON", "WARM", "FAIR")
    assert (scores["composite"]["tier"], scores["composite"]["grade"]) == ("COOL", "C")
    assert body["timestamp"] and body["meta"]["endpoint"] == "/api/os/score"


async def test_discovery_outreach_pipeline_fallbacks(client) -> None:  # type: ignore[no-untyped-def]
    d = (await client.post("/api/os/discovery", json={}, headers=HEADERS)).json()["data"]
    assert d | {"region": None, "vertical": None} == {
        "companies": [],
        "signals": [],
        "total": 0,
        "fallback": True,
        "message": "Discovery temporarily unavailable",
        "region": None,
        "vertical": None,
    }
    o = (await client.post("/api/os/outreach", json={"leads": [{"id": "l", "name": "Sam"}]}, headers=HEADERS)).json()
    assert o["data"]["fallback"] is True and o["data"]["outreach_items"][0]["lead_id"] == "l"
    p = (await client.post("/api/os/pipeline", json={}, headers=HEADERS)).json()["data"]
    assert p["fallback"] is True and {s["status"] for s in p["stages"].values()} == {"skipped"}


async def test_breaker_opens_after_consecutive_failures(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(6):
        await client.post("/api/os/score", json={"entity_id": "e"}, headers=HEADERS)
    health = (await client.get("/api/os/health")).json()["data"]
    assert health["breakers"]["score"] == "OPEN"


async def test_discovery_v2_fallback_is_the_saas_body(client) -> None:  # type: ignore[no-untyped-def]
    body = {"query": "payroll", "sales_context": {"region": "UAE"}, "options": {"maxResults": 5}}
    r = await client.post("/api/os/discovery-v2", json=body, headers=HEADERS)
    data = r.json()["data"]
    assert r.status_code == 200 and r.json()["success"] is True and r.json()["meta"]["endpoint"].endswith("-v2")
    assert data["discovery"] == {"candidates": [], "ranked": [], "actions": {}}
    assert data["uxTruth"] == {
        "headline": "Discovery temporarily unavailable",
        "explanation": "Please try again later",
        "isEmpty": True,
    }
    assert data["trace"] == {"query": "payroll", "region": "UAE", "fallback": True}
    assert data["companies"] == [] and data["companyCount"] == 0
