"""A warehouse sink on the real broker and chDB: while the warehouse refuses, it pauses its
partitions and keeps polling, so it stays in its group far past the poll interval, and stores
every record once when the warehouse is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.observability import metrics as m
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.copies import copy_specs
from leadstream.streams.runtime import sink as sink_module
from leadstream.streams.runtime.producer import BulkProducer
from leadstream.streams.runtime.sink import TableSink

pytestmark = pytest.mark.integration


async def test_a_sink_waits_out_the_warehouse_paused_and_in_its_group(
    settings: Settings, warehouse: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"worker_max_poll_interval_s": 3.0, "sink_flush_s": 0.2})
    await ensure_topics(settings, core_topics(settings))
    revoked: list[object] = []
    plain = sink_module._Ownership.on_partitions_revoked

    async def counted(self: object, partitions: list[object]) -> None:
        revoked.append(partitions)
        await plain(self, partitions)  # type: ignore[arg-type]

    monkeypatch.setattr(sink_module._Ownership, "on_partitions_revoked", counted)
    [spec] = [s for s in copy_specs(settings) if s.name == "sites"]
    producer = BulkProducer(settings)
    sink = TableSink(spec, settings, warehouse, producer)
    down = tmp_path / "warehouse-down"
    down.touch()
    monkeypatch.setattr(warehouse, "_outage_flag", down)
    task = asyncio.create_task(sink.run())
    kafka = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await kafka.start()
    try:
        for n in range(20):
            site = {"public_id": f"site-{n}", "name": "x", "origins": [], "updated_at": "2026-12-03T00:00:00Z"}
            await kafka.send_and_wait(settings.topics.sites, orjson.dumps(site), key=f"site-{n}".encode())
        paused = m.WAREHOUSE_PAUSED.labels("sites")
        deadline = time.monotonic() + 30
        while paused._value.get() != 1:
            assert time.monotonic() < deadline, "the sink never paused"
            await asyncio.sleep(0.1)
        await asyncio.sleep(8)  # well past the 3 s poll interval
        assert not [r for r in revoked if r]  # still a member: nothing was taken away
        down.unlink()
        deadline = time.monotonic() + 60
        while sink.stored < 20:
            assert time.monotonic() < deadline, f"stored {sink.stored} of 20 after the warehouse came back"
            await asyncio.sleep(0.2)
        assert paused._value.get() == 0
        [(rows,)] = warehouse.sync(lambda c: c.query("SELECT count() FROM sites WHERE name = 'x'").result_rows)
        assert rows == 20
    finally:
        await kafka.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
