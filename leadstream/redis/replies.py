"""Request-reply between the edge and the stream processors, through Redis.

The worker stores each answer under a key (for repeats of the same request) and publishes
it on a channel. Each edge process holds one pattern subscription and hands answers to the
requests waiting for them, so a waiting request costs a future, not a Redis connection.
Channels are namespaced by the topic prefix: Redis pub/sub ignores the db number.

A worker that answers a batch of requests at once (the sales-OS stages) stores and publishes the
whole batch in one round trip, as one message on the kind's batch channel: one pipeline in the
worker and one message for each edge to read a batch, instead of one a request (redis-py's pub/sub
and pipelines cost tens of microseconds of Python each).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

ANSWER_TTL_S = 24 * 3600


def _channel(namespace: str, kind: str, request_id: str) -> str:
    return f"{namespace}reply:{kind}:{request_id}"


def _batch_channel(namespace: str, kind: str) -> str:
    """Where batches of answers of ``kind`` are published (outside the per-request ``reply:*`` names)."""
    return f"{namespace}replies:{kind}"


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


async def post_replies(
    client: aioredis.Redis, namespace: str, kind: str, answers: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Worker side, for a batch: store each answer, then wake whoever waits for any of them, in one round
    trip. The message is a line with the JSON list of request ids, then each answer's JSON on a line of
    its own (compact JSON has no raw newline), so an edge decodes only the answers it waits for."""
    if not answers:
        return
    bodies = [(request_id, orjson.dumps(payload, default=str)) for request_id, payload in answers]
    async with client.pipeline(transaction=False) as pipe:
        for request_id, body in bodies:
            pipe.set(answer_key(namespace, kind, request_id), body, ex=ANSWER_TTL_S)
        batch = b"\n".join([orjson.dumps([request_id for request_id, _ in bodies]), *(b for _, b in bodies)])
        pipe.publish(_batch_channel(namespace, kind), batch)
        await pipe.execute()


class ReplyHub:
    """Edge side. ``available`` is False while Redis is unreachable: callers should not wait."""

    def __init__(self, redis_url: str, namespace: str, timeout_s: float = 0.25) -> None:
        self._namespace = namespace
        self._batches = _batch_channel(namespace, "")
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
        patterns = (f"{self._namespace}reply:*", f"{self._namespace}replies:*")
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(*patterns)
                self._subscribed.set()
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        try:
                            self._deliver(message["channel"], message["data"])
                        except ValueError as exc:  # not the subscription's fault: skip the message
                            log.warning("unreadable reply on %r: %r", message["channel"], exc)
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
        if key.startswith(self._batches):  # a batch of answers of one kind (post_replies)
            kind = key[len(self._batches) :]
            ids, *bodies = data.split(b"\n")
            for request_id, body in zip(orjson.loads(ids), bodies, strict=True):
                waited = _channel(self._namespace, kind, request_id)
                if waited in self._waiters:
                    self._wake(waited, orjson.loads(body))
            return
        if key in self._waiters:
            self._wake(key, orjson.loads(data))

    def _wake(self, key: str, payload: dict[str, Any]) -> None:
        for fut in self._waiters.pop(key, []):
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
