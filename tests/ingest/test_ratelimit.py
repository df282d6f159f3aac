"""Rate limiting: the pure verdict and bookkeeping, and counting shared through real Redis with
an in-process fallback."""

import asyncio

import pytest
import redis

from leadstream.ingest.ratelimit import RateLimiter, WindowCounts, decide
from leadstream.settings import Settings


def test_verdict_and_headers() -> None:
    ok = decide(count=3, limit=3, now=120.0)
    assert (ok.allowed, ok.remaining, ok.retry_after) == (True, 0, 60)
    over = decide(count=4, limit=3, now=150.2)
    assert (over.allowed, over.remaining, over.retry_after) == (False, 0, 30)
    assert over.headers() == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "Retry-After": "30"}
    assert "Retry-After" not in ok.headers()


def test_counts_add_the_shared_total_the_hits_in_flight_and_the_unsent_ones() -> None:
    counts = WindowCounts()
    counts.roll(7)
    assert [counts.hit("k") for _ in range(2)] == [1, 2]
    assert counts.take_unsent() == {"k": 2}
    assert counts.hit("k") == 3  # two in flight, one unsent
    counts.shared(7, {"k": 10})  # other edges counted 8 meanwhile
    assert counts.hit("k") == 12 and counts.take_unsent() == {"k": 2}
    counts.unsent_again(7)  # that sync failed: its hits stay counted and go again
    assert counts.hit("k") == 13 and counts.take_unsent() == {"k": 3}
    counts.roll(8)
    assert counts.hit("k") == 1 and counts.take_unsent() == {"k": 1}


def test_a_sync_answered_after_the_window_turned_is_ignored() -> None:
    counts = WindowCounts()
    counts.roll(7)
    counts.hit("k")
    counts.take_unsent()
    counts.roll(8)
    counts.shared(7, {"k": 99})
    assert counts.hit("k") == 1


@pytest.mark.integration
async def test_counts_in_redis(settings: Settings) -> None:
    limiter = RateLimiter(settings.redis_url)
    try:
        verdicts = [limiter.hit("sync", "site:1.2.3.4", limit=3) for _ in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        await limiter.flush()
        assert limiter.using_redis
        r = redis.Redis.from_url(settings.redis_url)
        [key] = r.keys("leadstream:rl:*")
        assert int(r.get(key)) == 4 and 0 < r.ttl(key) <= 61  # type: ignore[arg-type,operator]
    finally:
        await limiter.close()


@pytest.mark.integration
async def test_edges_share_their_counts_within_one_sync(settings: Settings) -> None:
    one, two = RateLimiter(settings.redis_url), RateLimiter(settings.redis_url)
    try:
        assert all(one.hit("sync", "site:ip", limit=3).allowed for _ in range(3))
        await one.flush()
        assert two.hit("sync", "site:ip", limit=3).allowed  # not yet heard of the first edge's hits
        await two.flush()
        assert not two.hit("sync", "site:ip", limit=3).allowed  # now it has: 5 > 3
        await two.flush()
        await one.flush()
        assert not one.hit("sync", "site:ip", limit=3).allowed
    finally:
        await one.close()
        await two.close()


@pytest.mark.integration
async def test_hits_sync_by_themselves(settings: Settings) -> None:
    limiter = RateLimiter(settings.redis_url, sync_s=0.01)
    try:
        limiter.hit("sync", "by-itself", limit=3)
        r = redis.Redis.from_url(settings.redis_url)
        for _ in range(100):
            if r.keys("leadstream:rl:sync:by-itself:*"):
                break
            await asyncio.sleep(0.02)
        assert len(r.keys("leadstream:rl:sync:by-itself:*")) == 1
    finally:
        await limiter.close()


@pytest.mark.integration
async def test_redis_down_falls_back_to_memory_with_this_process_share_of_the_limits() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0")  # one process: its share is the whole limit
    try:
        verdicts = [limiter.hit("sync", "k", limit=2) for _ in range(3)]
        assert [v.allowed for v in verdicts] == [True, True, False]
        await limiter.flush()
        assert not limiter.using_redis
        assert not limiter.hit("sync", "k", limit=2).allowed  # the hits still count here
    finally:
        await limiter.close()
