"""The call matcher on the real broker, Redis and chDB: partitions move between matchers with
their sessions, and a call still waiting when its matcher stops is answered by the next one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.schemas.calls import CallRecord
from leadstream.scoring.session_score import SessionState
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.matcher import CallMatcher
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.producer import BulkProducer
from tests.streams.running import matcher_runner, start_sinks
from tests.streams.test_session_scorer import eventually

pytestmark = pytest.mark.integration
SITE = "matcher-site"
T0 = datetime(2026, 11, 24, 9, tzinfo=UTC)


def session(n: int) -> SessionState:
    return SessionState(
        site_id=SITE, session_id=str(uuid.UUID(int=n + 1)), fingerprint=f"fp-{n}", first_seen=T0, last_seen=T0
    )


def call(n: int) -> CallRecord:
    return CallRecord(
        call_id=uuid.UUID(int=1000 + n),
        site_id=SITE,
        fingerprint=f"fp-{n}",
        phone_number="+905551112233",
        phone_raw="0555 111 22 33",
        action="phone",
        received_at=T0 + timedelta(minutes=1),
    )


async def publish(settings: Settings, updates: list[SessionState] = (), calls: list[CallRecord] = ()) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for state in updates:
            key = f"{state.site_id}:{state.fingerprint}".encode()
            await producer.send(settings.topics.session_updates, orjson.dumps(state.to_dict()), key=key)
        for c in calls:
            await producer.send(settings.topics.calls, c.model_dump_json().encode(), key=c.key)
        await producer.flush()
    finally:
        await producer.stop()


def answered(warehouse: Warehouse) -> dict[str, tuple[str, str | None]]:
    sql = f"SELECT toString(call_id), status, toString(session_id) FROM calls FINAL WHERE site_id = '{SITE}'"
    return {c: (status, sid) for c, status, sid in warehouse.sync(lambda ch: ch.query(sql).result_rows)}


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def topics(settings: Settings) -> None:
    await ensure_topics(
        settings, [*core_topics(settings), ChangelogTable.topic(settings.topics.matcher_changelog, settings)]
    )


async def test_a_joining_matcher_takes_the_sessions_of_its_partitions_and_matches_their_calls(
    settings: Settings, warehouse: Warehouse, topics: None
) -> None:
    bulk = BulkProducer(settings)
    first, second = CallMatcher(settings), CallMatcher(settings)
    tasks = [*start_sinks(settings, warehouse, bulk, ["call-rows"])]
    tasks.append(asyncio.create_task(matcher_runner(first, settings, bulk).run()))
    try:
        await publish(settings, updates=[session(n) for n in range(40)])
        await eventually(lambda: len(first.table) == 40)
        tasks.append(asyncio.create_task(matcher_runner(second, settings, bulk).run()))
        await eventually(lambda: len(second.table) > 0 and len(first.table) + len(second.table) == 40)
        assert 0 < len(first.table) < 40

        await publish(settings, calls=[call(n) for n in range(40)])  # each to the member holding its session
        expected = {str(call(n).call_id): ("matched", session(n).session_id) for n in range(40)}
        await eventually(lambda: answered(warehouse) == expected)
    finally:
        await stop(tasks)
        await bulk.stop()


async def test_a_call_waiting_when_its_matcher_stops_is_answered_by_the_next(
    settings: Settings, warehouse: Warehouse, topics: None
) -> None:
    bulk = BulkProducer(settings)
    sinks = start_sinks(settings, warehouse, bulk, ["call-rows"])
    patient = CallMatcher(settings.model_copy(update={"match_grace_s": 600}))
    task = asyncio.create_task(matcher_runner(patient, settings, bulk).run())
    try:
        await publish(settings, calls=[call(7)])  # its session is not known yet: it waits
        await eventually(lambda: len(patient._pending) == 1)
    finally:
        await stop([task])
    assert answered(warehouse) == {}

    await publish(settings, updates=[session(7)])
    task = asyncio.create_task(matcher_runner(CallMatcher(settings), settings, bulk).run())
    try:
        await eventually(lambda: answered(warehouse) == {str(call(7).call_id): ("matched", session(7).session_id)})
    finally:
        await stop([task, *sinks])
        await bulk.stop()


async def dead_letters(settings: Settings, n: int) -> list[dict[str, str]]:
    consumer = AIOKafkaConsumer(
        settings.topics.dead_letters, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        found: list[dict[str, str]] = []
        while len(found) < n:
            for records in (await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)).values():
                found += [{k: v.decode() for k, v in r.headers} for r in records]
        return found
    finally:
        await consumer.stop()


async def test_a_poison_call_goes_to_the_dead_letters_and_the_calls_behind_it_are_answered(
    settings: Settings, warehouse: Warehouse, topics: None
) -> None:
    bulk = BulkProducer(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:  # the poison first, on the partition of the good call that follows it
        await producer.send_and_wait(settings.topics.calls, b'{"call_id": "nope"}', key=call(3).key)
    finally:
        await producer.stop()
    await publish(settings, updates=[session(3)], calls=[call(3)])
    tasks = [*start_sinks(settings, warehouse, bulk, ["call-rows"])]
    tasks.append(asyncio.create_task(matcher_runner(CallMatcher(settings), settings, bulk).run()))
    try:
        await eventually(lambda: answered(warehouse) == {str(call(3).call_id): ("matched", session(3).session_id)})
        [dead] = await dead_letters(settings, 1)
        assert dead["stage"] == "call-matcher"
        assert dead["source_topic"] == settings.topics.calls and dead["source_offset"] == "0"
        assert dead["reason"].startswith("invalid call_id")
    finally:
        await stop(tasks)
        await bulk.stop()
