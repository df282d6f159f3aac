"""Per-minute request limits, counted in Redis; in-process when Redis is unreachable.

A fixed window named in the key (``...:<minute>``) costs one Redis round trip per check
(INCR and EXPIRE NX, pipelined) and gives an exact ``Retry-After``. Losing Redis never stops
ingestion: counting falls back to this process's memory (the same limits, per process) and
Redis is tried again after a short pause.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

WINDOW_S = 60
REDIS_RETRY_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


def decide(count: int, limit: int, now: float, window_s: int = WINDOW_S) -> Decision:
    """The verdict for the ``count``-th request in the current window."""
    retry_after = max(1, window_s - int(now) % window_s)
    return Decision(count <= limit, limit, max(0, limit - count), retry_after)


class LocalCounters:
    """Counts for the current window only; a new window starts from empty."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    def incr(self, name: str, window: int) -> int:
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        return count


class RateLimiter:
    def __init__(self, redis_url: str, timeout_s: float = 0.1) -> None:
        self._redis = aioredis.from_url(redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._local = LocalCounters()
        self._redis_paused_until = 0.0

    @property
    def using_redis(self) -> bool:
        return time.monotonic() >= self._redis_paused_until

    async def hit(self, scope: str, key: str, limit: int) -> Decision:
        now = time.time()
        window = int(now) // WINDOW_S
        name = f"leadstream:rl:{scope}:{key}:{window}"
        count = None
        if self.using_redis:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.incr(name)
                    pipe.expire(name, WINDOW_S + 1, nx=True)
                    count, _ = await pipe.execute()
            except Exception as exc:  # any Redis trouble: count locally, keep serving
                log.warning("rate limiting in-process; Redis unavailable: %r", exc)
                self._redis_paused_until = time.monotonic() + REDIS_RETRY_AFTER_S
        if count is None:
            count = self._local.incr(name, window)
        return decide(count, limit, now)

    async def close(self) -> None:
        await self._redis.aclose()
