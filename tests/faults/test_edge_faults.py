"""The edge when Kafka goes away and comes back: 503 (never 200), then recovery by itself."""

from __future__ import annotations

import asyncio
import time

import pytest

from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from tests.edge_fixtures import EdgeFactory, read_topic, sync_event
from tests.faults.conftest import stack

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def test_kafka_stopped_then_restarted(edge: EdgeFactory, settings: Settings, own_kafka: None) -> None:
    client = await edge(produce_timeout_s=1.0)
    acked: list[str] = []

    async def send() -> int:
        body = sync_event()
        r = await client.post("/api/sync", json=body)
        if r.status_code == 200:
            acked.append(str(body["sid"]))
        else:
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"].isdigit() and r.json()["ok"] is False
        return r.status_code

    assert await send() == 200
    await stack("stop", "kafka")
    try:
        down = [await send() for _ in range(5)]
        assert down == [503] * 5, down
    finally:
        await stack("start", "kafka")

    deadline = time.monotonic() + 90
    while await send() != 200:  # the same edge process, no restart
        assert time.monotonic() < deadline, "edge did not recover after Kafka came back"
        await asyncio.sleep(0.5)
    print(f"accounting: acked={len(acked)}")

    stored = {
        str(EventRecord.model_validate_json(v).session_id)
        for v in await read_topic(settings, settings.topics.events, len(acked), max_s=30)
    }
    assert set(acked) <= stored  # every acknowledged event is in Kafka
