"""Request-reply between the edge and the stream processors, through Redis.

The worker stores each answer under a key (for repeats of the same request) and publishes
it on a channel. Each edge process holds one pattern subscription and hands answers to the
requests waiting for them, so a waiting request costs a future, not a Redis connection.
Channels are namespaced by the topic prefix: Redis pub/sub ignores the db number.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

import orjson
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

ANSWER_TTL_S = 24 * 3600


def _channel(namespace: str, kind: str, request_id: str) -> str:
    return f"{namespace}reply:{kind}:{request_id}"


def answer_key(namespace: str, kind: str, request_id: str) -> str:
    return f"{namespace}answer:{kind}:{request_id}"


async def post_reply(
    client: aioredis.Redis, namespace: str, kind: str, request_id: str, payload: dict[str, Any]
) -> None:
    """Worker side: store the answer, then wake whoever waits for it."""
    body = orjson.dumps(payload, default=str)
    async with client.pipeline(transaction=False) as pipe:
        pipe.set(answer_key(namespace, kind, request_id), body, ex=ANSWER_TTL_S)
        pipe.publish(_channel(namespace, kind, request_id), body)
        await pipe.execute()


class ReplyHub:
    """Edge side. ``available`` is False while Redis is unreachable: callers should not wait."""

    def __init__(self, redis_url: str, namespace: str, timeout_s: float = 0.25) -> None:
        self._namespace = namespace
        self._client = aioredis.from_url(redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._waiters: dict[str, list[asyncio.Future[dict[str, Any]]]] = defaultdict(list)
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self._subscribed.is_set()

    async def start(self, wait_s: float = 2.0) -> None:
        self._task = asyncio.create_task(self._listen(), name="reply-hub")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=wait_s)
        except TimeoutError:
            log.warning("Redis not reachable: request-reply answers degrade to 'queued' until it is")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()

    async def _listen(self) -> None:
        delay = 0.2
        pattern = f"{self._namespace}reply:*"
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self._subscribed.set()
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._subscribed.clear()
                log.warning("reply subscription lost (%r); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await pubsub.aclose()

    def _deliver(self, channel: bytes, data: bytes) -> None:
        key = channel.decode()
        waiters = self._waiters.pop(key, [])
        if not waiters:
            return
        payload = orjson.loads(data)
        for fut in waiters:
            if not fut.done():
                fut.set_result(payload)

    def expect(self, kind: str, request_id: str) -> asyncio.Future[dict[str, Any]]:
        """Register interest before publishing the request, so a fast answer is not missed."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[_channel(self._namespace, kind, request_id)].append(fut)
        return fut

    def forget(self, kind: str, request_id: str, fut: asyncio.Future[dict[str, Any]]) -> None:
        key = _channel(self._namespace, kind, request_id)
        waiters = self._waiters.get(key)
        if waiters and fut in waiters:
            waiters.remove(fut)
            if not waiters:
                del self._waiters[key]

    async def stored(self, kind: str, request_id: str) -> dict[str, Any] | None:
        """An answer already given for this request (idempotent repeats); None if none or no Redis."""
        if not self.available:
            return None
        try:
            raw = await self._client.get(answer_key(self._namespace, kind, request_id))
        except Exception:
            return None
        return orjson.loads(raw) if raw else None

    async def wait(self, kind: str, request_id: str, fut: asyncio.Future[dict[str, Any]], timeout_s: float) -> Any:
        try:
            return await asyncio.wait_for(fut, timeout=timeout_s)
        except TimeoutError:
            return None
        finally:
            self.forget(kind, request_id, fut)
