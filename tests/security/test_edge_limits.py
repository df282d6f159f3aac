"""The tracking edge's limits under abuse: a batch costs its events, invalid requests spend a
budget of their own, ``X-Forwarded-For`` is believed from trusted proxies only, a lost Redis
keeps legitimate traffic flowing at each process's share of the limits, and odd meta keys never
cost an event.

The Redis-down proofs state an offered rate and drive the limiter with an injected clock (or
send a stated number of requests); nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from leadstream.edge.app import create_app
from leadstream.ingest.client_ip import ClientAddress
from leadstream.ingest.ratelimit import WINDOW_S, WindowCounts, count_and_judge, local_budget
from leadstream.ingest.wire import Inbound
from leadstream.schemas.sites import SiteRecord
from leadstream.schemas.tracking import MAX_META_KEY_LEN, EventRecord, parse_sync_payload
from leadstream.settings import Settings
from leadstream.sites.registry import publish_site
from tests.edge_fixtures import ORIGIN, EdgeFactory, read_topic, sync_event

CLIENT = "203.0.113.9"  # the edge fixture's socket peer


async def room_in_window(seconds: float = 10.0) -> None:
    """Start a sequence of requests with ``seconds`` of the current rate window left, so its
    counts are all in one window (the windows are fixed minutes)."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < seconds:
        await asyncio.sleep(left + 0.05)


def batch(n: int, **kw: object) -> dict[str, object]:
    return {"events": [sync_event(**kw) for _ in range(n)]}


# --- a batch costs its events -------------------------------------------------------------------


def test_a_batch_costs_its_events() -> None:
    counts, now = WindowCounts(), 1_000_020.0
    first = count_and_judge(counts, "k", 100, 120, now, shared=True, processes=1)
    assert (first.allowed, first.remaining) == (True, 20)
    assert not count_and_judge(counts, "k", 100, 120, now, shared=True, processes=1).allowed  # 200 > 120


@pytest.mark.integration
async def test_three_hundred_events_are_not_accepted_at_a_limit_of_one_hundred_twenty(edge: EdgeFactory) -> None:
    client = await edge(rate_sync_per_min=120)
    await room_in_window()
    answers = [await client.post("/api/sync", json=batch(100)) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 429, 429]
    assert answers[0].headers["x-ratelimit-remaining"] == "20"
    limited = answers[1]
    assert limited.json() == {"error": "Rate limit exceeded", "retryAfter": int(limited.headers["retry-after"])}
    assert limited.headers["x-ratelimit-limit"] == "120" and limited.headers["x-ratelimit-remaining"] == "0"


# --- invalid requests spend their own budget ---------------------------------------------------


@pytest.mark.integration
async def test_invalid_requests_are_throttled_per_client_ip(edge: EdgeFactory) -> None:
    # The edge's peer is a trusted proxy here, so each X-Forwarded-For is another client.
    client = await edge(rate_invalid_per_min=4, trusted_proxies=[CLIENT])
    prober = {"x-forwarded-for": "198.51.100.66"}
    await room_in_window()
    invalid = [
        await client.post("/api/sync", content=b"{not json", headers=prober),  # 400
        await client.post("/api/sync", json=sync_event(s="no-such-site"), headers=prober),  # 404
        await client.post("/api/sync", content=b"x" * 300_000, headers=prober),  # 413
        await client.post(
            "/api/call-event",
            json={"site_id": "signed", "phone_number": "+1555", "fingerprint": "fp"},
            headers=prober,
        ),  # 401
    ]
    assert [r.status_code for r in invalid] == [400, 404, 413, 401]
    after = await client.post("/api/sync", json=sync_event(), headers=prober)  # valid, but the budget is spent
    assert after.status_code == 429
    assert after.json() == {"error": "Rate limit exceeded", "retryAfter": int(after.headers["retry-after"])}
    assert after.headers["x-ratelimit-limit"] == "4"
    other = await client.post("/api/sync", json=sync_event(), headers={"x-forwarded-for": "198.51.100.67"})
    assert other.status_code == 200  # per client IP


@pytest.mark.integration
async def test_valid_requests_do_not_spend_the_invalid_budget(edge: EdgeFactory) -> None:
    client = await edge(rate_invalid_per_min=2)
    await room_in_window()
    assert {(await client.post("/api/sync", json=sync_event())).status_code for _ in range(5)} == {200}


# --- the client IP: trusted proxies only ------------------------------------------------------


def resolve(trusted: list[str], peer: str, *forwarded: str) -> str | None:
    return ClientAddress(trusted).resolve(peer, [(b"x-forwarded-for", h.encode("latin-1")) for h in forwarded])


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert resolve([], "127.0.0.1", "198.51.100.7") == "127.0.0.1"  # uvicorn's default trusted 127.0.0.1
    assert resolve(["10.0.0.0/8"], "203.0.113.9", "198.51.100.7") == "203.0.113.9"  # peer not trusted


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    proxies = ["10.0.0.0/8", "2001:db8:ffff::/48"]
    assert resolve(proxies, "10.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert resolve(proxies, "10.0.0.1", "1.1.1.1, 198.51.100.7") == "198.51.100.7"  # the client's own claim left
    assert resolve(proxies, "10.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.2") == "198.51.100.7"  # two proxies
    assert resolve(proxies, "10.0.0.1", "1.1.1.1", "198.51.100.7") == "198.51.100.7"  # two header lines
    assert resolve(proxies, "2001:db8:ffff::1", "[2001:db8:1::5]:443") == "2001:db8:1::5"
    assert resolve(proxies, "10.0.0.1", "198.51.100.7:5555") == "198.51.100.7"
    assert resolve(proxies, "10.0.0.1", "10.0.0.3") == "10.0.0.3"  # only proxies: the farthest one


def test_garbage_in_the_chain_stops_at_the_last_trusted_address() -> None:
    assert resolve(["10.0.0.0/8"], "10.0.0.1", "198.51.100.7, not-an-ip") == "10.0.0.1"
    assert resolve(["10.0.0.0/8"], "10.0.0.1", "\u00b2.1.1.1") == "10.0.0.1"
    assert resolve(["10.0.0.0/8"], "10.0.0.1", "") == "10.0.0.1"


def test_an_ipv4_mapped_peer_is_its_ipv4_address() -> None:
    assert resolve([], "::ffff:203.0.113.9") == "203.0.113.9"


def test_trusted_proxies_setting_takes_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSTREAM_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,2001:db8::/32")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]
    monkeypatch.setenv("LEADSTREAM_TRUSTED_PROXIES", '["10.1.0.0/16"]')
    assert Settings().trusted_proxies == ["10.1.0.0/16"]
    monkeypatch.delenv("LEADSTREAM_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == []
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=["10.0.0.0/33"])


def test_uvicorn_does_not_rewrite_the_client_and_learns_the_process_count(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    from leadstream import cli
    from leadstream.settings import get_settings

    ran: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: ran.update(kw))
    monkeypatch.setenv("LEADSTREAM_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("LEADSTREAM_EDGE_WORKERS", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["edge", "--workers", "3"])
        assert result.exit_code == 0, result.output
        assert ran["proxy_headers"] is False and ran["workers"] == 3
        assert get_settings().edge_workers == 3  # what each edge process sizes its fallback limits by
    finally:
        os.environ.pop("LEADSTREAM_EDGE_WORKERS", None)  # the CLI set it in this process: never leak it
        get_settings.cache_clear()


@pytest.mark.integration
async def test_a_spoofed_forwarded_for_neither_hides_the_client_nor_escapes_its_limit(
    edge: EdgeFactory, settings: Settings
) -> None:
    client = await edge(rate_sync_per_min=2)  # no trusted proxies
    await room_in_window()
    answers = [
        await client.post("/api/sync", json=sync_event(), headers={"x-forwarded-for": f"198.51.100.{i}"})
        for i in range(3)
    ]
    assert [r.status_code for r in answers] == [200, 200, 429]
    records = [EventRecord.model_validate_json(v) for v in await read_topic(settings, settings.topics.events, 2)]
    assert {r.ip_prefix for r in records} == {"203.0.113.0"}  # the socket peer's network


@pytest.mark.integration
async def test_behind_a_trusted_proxy_the_forwarded_client_is_used(edge: EdgeFactory, settings: Settings) -> None:
    client = await edge(trusted_proxies=["203.0.113.0/24"])
    r = await client.post("/api/sync", json=sync_event(), headers={"x-forwarded-for": "6.6.6.6, 198.51.100.23"})
    assert r.status_code == 200
    [raw] = await read_topic(settings, settings.topics.events, 1)
    assert EventRecord.model_validate_json(raw).ip_prefix == "198.51.100.0"


# --- Redis unreachable: each process allows its share ------------------------------------------


@pytest.mark.parametrize(("limit", "processes", "share"), [(2000, 1, 2000), (120, 4, 30), (10, 4, 3), (1, 8, 1)])
def test_each_process_allows_its_share_rounded_up(limit: int, processes: int, share: int) -> None:
    assert local_budget(limit, processes) == share


def offered(rate_per_min: float, cost: int, minutes: float, start: float) -> list[float]:
    """The instants of requests of ``cost`` events each, evenly spaced at ``rate_per_min`` events a minute."""
    gap = 60.0 * cost / rate_per_min
    return [start + i * gap for i in range(int(minutes * 60 / gap))]


@pytest.mark.parametrize(
    ("limit", "processes", "cost"),
    [(2000, 1, 20), (2000, 4, 20), (120, 4, 1), (150, 3, 1), (20, 2, 1)],
)
@pytest.mark.parametrize("start", [1_000_000.0, 1_000_037.3, 1_000_059.99])
def test_without_redis_traffic_within_its_share_is_never_refused(
    limit: int, processes: int, cost: int, start: float
) -> None:
    """One process offered 95% of its share for ten minutes (any phase against the windows): all
    admitted. Offered twice its share, it refuses the excess: the fallback still limits."""
    share = local_budget(limit, processes)
    counts = WindowCounts()
    for at in offered(0.95 * share, cost, 10, start):
        decision = count_and_judge(counts, f"site:{processes}", cost, limit, at, shared=False, processes=processes)
        assert decision.allowed, (at, decision)
    counts = WindowCounts()
    verdicts = [
        count_and_judge(counts, "k", cost, limit, at, shared=False, processes=processes).allowed
        for at in offered(2 * share, cost, 10, start)
    ]
    admitted_per_min = sum(verdicts) * cost / 10
    assert share * 0.9 <= admitted_per_min <= share * 1.1


@pytest.mark.integration
async def test_redis_unreachable_the_edge_admits_a_stated_load_below_its_share(settings: Settings) -> None:
    """Redis on a closed port, four edge processes configured, 400 events/min per (site, IP):
    this process's share is 100. Ten batches of 9 events (90) all pass; the next 20 do not fit."""
    await publish_site(settings, SiteRecord(public_id="site-1", origins=[ORIGIN]))
    down = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "edge_workers": 4, "rate_sync_per_min": 400}
    )
    app = create_app(down)
    async with app.api.router.lifespan_context(app.api):
        await app.edge.sites.wait_loaded(10)
        transport = httpx.ASGITransport(app=app, client=(CLIENT, 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as c:
            await room_in_window()
            statuses = [(await c.post("/api/sync", json=batch(9))).status_code]
            await app.edge.limiter.flush()  # sending that batch's count fails: the limiter knows Redis is away
            assert not app.edge.limiter.using_redis
            statuses += [(await c.post("/api/sync", json=batch(9))).status_code for _ in range(9)]
            assert statuses == [200] * 10
            over = await c.post("/api/sync", json=batch(20))
    assert over.status_code == 429 and over.headers["x-ratelimit-limit"] == "100"
    assert len(await read_topic(settings, settings.topics.events, 90)) == 90


# --- meta keys ---------------------------------------------------------------------------------


def test_a_long_or_odd_meta_key_is_dropped_and_counted_never_refused() -> None:
    odd = {
        "utm_" + "x" * 100: "long utm key",
        "k" * (MAX_META_KEY_LEN + 1): "long key",
        "": "empty",
        "with space": "v",
        'quote"d': "v",
        "<script>": "v",
        "ctl\x00": "v",
        "ünïcode": "v",
    }
    [event], _ = parse_sync_payload({**sync_event(), "meta": {"fp": "f", "plan": "pro", "utm_source": "ads", **odd}})
    assert event.meta.extra == {"plan": "pro", "utm_source": "ads"}
    assert event.meta.dropped == len(odd) and event.meta.fp == "f"
    [kept], _ = parse_sync_payload({**sync_event(), "meta": {"k" * MAX_META_KEY_LEN: "v", "a.b:c-d_e": "v"}})
    assert set(kept.meta.extra) == {"k" * MAX_META_KEY_LEN, "a.b:c-d_e"}


@pytest.mark.integration
async def test_a_batch_with_a_long_utm_key_is_accepted_whole(client: httpx.AsyncClient, settings: Settings) -> None:
    conversion = sync_event(ec="conversion", ea="form_submit", meta={"utm_" + "c" * 200: "x", "utm_medium": "cpc"})
    r = await client.post("/api/sync", content=orjson.dumps({"events": [sync_event(), conversion]}))
    assert r.status_code == 200 and r.json()["count"] == 2
    records = [EventRecord.model_validate_json(v) for v in await read_topic(settings, settings.topics.events, 2)]
    [stored] = [r for r in records if r.category == "conversion"]
    assert stored.meta == {"utm_medium": "cpc"} and stored.meta_dropped == 1


# --- headers that are not what they claim ------------------------------------------------------


async def test_a_content_length_of_unicode_digits_is_not_a_number() -> None:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"method": "POST", "path": "/api/sync", "headers": [(b"content-length", "\u00b2".encode("latin-1"))]}
    assert await Inbound.from_scope(scope, receive).body(limit=10) == b"{}"


@pytest.mark.integration
async def test_no_header_value_makes_a_tracking_route_fail(edge: EdgeFactory) -> None:
    client = await edge(call_reply_timeout_s=0.2)
    nasty = [b"\xb2", b"\xff" * 300, b"1" * 5000, b"\xe9\x00x", b" "]
    for value in nasty:
        headers = {name: value for name in ("x-forwarded-for", "user-agent", "origin", "x-ops-site-id")}
        r = await client.post("/api/sync", json=sync_event(), headers=headers)
        assert r.status_code in (200, 403), (value, r.status_code, r.text)
        r = await client.post(
            "/api/call-event", json={"site_id": "site-1", "phone_number": "+1555", "fingerprint": "fp"}, headers=headers
        )
        assert r.status_code < 500, (value, r.status_code, r.text)
