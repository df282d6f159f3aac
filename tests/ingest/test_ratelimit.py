"""Rate limiting: the pure verdict, and counting in real Redis with an in-process fallback."""

import pytest
import redis

from leadstream.ingest.ratelimit import RateLimiter, decide
from leadstream.settings import Settings


def test_verdict_and_headers() -> None:
    ok = decide(count=3, limit=3, now=120.0)
    assert (ok.allowed, ok.remaining, ok.retry_after) == (True, 0, 60)
    over = decide(count=4, limit=3, now=150.2)
    assert (over.allowed, over.remaining, over.retry_after) == (False, 0, 30)
    assert over.headers() == {"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "Retry-After": "30"}
    assert "Retry-After" not in ok.headers()


@pytest.mark.integration
async def test_counts_in_redis(settings: Settings) -> None:
    limiter = RateLimiter(settings.redis_url)
    verdicts = [await limiter.hit("sync", "site:1.2.3.4", limit=3) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert limiter.using_redis
    keys = redis.Redis.from_url(settings.redis_url).keys("leadstream:rl:*")
    assert len(keys) == 1


@pytest.mark.integration
async def test_redis_down_falls_back_to_memory_with_the_same_limits() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0")
    verdicts = [await limiter.hit("sync", "k", limit=2) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert not limiter.using_redis
