"""Per-minute request limits, counted in Redis across edges, decided without a round trip.

A fixed window named in the key (``...:<minute>``) gives an exact ``Retry-After``. Each edge
decides locally from what it knows of a key's count: the total Redis last reported (every
edge's hits) plus this process's hits since. Those hits go to Redis together, at most every
``sync_s`` (one pipeline: INCRBY per key, EXPIRE NX), and the totals that come back are what
the edge knows next. So the request path never waits for Redis, and a key's count reaches
every edge within ``sync_s``: all edges together may admit at most the hits of one sync
interval per other edge beyond a limit; one edge alone is exact.

Losing Redis never stops ingestion: the same counting goes on in this process (the same
limits, per process) and the unsent hits are sent once Redis answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

WINDOW_S = 60
SYNC_S = 0.05


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


class WindowCounts:
    """This window's counts per key: the shared total last seen, and local hits not yet shared.

    Pure bookkeeping (no I/O): ``hit`` counts, ``take_unsent`` hands the unsent hits to a sync,
    ``shared`` records the totals it got back (or ``unsent_again`` puts them back on failure).
    """

    def __init__(self) -> None:
        self.window = -1
        self._known: dict[str, int] = {}  # total in Redis, as last reported
        self._sending: dict[str, int] = {}  # hits in the sync in flight
        self._unsent: dict[str, int] = {}  # hits since

    def roll(self, window: int) -> None:
        if window != self.window:
            self.window, self._known, self._sending, self._unsent = window, {}, {}, {}

    def hit(self, name: str) -> int:
        """Count one hit on ``name``; return its place in the window's count as far as known."""
        unsent = self._unsent.get(name, 0) + 1
        self._unsent[name] = unsent
        return self._known.get(name, 0) + self._sending.get(name, 0) + unsent

    @property
    def has_unsent(self) -> bool:
        return bool(self._unsent)

    def take_unsent(self) -> dict[str, int]:
        self._sending, self._unsent = self._unsent, {}
        return self._sending

    def shared(self, window: int, totals: dict[str, int]) -> None:
        if window == self.window:
            self._known.update(totals)
            self._sending = {}

    def unsent_again(self, window: int) -> None:
        """The sync failed: its hits count locally (known) and go again with the next one."""
        if window != self.window:
            return
        for name, n in self._sending.items():
            self._unsent[name] = self._unsent.get(name, 0) + n
        self._sending = {}


class RateLimiter:
    def __init__(self, redis_url: str, timeout_s: float = 0.1, sync_s: float = SYNC_S) -> None:
        self._timeout_s = timeout_s
        self._sync_s = sync_s
        self._redis = aioredis.from_url(redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._counts = WindowCounts()
        self._sync: asyncio.TimerHandle | asyncio.Task[object] | None = None  # the next or current sync
        self._redis_ok = True

    @property
    def using_redis(self) -> bool:
        """False after a failed sync, until one succeeds."""
        return self._redis_ok

    def hit(self, scope: str, key: str, limit: int) -> Decision:
        now = time.time()
        window = int(now) // WINDOW_S
        self._counts.roll(window)
        count = self._counts.hit(f"leadstream:rl:{scope}:{key}:{window}")
        if self._sync is None:
            self._sync = asyncio.get_running_loop().call_later(self._sync_s, self._start_sync)
        return decide(count, limit, now)

    def _start_sync(self) -> asyncio.Task[None]:
        self._sync = task = asyncio.get_running_loop().create_task(self._send_unsent())
        return task

    async def flush(self) -> None:
        """Send the unsent hits now rather than at the next interval (shutdown, tests)."""
        if isinstance(self._sync, asyncio.Task):
            await self._sync  # it leaves a timer behind if hits came meanwhile
        if isinstance(self._sync, asyncio.TimerHandle):
            self._sync.cancel()
        await self._start_sync()

    async def _send_unsent(self) -> None:
        """Send the unsent hits; learn every key's total. Runs by itself after hits."""
        counts, window = self._counts, self._counts.window
        batch = counts.take_unsent()
        try:
            if batch:
                async with asyncio.timeout(self._timeout_s * 2), self._redis.pipeline(transaction=False) as pipe:
                    for name, n in batch.items():
                        pipe.incrby(name, n)
                        pipe.expire(name, WINDOW_S + 1, nx=True)
                    results = await pipe.execute()
                counts.shared(window, {name: int(total) for name, total in zip(batch, results[::2], strict=True)})
                if not self._redis_ok:
                    log.info("rate limits shared in Redis again")
                self._redis_ok = True
        except Exception as exc:  # any Redis trouble: keep counting here, send these hits later
            counts.unsent_again(window)
            if self._redis_ok:
                log.warning("rate limiting in-process; Redis unavailable: %r", exc)
            self._redis_ok = False
        finally:
            self._sync = None
            if counts.has_unsent:  # hits that came meanwhile (or these, again) go at the next interval
                self._sync = asyncio.get_running_loop().call_later(
                    self._sync_s if self._redis_ok else 1.0, self._start_sync
                )

    async def close(self) -> None:
        await self.flush()  # a stopping edge's hits still count on the others
        if isinstance(self._sync, asyncio.TimerHandle):
            self._sync.cancel()
        self._sync = None
        await self._redis.aclose()
