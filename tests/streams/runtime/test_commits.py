"""Background commits: the caller goes on while one is in flight; what comes meanwhile goes in one
more commit, in order; a failure is raised in the caller's loop."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition

from leadstream.streams.runtime.commits import BackgroundCommits

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


class Consumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        await self.release.wait()
        if self.fail:
            raise RuntimeError("coordinator gone")
        self.commits.append(offsets)


async def test_offsets_that_come_during_a_commit_go_in_the_next_one() -> None:
    consumer, done = Consumer(), []
    commits = BackgroundCommits(consumer, lambda: done.append(1))  # type: ignore[arg-type]
    commits.add({A: 1})
    await asyncio.sleep(0)  # the first commit is in flight
    commits.add({A: 2})
    commits.add({B: 5})
    commits.add({})
    consumer.release.set()
    await commits.flush()
    assert consumer.commits == [{A: 1}, {A: 2, B: 5}] and len(done) == 2


async def test_a_failed_commit_is_raised_by_the_next_check() -> None:
    consumer = Consumer()
    consumer.fail = True
    consumer.release.set()
    commits = BackgroundCommits(consumer, lambda: None)  # type: ignore[arg-type]
    commits.add({A: 1})
    with pytest.raises(RuntimeError):
        await commits.flush()
    with pytest.raises(RuntimeError, match="coordinator gone"):
        commits.check()
    with pytest.raises(RuntimeError):
        commits.add({A: 2})


async def test_commits_are_spaced_and_a_flush_sends_what_gathered_at_once() -> None:
    consumer = Consumer()
    consumer.release.set()
    commits = BackgroundCommits(consumer, lambda: None, every_s=3600)  # type: ignore[arg-type]
    commits.add({A: 1})
    for _ in range(5):
        await asyncio.sleep(0)
    assert consumer.commits == [{A: 1}]  # the first goes at once
    commits.add({A: 2})
    commits.add({B: 7})
    for _ in range(5):
        await asyncio.sleep(0)
    assert consumer.commits == [{A: 1}]  # the next waits out the spacing, gathering
    await commits.flush()  # partitions given up, or the member stopping: no waiting
    assert consumer.commits == [{A: 1}, {A: 2, B: 7}]
    commits.add({A: 3})
    await commits.flush()
    assert consumer.commits[-1] == {A: 3}
