"""A batch of OS answers goes to the waiting edges in one Redis round trip (``post_replies``), on the
real Redis: each waiter wakes with its own answer, repeats find every answer stored, the per-request
replies other processors post still arrive, and an unreadable batch is skipped without losing the
subscription."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import redis.asyncio as aioredis

from leadstream.redis.replies import ReplyHub, answer_key, post_replies, post_reply
from leadstream.settings import Settings
from leadstream.streams.os_chain import REPLY_KIND, EdgeReplies


async def _hub(settings: Settings) -> ReplyHub:
    hub = ReplyHub(settings.redis_url, namespace=settings.topic_prefix)
    await hub.start()
    assert hub.available
    return hub


def _answers(n: int) -> list[tuple[str, dict[str, Any]]]:
    # text with a newline and a non-ASCII character: the batch's framing must survive both
    return [(f"run-{i}", {"status": 200, "data": {"i": i, "text": "line\nnext é"}}) for i in range(n)]


async def test_a_batch_wakes_each_waiter_with_its_own_answer_and_stores_them(settings: Settings) -> None:
    hub = await _hub(settings)
    client = aioredis.from_url(settings.redis_url)
    try:
        answers = _answers(5)
        waiting = {run_id: hub.expect(REPLY_KIND, run_id) for run_id, _ in answers[:3]}  # two nobody waits for
        await post_replies(client, settings.topic_prefix, REPLY_KIND, answers)
        woken = {run_id: await hub.wait(REPLY_KIND, run_id, fut, 5.0) for run_id, fut in waiting.items()}
        assert woken == {run_id: answer for run_id, answer in answers[:3]}
        for run_id, answer in answers:  # every answer kept for repeats and GET /api/os/pipeline/{id}
            assert await hub.stored(REPLY_KIND, run_id) == answer
            assert await client.ttl(answer_key(settings.topic_prefix, REPLY_KIND, run_id)) > 0
    finally:
        await client.aclose()
        await hub.stop()


async def test_per_request_replies_still_arrive_beside_batches(settings: Settings) -> None:
    hub = await _hub(settings)
    client = aioredis.from_url(settings.redis_url)
    try:
        call = hub.expect("call", "call-1")
        run = hub.expect(REPLY_KIND, "run-1")
        await post_reply(client, settings.topic_prefix, "call", "call-1", {"status": "matched"})
        await post_replies(client, settings.topic_prefix, REPLY_KIND, [("run-1", {"status": 200})])
        assert await hub.wait("call", "call-1", call, 5.0) == {"status": "matched"}
        assert await hub.wait(REPLY_KIND, "run-1", run, 5.0) == {"status": 200}
    finally:
        await client.aclose()
        await hub.stop()


async def test_an_unreadable_batch_is_skipped_and_the_subscription_kept(settings: Settings) -> None:
    hub = await _hub(settings)
    client = aioredis.from_url(settings.redis_url)
    try:
        waiting = hub.expect(REPLY_KIND, "run-ok")
        await client.publish(f"{settings.topic_prefix}replies:{REPLY_KIND}", b'["run-x", "run-y"]\n{"only": 1}')
        await client.publish(f"{settings.topic_prefix}replies:{REPLY_KIND}", b"not json")
        await post_replies(client, settings.topic_prefix, REPLY_KIND, [("run-ok", {"status": 200})])
        assert await hub.wait(REPLY_KIND, "run-ok", waiting, 5.0) == {"status": 200}
        assert hub.available
    finally:
        await client.aclose()
        await hub.stop()


async def test_the_stage_posts_a_batch_once_in_the_background(settings: Settings) -> None:
    hub = await _hub(settings)
    replies = EdgeReplies(settings)
    monitor = aioredis.from_url(settings.redis_url)
    pubsub = monitor.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(f"{settings.topic_prefix}repl*")
    try:
        answers = _answers(4)
        waiting = [hub.expect(REPLY_KIND, run_id) for run_id, _ in answers]
        await replies.post(answers)  # returns before Redis has them
        assert [await hub.wait(REPLY_KIND, r, f, 5.0) for (r, _), f in zip(answers, waiting, strict=True)] == [
            a for _, a in answers
        ]
        messages = []
        for _ in range(10):  # None also stands for the subscription's own confirmation: read on
            if (message := await pubsub.get_message(timeout=0.1)) is not None:
                messages.append(message)
        assert len(messages) == 1  # one message for the batch, not one a run
        assert orjson.loads(messages[0]["data"].split(b"\n", 1)[0]) == [r for r, _ in answers]
    finally:
        await pubsub.aclose()
        await monitor.aclose()
        await hub.stop()
        await asyncio.sleep(0)
