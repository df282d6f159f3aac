"""Per-minute request limits, counted in Redis; in-process when Redis is unreachable.

A fixed window named in the key (``...:<minute>``) gives an exact ``Retry-After``. Checks
are grouped: the requests of one event-loop turn share one pipeline (INCRBY per distinct key,
EXPIRE NX), and each request gets its exact place in the count, so a busy edge makes far
fewer than one Redis round trip per request. Losing Redis never stops ingestion: counting
falls back to this process's memory (the same limits, per process) and Redis is tried again
after a short pause.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
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


class RedisCounters:
    """INCR with expiry, grouped per loop turn: one pipeline in flight, the next one gathering."""

    def __init__(self, redis_url: str, timeout_s: float) -> None:
        self._redis = aioredis.from_url(redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._gathering: dict[str, list[asyncio.Future[int]]] = defaultdict(list)
        self._busy = False

    def incr(self, name: str) -> asyncio.Future[int]:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._gathering[name].append(fut)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().call_soon(self._flush)
        return fut

    def _flush(self) -> None:
        batch, self._gathering = self._gathering, defaultdict(list)
        if not batch:
            self._busy = False
            return
        asyncio.get_running_loop().create_task(self._send(batch))

    async def _send(self, batch: dict[str, list[asyncio.Future[int]]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, waiters in batch.items():
                    pipe.incrby(name, len(waiters))
                    pipe.expire(name, WINDOW_S + 1, nx=True)
                results = await pipe.execute()
        except Exception as exc:
            for waiters in batch.values():
                for fut in waiters:
                    if not fut.done():
                        fut.set_exception(exc)
                        fut.exception()  # retrieved: the caller may have given up
        else:
            for (_, waiters), total in zip(batch.items(), results[::2], strict=True):
                first = int(total) - len(waiters)
                for i, fut in enumerate(waiters, start=1):
                    if not fut.done():
                        fut.set_result(first + i)
        finally:
            self._flush()  # what gathered meanwhile goes now (or the batcher goes idle)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    def __init__(self, redis_url: str, timeout_s: float = 0.1) -> None:
        self._timeout_s = timeout_s
        self._redis = RedisCounters(redis_url, timeout_s)
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
                count = await asyncio.wait_for(self._redis.incr(name), self._timeout_s * 2)
            except Exception as exc:  # any Redis trouble: count locally, keep serving
                log.warning("rate limiting in-process; Redis unavailable: %r", exc)
                self._redis_paused_until = time.monotonic() + REDIS_RETRY_AFTER_S
        if count is None:
            count = self._local.incr(name, window)
        return decide(count, limit, now)

    async def close(self) -> None:
        await self._redis.close()
