"""``POST /api/call-event`` on the real broker and Redis.

Until the matcher runs in the worker, a test responder stands in for it: it reads the calls
topic and answers through the same Redis reply path the matcher uses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer

from leadstream.ingest.signing import sign
from leadstream.redis.replies import post_reply
from leadstream.schemas.calls import CallRecord
from leadstream.settings import Settings
from tests.edge_fixtures import ORIGIN, SECRET, EdgeFactory, read_topic

pytestmark = pytest.mark.integration
MATCHED_SESSION = uuid.UUID("11111111-2222-4333-8444-555555555555")


def call(**kw: object) -> dict[str, object]:
    return {"site_id": "site-1", "phone_number": "tel:+1 (555) 010-0200", "fingerprint": "fp-match", **kw}


@pytest.fixture
async def responder(settings: Settings) -> AsyncIterator[list[CallRecord]]:
    """Answers calls: fp-match -> matched (score 42), fp-none -> unmatched, fp-slow -> no answer."""
    seen: list[CallRecord] = []
    redis = aioredis.from_url(settings.redis_url)
    consumer = AIOKafkaConsumer(
        settings.topics.calls, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()

    async def run() -> None:
        async for msg in consumer:
            record = CallRecord.model_validate_json(msg.value)
            seen.append(record)
            if record.fingerprint == "fp-slow":
                continue
            matched = record.fingerprint == "fp-match"
            answer = {
                "status": "matched" if matched else "unmatched",
                "call_id": str(record.call_id),
                "session_id": str(MATCHED_SESSION) if matched else None,
                "lead_score": 42 if matched else 0,
            }
            await post_reply(redis, settings.topic_prefix, "call", str(record.call_id), answer)

    task = asyncio.create_task(run())
    yield seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await consumer.stop()
    await redis.aclose()


async def test_matched(client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
    r = await client.post("/api/call-event", json=call())
    assert r.status_code == 200
    body = r.json()
    assert body == {
        "status": "matched",
        "call_id": body["call_id"],
        "session_id": str(MATCHED_SESSION),
        "lead_score": 42,
    }
    [record] = responder
    assert str(record.call_id) == body["call_id"]
    assert record.phone_number == "+15550100200" and record.phone_raw == "tel:+1 (555) 010-0200"
    assert record.key == b"site-1:fp-match"


async def test_unmatched(client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
    r = await client.post("/api/call-event", json=call(fingerprint="fp-none"))
    assert r.status_code == 200
    assert r.json()["status"] == "unmatched"
    assert r.json()["session_id"] is None and r.json()["lead_score"] == 0


async def test_no_answer_in_time_is_queued_202_and_still_published(
    edge: EdgeFactory, settings: Settings, responder: list[CallRecord]
) -> None:
    client = await edge(call_reply_timeout_s=0.3)
    r = await client.post("/api/call-event", json=call(fingerprint="fp-slow"))
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "queued" and body["session_id"] is None and uuid.UUID(body["call_id"])
    assert len(await read_topic(settings, settings.topics.calls, 1)) == 1


async def test_repeat_with_event_id_returns_the_first_answer(
    client: httpx.AsyncClient, responder: list[CallRecord]
) -> None:
    event_id = str(uuid.uuid4())
    first = await client.post("/api/call-event", json=call(event_id=event_id))
    again = await client.post("/api/call-event", json=call(event_id=event_id))
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    await asyncio.sleep(0.3)
    assert len(responder) == 1  # the repeat created nothing new
    other_site = await client.post("/api/call-event", json=call(event_id=event_id, site_id="site-2"))
    assert other_site.json()["call_id"] != first.json()["call_id"]  # idempotency is per site


async def test_whatsapp_link_normalised(client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
    r = await client.post("/api/call-event", json=call(phone_number="https://wa.me/15550100", action="whatsapp"))
    assert r.status_code == 200
    assert responder[0].phone_number == "whatsapp:+15550100"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"site_id": "site-1", "fingerprint": "f"}, "Invalid phone_number"),
        (call(fingerprint="x" * 129), "Invalid fingerprint"),
        (call(phone_number="1" * 257), "Invalid phone_number"),
        (call(event_id="nope"), "Invalid event_id"),
        (call(action="sms"), "Invalid action"),
        ([1], "Invalid body"),
    ],
)
async def test_bad_input_400(client: httpx.AsyncClient, body: object, message: str) -> None:
    r = await client.post("/api/call-event", content=orjson.dumps(body))
    assert r.status_code == 400
    assert r.json()["ok"] is False and r.json()["message"].startswith(message)


async def test_unknown_site_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/call-event", json=call(site_id="ghost"))
    assert r.status_code == 404 and r.json()["message"] == "Site not found"


async def test_rate_limit_per_fingerprint(edge: EdgeFactory, responder: list[CallRecord]) -> None:
    client = await edge(rate_call_fp_per_min=2, call_reply_timeout_s=0.2)
    codes = [(await client.post("/api/call-event", json=call())).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    other_fp = await client.post("/api/call-event", json=call(fingerprint="fp-none"))
    assert other_fp.status_code == 200


async def test_rate_limit_per_ip(edge: EdgeFactory, responder: list[CallRecord]) -> None:
    client = await edge(rate_call_per_min=2, call_reply_timeout_s=0.2)
    codes = [(await client.post("/api/call-event", json=call(fingerprint=f"fp-{i}"))).status_code for i in range(3)]
    assert codes == [200, 200, 429]


class TestSigning:
    def signed(self, body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
        ts = int(time.time()) if ts is None else ts
        return {"X-Ops-Ts": str(ts), "X-Ops-Signature": sign(secret, ts, body), "content-type": "application/json"}

    async def test_valid_signature(self, client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
        body = orjson.dumps(call(site_id="signed"))
        r = await client.post("/api/call-event", content=body, headers=self.signed(body))
        assert r.status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"X-Ops-Ts": "123"},
            "wrong-secret",
            "too-old",
            "future",
            "other-body",
        ],
    )
    async def test_bad_signature_401(self, client: httpx.AsyncClient, headers: object) -> None:
        body = orjson.dumps(call(site_id="signed"))
        now = int(time.time())
        h: dict[str, str] = (
            {
                "wrong-secret": lambda: self.signed(body, secret="nope"),
                "too-old": lambda: self.signed(body, ts=now - 400),
                "future": lambda: self.signed(body, ts=now + 120),
                "other-body": lambda: self.signed(body + b" "),
            }[headers]()
            if isinstance(headers, str)
            else headers
        )  # type: ignore[index,operator]
        r = await client.post("/api/call-event", content=body, headers=h)
        assert r.status_code == 401
        assert r.json()["status"] == "error" and r.json()["message"]

    async def test_unsigned_site_skips_the_check(self, client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
        r = await client.post("/api/call-event", json=call(), headers={"X-Ops-Signature": "garbage"})
        assert r.status_code == 200

    async def test_cors_on_signed_site(self, client: httpx.AsyncClient, responder: list[CallRecord]) -> None:
        body = orjson.dumps(call(site_id="signed"))
        r = await client.post("/api/call-event", content=body, headers={**self.signed(body), "Origin": ORIGIN})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN


async def test_redis_down_degrades_to_queued(edge: EdgeFactory, settings: Settings) -> None:
    client = await edge(redis_url="redis://127.0.0.1:1/0")
    r = await client.post("/api/call-event", json=call())
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert len(await read_topic(settings, settings.topics.calls, 1)) == 1  # accepted all the same
    ok = await client.post("/api/sync", json={"s": "site-1", "u": "https://x.example/", "sid": str(uuid.uuid4())})
    assert ok.status_code == 200  # ingestion goes on without Redis
