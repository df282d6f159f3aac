"""No whole client IP leaves the edge: events, calls and their dead letters on the real broker
carry the client's network and a keyed hash, and Redis keys name clients by a hash too."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from leadstream.ingest.anonymise import DAY_S, HASH_HEX, Anonymiser, DailySalts
from leadstream.schemas.calls import CallRecord
from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.streams.runtime.dead_letters import dead_letter
from tests.conftest import free_port
from tests.edge_fixtures import EdgeFactory, read_topic, sync_event

IPV4 = "203.0.113.9"  # the edge fixture's peer
IPV6 = "2001:db8:abcd:12::7"
UA = "Mozilla/5.0 (privacy test)"
CALL = {"site_id": "site-1", "phone_number": "+15550100200", "fingerprint": "fp-1"}


def whole_ips(ips: list[str]) -> list[bytes]:
    """Every spelling of the addresses a record could carry: as given, expanded, and IPv4-mapped."""
    out = []
    for ip in ips:
        addr = ipaddress.ip_address(ip)
        out += [ip.encode(), str(addr).encode(), addr.exploded.encode()]
        if addr.version == 4:
            out.append(f"::ffff:{ip}".encode())
    return out


async def consume_raw(settings: Settings, topic: str, n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    try:
        for _ in range(40):
            for records in (await consumer.getmany(timeout_ms=250)).values():
                out += [(r.key or b"", r.value or b"", list(r.headers)) for r in records]
            if len(out) >= n:
                break
    finally:
        await consumer.stop()
    return out


@pytest.mark.integration
async def test_no_whole_ip_in_events_calls_or_their_dead_letters(edge: EdgeFactory, settings: Settings) -> None:
    v4 = await edge(call_reply_timeout_s=0.2)
    v6 = await edge(client_ip=IPV6, call_reply_timeout_s=0.2)
    proxied = await edge(trusted_proxies=[IPV4], call_reply_timeout_s=0.2)
    forwarded = "198.51.100.44"
    for client, extra in ((v4, {}), (v6, {}), (proxied, {"x-forwarded-for": forwarded})):
        headers = {"user-agent": UA, **extra}
        assert (await client.post("/api/sync", json=sync_event(), headers=headers)).status_code == 200
        batch = {"events": [sync_event(), sync_event(ec="conversion")]}
        assert (await client.post("/api/sync", json=batch, headers=headers)).status_code == 200
        assert (await client.post("/api/call-event", json=CALL, headers=headers)).status_code == 202

    t = settings.topics
    events = await consume_raw(settings, t.events, 9)
    calls = await consume_raw(settings, t.calls, 3)
    assert (len(events), len(calls)) == (9, 3)
    forbidden = whole_ips([IPV4, IPV6, forwarded])
    for key, value, headers in events + calls:
        raw = key + value + b"".join(v for _, v in headers)
        assert not [ip for ip in forbidden if ip in raw], value

    prefixes = {EventRecord.model_validate_json(v).ip_prefix for _, v, _ in events}
    assert prefixes == {"203.0.113.0", "2001:db8:abcd::", "198.51.100.0"}
    assert {CallRecord.model_validate_json(v).ip_prefix for _, v, _ in calls} == prefixes
    hashes = [EventRecord.model_validate_json(v).visitor_hash or "" for _, v, _ in events]
    assert all(re.fullmatch(f"[0-9a-f]{{{HASH_HEX}}}", h) for h in hashes)
    assert len(set(hashes)) == 3  # one visitor per client (same site, same user agent)

    # Dead letters carry the record as it was: sent through the runtime's own dead-lettering.
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    consumer = AIOKafkaConsumer(
        t.events, t.calls, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        poisoned = []
        while len(poisoned) < 12:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                poisoned += [(r, "invalid: a test's poison") for r in records]
        await dead_letter(producer, t.dead_letters, "test", poisoned)
    finally:
        await consumer.stop()
        await producer.stop()
    dead = await consume_raw(settings, t.dead_letters, 12)
    assert len(dead) == 12
    for key, value, headers in dead:
        raw = key + value + b"".join(v for _, v in headers)
        assert not [ip for ip in forbidden if ip in raw]


@pytest.mark.integration
async def test_edge_processes_share_the_day_salt_and_redis_keeps_no_address(
    edge: EdgeFactory, settings: Settings
) -> None:
    one, two = await edge(), await edge()
    for client in (one, two):
        assert (await client.post("/api/sync", json=sync_event(), headers={"user-agent": UA})).status_code == 200
    first, second = [EventRecord.model_validate_json(v) for v in await read_topic(settings, settings.topics.events, 2)]
    assert first.visitor_hash == second.visitor_hash  # the same visitor, whichever process took it

    r = redis.Redis.from_url(settings.redis_url)
    for _ in range(50):  # the limiter sends its counts within its sync interval
        if r.keys("leadstream:rl:*"):
            break
        await asyncio.sleep(0.05)
    keys = [k for k in r.keys("*")]
    assert [k for k in keys if b":rl:" in k], keys
    assert not [k for k in keys for ip in whole_ips([IPV4]) if ip in k]
    salt_keys = [k for k in keys if b"visitor-salt:" in k]
    assert len(salt_keys) == 2  # today's, and tomorrow's fetched ahead
    assert all(0 < r.ttl(k) <= 2 * DAY_S + 3600 for k in salt_keys)  # each gone an hour after its day


@pytest.fixture
def redis_later(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A Redis of this test's own, not yet running: its URL, and a call that starts it."""
    port = free_port()
    proc: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        cmd = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(tmp_path)]
        proc.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    yield f"redis://127.0.0.1:{port}/0", start
    for p in proc:
        p.terminate()
        p.wait(10)


@pytest.mark.integration
async def test_the_salt_is_shared_adopted_once_redis_answers_and_turns_with_the_day(
    redis_later: tuple[str, Callable[[], None]],
) -> None:
    url, start_redis = redis_later
    clock = [time.time()]  # real days: the salts expire at real times
    now = lambda: clock[0]  # noqa: E731
    lost_client, first_client = aioredis.from_url(url), aioredis.from_url(url)
    try:
        lost = DailySalts(lost_client, "t.", clock=now)
        with pytest.raises(redis.ConnectionError):  # Redis away: this process uses a salt of its own
            await lost.refresh()
        alone = Anonymiser(lost, clock=now)
        before = alone.visitor_hash("s", IPV4, UA)
        assert before == alone.visitor_hash("s", IPV4, UA)  # stable within the process meanwhile

        start_redis()
        first = DailySalts(first_client, "t.", clock=now)
        await first.refresh()  # another process reaches Redis first: its salt is the day's
        shared = Anonymiser(first, clock=now)
        await lost.refresh()
        assert alone.visitor_hash("s", IPV4, UA) == shared.visitor_hash("s", IPV4, UA) != before

        assert shared.visitor_hash("s", IPV4, UA) != shared.visitor_hash("other", IPV4, UA)
        assert shared.visitor_hash("s", IPV4, UA) != shared.visitor_hash("s", IPV4, UA + "x")
        assert alone.client_key(IPV4) == shared.client_key(IPV4) and IPV4 not in shared.client_key(IPV4)

        today = shared.visitor_hash("s", IPV4, UA)
        clock[0] += DAY_S  # tomorrow's salt was fetched with today's, by both
        assert alone.visitor_hash("s", IPV4, UA) == shared.visitor_hash("s", IPV4, UA) != today
    finally:
        await lost_client.aclose()
        await first_client.aclose()


@pytest.mark.integration
async def test_a_process_without_redis_still_publishes_no_address(edge: EdgeFactory, settings: Settings) -> None:
    client = await edge(redis_url="redis://127.0.0.1:1/0")
    r = await client.post("/api/sync", json=sync_event(), headers={"user-agent": UA})
    assert r.status_code == 200
    [raw] = await read_topic(settings, settings.topics.events, 1)
    record = EventRecord.model_validate_json(raw)
    assert record.ip_prefix == "203.0.113.0" and record.visitor_hash and IPV4.encode() not in raw
