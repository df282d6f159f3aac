"""``POST /api/sync`` on the real broker: status codes, bodies, and what lands in Kafka."""

from __future__ import annotations

import httpx
import orjson
import pytest

from leadstream.edge.app import create_app
from leadstream.schemas.sites import SiteRecord
from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from tests.edge_fixtures import EdgeFactory, read_topic, sync_event

pytestmark = pytest.mark.integration
event = sync_event


async def consume(settings: Settings, n: int) -> list[EventRecord]:
    return [EventRecord.model_validate_json(v) for v in await read_topic(settings, settings.topics.events, n)]


async def test_single_event_is_acked_scored_and_in_kafka(client: httpx.AsyncClient, settings: Settings) -> None:
    body = event(
        ec="conversion", ea="form_submit", meta={"fp": "fp-1", "gclid": "Cj0KCQiA-123456"}, r="https://www.google.com/"
    )
    r = await client.post("/api/sync", content=orjson.dumps(body), headers={"user-agent": "pytest"})
    assert r.status_code == 200
    assert r.json() == {"ok": True, "score": 80, "status": "synced"}
    [record] = await consume(settings, 1)
    assert (record.site_id, str(record.session_id), record.score) == ("site-1", body["sid"], 80)
    assert record.ip_prefix == "203.0.113.0" and record.user_agent == "pytest"  # the network, not the address
    assert record.visitor_hash and "203.0.113.9" not in record.visitor_hash
    assert record.event_id.version == 7


async def test_batch_returns_highest_score_and_count(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post("/api/sync", json={"events": [event(ea="heartbeat"), event(ec="conversion"), event()]})
    assert r.status_code == 200
    assert r.json() == {"ok": True, "score": 50, "status": "synced", "count": 3}
    assert len(await consume(settings, 3)) == 3


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"{not json", 400, "Invalid body: not valid JSON"),
        (b"", 400, "Invalid body:"),
        (orjson.dumps({"s": "site-1"}), 400, "Invalid u: Field required"),
        (orjson.dumps({"events": [event(), event(s="site-2")]}), 400, "Invalid events[1].s"),
        (orjson.dumps(event(s="unknown-site")), 404, "Site not found"),
        (orjson.dumps(event(el="x" * 300_000)), 413, "Payload too large"),
    ],
)
async def test_errors_have_the_contract_shape(
    client: httpx.AsyncClient, content: bytes, status: int, message: str
) -> None:
    r = await client.post("/api/sync", content=content)
    assert r.status_code == status
    body = r.json()
    assert body["ok"] is False and body["score"] is None
    assert body["message"].startswith(message)


async def test_broker_unreachable_answers_503_never_200(settings: Settings) -> None:
    dead = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1", "produce_timeout_s": 0.5})
    app = create_app(dead)
    async with app.api.router.lifespan_context(app.api):
        app.edge.sites._sites["site-1"] = SiteRecord(public_id="site-1")  # registry cannot load either
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge") as c:
            r = await c.post("/api/sync", json=event())
    assert r.status_code == 503
    assert r.headers["retry-after"].isdigit()
    assert r.json()["ok"] is False


async def test_rate_limit_per_site_and_ip(edge: EdgeFactory) -> None:
    client = await edge(client_ip="198.51.100.1", rate_sync_per_min=2)
    answers = [await client.post("/api/sync", json=event()) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[1].headers["x-ratelimit-remaining"] == "0"
    limited = answers[2]
    assert limited.json() == {"error": "Rate limit exceeded", "retryAfter": int(limited.headers["retry-after"])}
    assert limited.headers["x-ratelimit-limit"] == "2"
    other_site = await client.post("/api/sync", json=event(s="site-2"))
    assert other_site.status_code == 200  # counted per (site, IP)
