"""What the edge keeps of a client's address: its network and a keyed hash, never the address.

Every record the edge publishes carries ``ip_prefix`` (IPv4 /24, IPv6 /48) for coarse network
analysis and ``visitor_hash``, an HMAC-SHA256 of (site, IP, user agent) under the day's salt, so
analysts can count distinct visitors within a day. The salt is random, one per UTC day, shared
by every edge process through Redis (``SET NX``: the first process to offer one wins) and
deleted an hour after its day ends; once it is gone, no one can link a hash back to an address,
nor one day's hashes to the next day's. The rate limiter's Redis keys use the same salt, so no
whole address is kept in Redis either.

The request path never waits for Redis: the salts of today and tomorrow are fetched ahead, in
the background. While Redis is unreachable a process uses a random salt of its own for the day
(its hashes then differ from the other processes' until Redis answers and it adopts the shared
one).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

import orjson
import redis.asyncio as aioredis

from leadstream.schemas.network import ip_prefix

log = logging.getLogger(__name__)

DAY_S = 86_400
SALT_KEPT_AFTER_DAY_S = 3_600  # then deleted from Redis; edges forget it when their day turns
REFRESH_S = 60.0  # how often the coming salts are fetched
RETRY_S = 5.0  # how soon, while a process uses a salt of its own
HASH_HEX = 32  # 128 bits: no collisions among a day's visitors


def day_of(now: float) -> int:
    """The UTC day number of a unix time."""
    return int(now // DAY_S)


@lru_cache(maxsize=65536)  # a client's requests come in runs: ~0.3 us a repeat instead of ~6 us
def keyed_hash(salt: bytes, *parts: str) -> str:
    """HMAC-SHA256 of the parts (unambiguously joined, as a JSON list) under ``salt``, in hex."""
    return hmac.new(salt, orjson.dumps(parts), hashlib.sha256).hexdigest()[:HASH_HEX]


class DailySalts:
    """The salt of each UTC day, shared through Redis, cached here (today's and tomorrow's)."""

    def __init__(
        self, redis: aioredis.Redis, namespace: str, clock: Callable[[], float] = time.time, timeout_s: float = 0.25
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._clock = clock
        self._timeout_s = timeout_s
        self._shared: dict[int, bytes] = {}  # day -> the salt every edge uses
        self._own: dict[int, bytes] = {}  # day -> this process's, offered to Redis and used until it answers
        self._task: asyncio.Task[None] | None = None

    def key(self, day: int) -> str:
        stamp = datetime.fromtimestamp(day * DAY_S, UTC).date().isoformat()
        return f"{self._namespace}visitor-salt:{stamp}"

    def salt(self, day: int) -> bytes:
        """The day's salt: the shared one when known, else this process's own."""
        shared = self._shared.get(day)
        if shared is not None:
            return shared
        own = self._own.get(day)
        if own is None:
            own = self._own[day] = secrets.token_bytes(32)
        return own

    @property
    def shared_today(self) -> bool:
        return day_of(self._clock()) in self._shared

    async def refresh(self) -> None:
        """Learn (or set, if none yet) the salts of today and tomorrow; forget past days'.

        The salt this process uses is offered each time, so a Redis restarted empty gets it back
        rather than a new one some processes would not know.
        """
        today = day_of(self._clock())
        for day in (today, today + 1):
            expire_at = (day + 1) * DAY_S + SALT_KEPT_AFTER_DAY_S
            key, offered = self.key(day), self.salt(day)
            async with asyncio.timeout(self._timeout_s * 2), self._redis.pipeline(transaction=False) as pipe:
                pipe.set(key, offered, nx=True, exat=expire_at)
                pipe.get(key)
                _, stored = await pipe.execute()
            if stored:
                self._shared[day] = bytes(stored)
                self._own.pop(day, None)
        for cache in (self._shared, self._own):
            for day in [d for d in cache if d < today]:
                del cache[day]

    async def start(self) -> None:
        await self._refresh_quietly()
        self._task = asyncio.create_task(self._keep_fresh(), name="visitor-salts")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _refresh_quietly(self) -> bool:
        try:
            await self.refresh()
            return True
        except Exception as exc:  # Redis trouble: this process's own salt meanwhile
            log.warning("visitor salt not shared (Redis: %r); this edge process uses its own until it is", exc)
            return False

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S if self.shared_today else RETRY_S)
            await self._refresh_quietly()


class Anonymiser:
    """Turns a client IP into what may be published or stored: its prefix and keyed hashes."""

    def __init__(self, salts: DailySalts, clock: Callable[[], float] = time.time) -> None:
        self._salts = salts
        self._clock = clock

    def visitor_hash(self, site_id: str, ip: str | None, user_agent: str | None) -> str | None:
        """Same visitor, same day, same site: same hash. None without an address."""
        if not ip:
            return None
        return keyed_hash(self._salts.salt(day_of(self._clock())), "visitor", site_id, ip, user_agent or "")

    def client_key(self, ip: str | None) -> str:
        """The address as the rate limiter names it in Redis: a keyed hash, never the address."""
        return keyed_hash(self._salts.salt(day_of(self._clock())), "client", ip or "")

    @staticmethod
    def network(ip: str | None) -> str | None:
        return ip_prefix(ip) or None
