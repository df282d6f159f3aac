"""A signed call-event is accepted once.

A request with an ``event_id`` is idempotent by that id (the repeat gets the first answer). One
without is known by its signature: a signature is valid only while its timestamp is in the
window (300 s past, 60 s future), so remembering each used signature for that long refuses any
replay of it. Remembered in Redis (``SET NX`` with that TTL, shared by every edge process) and
in this process (a bounded set with the same TTL), so a replay is caught here too while Redis is
unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from cachetools import TTLCache

from leadstream.ingest.signing import MAX_FUTURE_S, MAX_PAST_S

log = logging.getLogger(__name__)

REMEMBERED_S = MAX_PAST_S + MAX_FUTURE_S
LOCAL_MAX = 100_000  # signatures remembered in process (the oldest go first past it)


class ReplayGuard:
    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 0.25,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._timeout_s = timeout_s
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=LOCAL_MAX, ttl=REMEMBERED_S, timer=clock)

    async def first_use(self, site_id: str, signature: str) -> bool:
        """True the first time this site's signature is seen within the window; False for a replay."""
        name = f"{self._namespace}signed-call:{site_id}:{signature.lower()}"
        if name in self._seen:
            return False
        self._seen[name] = True
        try:
            async with asyncio.timeout(self._timeout_s):
                return bool(await self._redis.set(name, b"1", nx=True, ex=REMEMBERED_S))
        except Exception as exc:  # Redis unreachable: this process's memory decides
            log.warning("replay check in-process only (Redis: %r)", exc)
            return True
