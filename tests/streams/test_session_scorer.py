"""The session scorer on the real broker and chDB: a second worker joining the group takes half
the partitions, recovers their sessions from the changelog, and every event is counted once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.sessions import SessionScorer
from tests.streams.running import scorer_runner, start_sinks

pytestmark = pytest.mark.integration
SITE = "scorer-site"
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def produce(settings: Settings, sessions: list[str], rounds: range) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for r in rounds:
            for sid in sessions:
                record = EventRecord(
                    event_id=uuid.uuid4(),
                    received_at=T0 + timedelta(seconds=10 * r),
                    site_id=SITE,
                    session_id=sid,
                    session_month=date(2026, 11, 1),
                    url=f"https://shop.example/{r}",
                    category="interaction",
                    action="view",
                    score=10,
                    fingerprint=f"fp-{sid[:8]}",
                )
                await producer.send(settings.topics.events, record.model_dump_json().encode(), key=sid.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def eventually(check: Callable[[], object], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.3)


async def test_a_joining_scorer_recovers_its_partitions_and_every_event_counts_once(
    settings: Settings, warehouse: Warehouse
) -> None:
    await ensure_topics(
        settings, [*core_topics(settings), ChangelogTable.topic(settings.topics.sessions_changelog, settings)]
    )
    bulk = BulkProducer(settings)
    first, second = SessionScorer(settings), SessionScorer(settings)
    sessions = [str(uuid.uuid4()) for _ in range(40)]

    def counted() -> tuple[int, int]:
        sql = f"SELECT count(), sum(events) FROM sessions FINAL WHERE site_id = '{SITE}'"
        [(n, events)] = warehouse.sync(lambda c: c.query(sql).result_rows)
        return int(n), int(events or 0)

    tasks = [*start_sinks(settings, warehouse, bulk, ["session-rows"])]
    tasks.append(asyncio.create_task(scorer_runner(first, settings, bulk).run()))
    try:
        await produce(settings, sessions, range(0, 3))
        # the rows land before the batch's changelog is written and its entries go into the table
        await eventually(lambda: counted() == (40, 120) and len(first.table) == 40)

        tasks.append(asyncio.create_task(scorer_runner(second, settings, bulk).run()))
        await eventually(lambda: len(second.table) > 0 and len(first.table) + len(second.table) == 40)
        assert 0 < len(first.table) < 40  # the partitions were shared, and the first forgot the second's

        await produce(settings, sessions, range(3, 5))

        def interactions() -> set[int]:
            return {t.get(k)["state"]["counts"]["interaction"] for t in (first.table, second.table) for k in t}

        await eventually(lambda: counted() == (40, 200) and interactions() == {5})  # each event counted once
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bulk.stop()


async def test_with_a_local_copy_a_restarted_scorer_goes_on_without_reading_the_changelog(
    settings: Settings, warehouse: Warehouse
) -> None:
    settings = settings.model_copy(update={"worker_store": "rocksdb://"})
    await ensure_topics(
        settings, [*core_topics(settings), ChangelogTable.topic(settings.topics.sessions_changelog, settings)]
    )
    bulk = BulkProducer(settings)
    sessions = [str(uuid.uuid4()) for _ in range(40)]

    def counted() -> tuple[int, int]:
        sql = f"SELECT count(), sum(events) FROM sessions FINAL WHERE site_id = '{SITE}'"
        [(n, events)] = warehouse.sync(lambda c: c.query(sql).result_rows)
        return int(n), int(events or 0)

    sinks = start_sinks(settings, warehouse, bulk, ["session-rows"])
    try:
        first = SessionScorer(settings)
        task = asyncio.create_task(scorer_runner(first, settings, bulk).run())
        await produce(settings, sessions, range(0, 3))
        await eventually(lambda: counted() == (40, 120) and len(first.table) == 40)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        first.table.close()

        second = SessionScorer(settings)
        task = asyncio.create_task(scorer_runner(second, settings, bulk).run())
        await produce(settings, sessions, range(3, 5))
        await eventually(lambda: counted() == (40, 200) and len(second.table) == 40)
        assert second.table.records_recovered == 0  # its local copy was current
        assert {second.table.get(k)["state"]["counts"]["interaction"] for k in second.table} == {5}
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        second.table.close()
    finally:
        for sink in sinks:
            sink.cancel()
        await asyncio.gather(*sinks, return_exceptions=True)
        await bulk.stop()
