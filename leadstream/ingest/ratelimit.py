"""Per-minute limits, counted in Redis across edges, decided without a round trip.

A limit counts units: events for ``/api/sync`` (a batch costs its events), requests elsewhere.
A fixed window named in the key (``...:<minute>``) gives an exact ``Retry-After``. Each edge
decides locally from what it knows of a key's count: the total Redis last reported (every
edge's hits) plus this process's hits since. Those hits go to Redis together, at most every
``sync_s`` (one pipeline, one round trip: INCRBY of each key's count, EXPIRE NX), and the
totals that come back are what the edge knows next. So the request path never waits for Redis,
and a key's count reaches every edge within ``sync_s``: all edges together may admit at most the
hits of one sync interval per other edge beyond a limit; one edge alone is exact.

Losing Redis never stops ingestion: each process then counts its own hits in the same fixed
windows against its share of the limit, ``ceil(limit / processes)`` (``LEADSTREAM_EDGE_WORKERS``),
so all the edge's processes together still admit about the limit, and a client offering less
than its share to a process is never refused. The unsent hits are sent once Redis answers again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
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
    """The verdict for a hit that brings the current window's count to ``count``."""
    retry_after = max(1, window_s - int(now) % window_s)
    return Decision(count <= limit, limit, max(0, limit - count), retry_after)


def local_budget(limit: int, processes: int) -> int:
    """One process's share of a limit while the processes cannot share counts: rounded up, at least 1."""
    return max(1, -(-limit // max(1, processes)))


def count_and_judge(
    counts: WindowCounts, name: str, cost: int, limit: int, now: float, *, shared: bool, processes: int
) -> Decision:
    """Count ``cost`` units on ``name`` at ``now`` and judge them: against the limit and every edge's
    count while counts are ``shared`` (Redis answers), else against this process's share and its own."""
    counts.roll(int(now) // WINDOW_S)
    known = counts.hit(name, cost)
    if shared:
        return decide(known, limit, now)
    return decide(counts.mine(name), local_budget(limit, processes), now)


def judge_without_counting(
    counts: WindowCounts, name: str, limit: int, now: float, *, shared: bool, processes: int
) -> Decision:
    """Whether ``name`` has a unit left at ``now``, without counting one."""
    counts.roll(int(now) // WINDOW_S)
    if shared:
        return decide(counts.peek(name) + 1, limit, now)
    return decide(counts.mine(name) + 1, local_budget(limit, processes), now)


class WindowCounts:
    """This window's counts per key: the shared total last seen, local hits not yet shared, and
    all of this process's hits (what it judges by alone while Redis is away).

    Pure bookkeeping (no I/O): ``hit`` counts, ``take_unsent`` hands the unsent hits to a sync,
    ``shared`` records the totals it got back (or ``unsent_again`` puts them back on failure).
    """

    def __init__(self) -> None:
        self.window = -1
        self._known: dict[str, int] = {}  # total in Redis, as last reported
        self._sending: dict[str, int] = {}  # hits in the sync in flight
        self._unsent: dict[str, int] = {}  # hits since
        self._mine: dict[str, int] = {}  # this process's hits in the window

    def roll(self, window: int) -> None:
        if window != self.window:
            self.window, self._known, self._sending, self._unsent, self._mine = window, {}, {}, {}, {}

    def hit(self, name: str, cost: int = 1) -> int:
        """Count ``cost`` hits on ``name``; return the window's count after them, as far as known."""
        unsent = self._unsent.get(name, 0) + cost
        self._unsent[name] = unsent
        self._mine[name] = self._mine.get(name, 0) + cost
        return self._known.get(name, 0) + self._sending.get(name, 0) + unsent

    def peek(self, name: str) -> int:
        """The window's count on ``name`` as far as known, counting nothing."""
        return self._known.get(name, 0) + self._sending.get(name, 0) + self._unsent.get(name, 0)

    def mine(self, name: str) -> int:
        """This process's hits on ``name`` in the window."""
        return self._mine.get(name, 0)

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
    """``processes``: how many edge processes share the limits (their share applies without Redis).
    Keys name a site and a client by what the caller passes: pass no whole IP (it would be kept in Redis)."""

    def __init__(
        self,
        redis_url: str,
        *,
        processes: int = 1,
        timeout_s: float = 0.1,
        sync_s: float = SYNC_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._timeout_s = timeout_s
        self._sync_s = sync_s
        self._processes = processes
        self._clock = clock
        self._redis = aioredis.from_url(redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._counts = WindowCounts()
        self._sync: asyncio.TimerHandle | asyncio.Task[object] | None = None  # the next or current sync
        self._redis_ok = True

    @property
    def using_redis(self) -> bool:
        """False after a failed sync, until one succeeds."""
        return self._redis_ok

    def _name(self, scope: str, key: str, now: float) -> str:
        return f"leadstream:rl:{scope}:{key}:{int(now) // WINDOW_S}"

    def hit(self, scope: str, key: str, limit: int, cost: int = 1) -> Decision:
        """Count ``cost`` units (a batch's events) on ``key`` and judge them."""
        now = self._clock()
        name = self._name(scope, key, now)
        decision = count_and_judge(
            self._counts, name, cost, limit, now, shared=self._redis_ok, processes=self._processes
        )
        if self._sync is None:
            self._sync = asyncio.get_running_loop().call_later(self._sync_s, self._start_sync)
        return decision

    def spent(self, scope: str, key: str, limit: int) -> Decision:
        """Whether ``key`` has a unit left in this window (``allowed``), counting nothing."""
        now = self._clock()
        name = self._name(scope, key, now)
        return judge_without_counting(self._counts, name, limit, now, shared=self._redis_ok, processes=self._processes)

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
