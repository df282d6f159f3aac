"""A steady stream of tracking events straight onto the events topic (no edge), from a thread."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from leadstream.schemas.tracking import encode_event_record, parse_sync_payload
from leadstream.settings import Settings


class PacedEvents:
    """``rate`` events a second for ``site`` in batches every 0.1 s, until stopped; ``sent`` counts them."""

    def __init__(self, settings: Settings, site: str, rate: int) -> None:
        self._settings = settings
        self._site = site
        self._per_tick = max(1, rate // 10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.sent = 0

    def __enter__(self) -> PacedEvents:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self._settings.kafka_bootstrap, linger_ms=5)
        await producer.start()
        sid = str(uuid.uuid4())
        try:
            tick = time.monotonic()
            while not self._stop.is_set():
                sends = []
                for i in range(self._per_tick):
                    body = {"s": self._site, "u": f"https://paced.example/{self.sent + i}", "sid": sid, "ea": "view"}
                    [event], _ = parse_sync_payload(body)
                    value = encode_event_record(
                        event,
                        event_id=str(uuid.uuid4()),
                        received_at=datetime.now(UTC),
                        score=10,
                        ip_prefix="127.0.0.0",
                        visitor_hash=None,
                        user_agent="paced",
                    )
                    sends.append(await producer.send(self._settings.topics.events, value, key=sid.encode()))
                await asyncio.gather(*sends)
                self.sent += len(sends)
                tick += 0.1
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
        finally:
            await producer.stop()
