"""Signed call-events: any malformed signing header is a 401 in the contract's shape (never a
500), and a signed call is accepted once, whether it names an event id or not."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import pytest
import redis.asyncio as aioredis

from leadstream.ingest.replay import ReplayGuard
from leadstream.ingest.signing import sign, signature_problem
from leadstream.schemas.calls import CallEventRequest, CallRecord
from leadstream.settings import Settings
from tests.edge_fixtures import SECRET, EdgeFactory, read_topic
from tests.ingest.test_call_event import responder  # noqa: F401  (fixture: answers the calls)

BODY = orjson.dumps({"site_id": "signed", "phone_number": "+15550100200", "fingerprint": "fp-match"})
GOOD_SIG = "0" * 64

# Header values as they arrive: bytes, decoded as latin-1 by the edge.
MALFORMED_TS = [
    "\u00b2",  # latin-1 superscript two: str.isdigit() says yes, int() says no
    "\u00b9\u00b2\u00b3",
    "\uff11\uff12\uff13",  # full-width digits
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    " 1733150000",
    "1733150000 ",
    "1733150000\n",
    "+1733150000",
    "-5",
    "1.7e9",
    "0x10",
    "9" * 13,
    "9" * 5000,
    "١",
]
MALFORMED_SIG = [
    "\u00e9" * 64,  # non-ASCII: compare_digest on str refused it with a TypeError
    "\u00ff" * 63 + "a",
    "g" * 64,
    "a" * 63,
    "a" * 65,
    " " + "a" * 64,
    "a" * 64 + " ",
    "a" * 32 + "\x00" + "a" * 31,
    "\uff41" * 64,  # full-width 'a'
    "a" * 5000,
]


@pytest.mark.parametrize("ts", MALFORMED_TS)
def test_a_malformed_timestamp_is_a_problem_not_an_exception(ts: str) -> None:
    assert signature_problem(SECRET, ts, GOOD_SIG, BODY, now=time.time())


@pytest.mark.parametrize("signature", MALFORMED_SIG)
def test_a_malformed_signature_is_a_problem_not_an_exception(signature: str) -> None:
    now = int(time.time())
    assert signature_problem(SECRET, str(now), signature, BODY, now=now)


def test_a_correct_signature_passes_in_either_case() -> None:
    now = int(time.time())
    good = sign(SECRET, now, BODY)
    assert signature_problem(SECRET, str(now), good, BODY, now=now) is None
    assert signature_problem(SECRET, str(now), good.upper(), BODY, now=now) is None


@pytest.mark.integration
@pytest.mark.parametrize(
    ("ts", "signature"),
    [(ts.encode("latin-1", "replace"), GOOD_SIG.encode()) for ts in MALFORMED_TS]
    + [(b"SIGNED_NOW", sig.encode("latin-1", "replace")) for sig in MALFORMED_SIG]
    + [(b"SIGNED_NOW", b"\xe9" * 64), (b"\xb2", b"\xe9" * 64)],
)
async def test_malformed_signing_headers_are_401_in_the_contract_shape(
    client: httpx.AsyncClient, ts: bytes, signature: bytes
) -> None:
    if ts == b"SIGNED_NOW":
        ts = str(int(time.time())).encode()
    headers = {"x-ops-ts": ts, "x-ops-signature": signature, "content-type": "application/json"}
    for path in ("/api/call-event", "/api/call-event/v2"):
        r = await client.post(path, content=BODY, headers=headers)
        assert r.status_code == 401, (path, r.status_code, r.text)
        body = r.json()
        assert body["status"] == "error" and body["message"] and set(body) == {"status", "message"}


def signed(body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {"X-Ops-Ts": str(ts), "X-Ops-Signature": sign(SECRET, ts, body), "content-type": "application/json"}


@pytest.mark.integration
async def test_a_replayed_signed_call_without_event_id_is_not_a_second_call(
    edge: EdgeFactory, settings: Settings
) -> None:
    """Nobody answers (no matcher): the first is queued, the replay is refused 409 and publishes nothing."""
    client = await edge(call_reply_timeout_s=0.2)
    headers = signed(BODY)
    first = await client.post("/api/call-event", content=BODY, headers=headers)
    assert first.status_code == 202, first.text
    for path in ("/api/call-event", "/api/call-event/v2"):
        replay = await client.post(path, content=BODY, headers=headers)
        assert replay.status_code == 409, replay.text
        assert replay.json()["status"] == "error" and "Replayed" in replay.json()["message"]
    assert len(await read_topic(settings, settings.topics.calls, 2, max_s=3)) == 1


@pytest.mark.integration
async def test_a_replay_gets_the_first_answer_once_there_is_one(
    client: httpx.AsyncClient,
    responder: list[CallRecord],  # noqa: F811
) -> None:
    headers = signed(BODY)
    first = await client.post("/api/call-event", content=BODY, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "matched"
    replay = await client.post("/api/call-event", content=BODY, headers=headers)
    assert replay.status_code == 200 and replay.json() == first.json()  # same call id: nothing new
    assert len(responder) == 1


@pytest.mark.integration
async def test_a_replay_to_another_edge_process_is_refused_too(edge: EdgeFactory) -> None:
    one, two = await edge(call_reply_timeout_s=0.2), await edge(call_reply_timeout_s=0.2)
    headers = signed(BODY)
    assert (await one.post("/api/call-event", content=BODY, headers=headers)).status_code == 202
    assert (await two.post("/api/call-event", content=BODY, headers=headers)).status_code == 409


@pytest.mark.integration
async def test_signed_calls_each_signed_anew_are_all_accepted(edge: EdgeFactory, settings: Settings) -> None:
    client = await edge(call_reply_timeout_s=0.2)
    now = int(time.time())
    codes = [
        (await client.post("/api/call-event", content=BODY, headers=signed(BODY, now - i))).status_code
        for i in range(3)
    ]
    assert codes == [202] * 3  # another timestamp, another signature: another call
    calls = [CallRecord.model_validate_json(v) for v in await read_topic(settings, settings.topics.calls, 3)]
    assert len({c.call_id for c in calls}) == 3


def test_the_call_id_follows_the_event_id_else_the_signature() -> None:
    call = CallEventRequest.model_validate_json(BODY)
    fresh = uuid.uuid4()
    assert call.call_id(fresh) == fresh
    assert call.call_id(fresh, signature="AB" * 32) == call.call_id(uuid.uuid4(), signature="ab" * 32) != fresh
    assert call.call_id(fresh, signature="ab" * 32) != call.call_id(fresh, signature="cd" * 32)


async def test_without_redis_the_process_remembers_the_signatures_it_saw() -> None:
    clock = [0.0]
    redis = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.1, socket_timeout=0.1)
    guard = ReplayGuard(redis, "t.", clock=lambda: clock[0])
    try:
        assert await guard.first_use("signed", "ab" * 32)
        assert not await guard.first_use("signed", "AB" * 32)  # the same hex, either case
        assert await guard.first_use("other-site", "ab" * 32)
        clock[0] += 361  # past the window no timestamp of it is valid any more: forgetting it is safe
        assert await guard.first_use("signed", "ab" * 32)
    finally:
        await redis.aclose()
