"""The edge's publisher: group commit onto Kafka, ``acks=all``, with a deadline.

Each request's records join the open batch of their partition (the key picks the partition
exactly as Kafka's default partitioner does, so ordering per key and co-partitioning hold).
A partition has at most one batch in flight; while it is, new records gather in the next
batch, which goes as soon as the previous one is acknowledged. Under load batches grow by
themselves, and a request costs an append and a shared future rather than a produce call.

aiokafka has no ``buffer.memory`` / ``max.block.ms``: requests waiting are bounded here (one over
the bound is refused at once), and "not acknowledged within the deadline" becomes
BrokerUnavailable (HTTP 503). The deadline is kept per batch, not per request: one timer for
all the requests that share a batch, started when its first record arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.producer.message_accumulator import BatchBuilder

from leadstream.kafka.broker import BrokerUnavailable, core_topics, ensure_topics, new_producer, partition_for
from leadstream.observability.edge import EDGE
from leadstream.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    builder: BatchBuilder
    acked: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    count: int = 0
    deadline: asyncio.TimerHandle | None = None

    def settle(self, error: Exception | None) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        if self.acked.done():
            return
        if error is None:
            self.acked.set_result(None)
        else:
            self.acked.set_exception(error)
            self.acked.exception()  # retrieved here: its requests may all have gone


@dataclass
class _Partition:
    open: _Batch | None = None
    in_flight: bool = False


class Publisher:
    """Shared producer for the edge. Starts in the background if Kafka is down at boot."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = settings.produce_timeout_s
        self._max_waiting = settings.max_inflight_sends
        self._waiting = 0
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._partitions: dict[str, list[int]] = {}
        self._state: dict[tuple[str, int], _Partition] = {}
        self._sending: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_up(), name="publisher-connect")
        try:  # give a healthy broker a moment so the first request does not see 503
            await asyncio.wait_for(asyncio.shield(self._connecting), timeout=self._timeout)
        except TimeoutError:
            log.warning("Kafka not reachable at %s yet; answering 503 until it is", self._settings.kafka_bootstrap)

    async def _connect_until_up(self) -> None:
        delay = 0.2
        while True:
            # no linger: the batches gather here, while the partition's previous one is in flight
            producer = new_producer(self._settings, linger_ms=0)
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.info("Kafka connect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            try:  # so the first sends do not race topic auto-creation
                await ensure_topics(self._settings, core_topics(self._settings))
            except KafkaError as exc:
                log.warning("could not check topics (%s); they will be auto-created", exc)
            self._producer = producer
            return

    async def stop(self) -> None:
        """Send what is gathered, wait for what is in flight, then close."""
        if self._connecting and not self._connecting.done():
            self._connecting.cancel()
        for (topic, partition), state in list(self._state.items()):
            if state.open is not None and not state.in_flight:
                state.in_flight = True
                self._send(topic, partition, state)
        await asyncio.sleep(0)  # let sends scheduled for the next loop turn start
        if self._sending:
            await asyncio.wait(self._sending, timeout=self._timeout)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def waiting(self) -> int:
        """Requests waiting for Kafka's acknowledgement now."""
        return self._waiting

    @property
    def ready(self) -> bool:
        return self._producer is not None

    # --- publishing ------------------------------------------------------------------------
    async def publish(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        """Send (key, value) records; return once Kafka has acknowledged all of them."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("Kafka is not reachable")
        if self._waiting >= self._max_waiting:
            raise BrokerUnavailable(f"{self._waiting} requests already waiting for Kafka")
        partitions = self._partitions.get(topic) or await self._load_partitions(producer, topic)
        batches = {id(b): b for b in (self._append(producer, topic, partitions, k, v) for k, v in items)}
        self._waiting += 1
        started = time.perf_counter()
        try:
            # shield: a batch is shared with other requests; one request cancelled must not cancel it
            if len(batches) == 1:
                [batch] = batches.values()
                await asyncio.shield(batch.acked)
            else:
                await asyncio.gather(*(asyncio.shield(b.acked) for b in batches.values()))
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused the record: {exc}") from exc
        finally:
            self._waiting -= 1
            EDGE.produced(topic, time.perf_counter() - started)

    async def _load_partitions(self, producer: AIOKafkaProducer, topic: str) -> list[int]:
        try:
            async with asyncio.timeout(self._timeout):
                self._partitions[topic] = sorted(await producer.partitions_for(topic))
        except TimeoutError as exc:
            raise BrokerUnavailable(f"Kafka did not describe {topic} within {self._timeout:g}s") from exc
        return self._partitions[topic]

    def _new_batch(self, producer: AIOKafkaProducer) -> _Batch:
        batch = _Batch(producer.create_batch())
        batch.deadline = asyncio.get_running_loop().call_later(self._timeout, self._expire, batch)
        return batch

    def _expire(self, batch: _Batch) -> None:
        batch.settle(BrokerUnavailable(f"Kafka did not acknowledge within {self._timeout:g}s"))

    def _append(
        self, producer: AIOKafkaProducer, topic: str, partitions: list[int], key: bytes, value: bytes
    ) -> _Batch:
        partition = partition_for(key, partitions)
        state = self._state.setdefault((topic, partition), _Partition())
        if state.open is None or state.open.acked.done():  # none yet, or its deadline passed unsent
            state.open = self._new_batch(producer)
        if state.open.builder.append(key=key, value=value, timestamp=None) is None:
            if state.open.count == 0:
                raise BrokerUnavailable(f"record of {len(value)} bytes exceeds the producer's batch size")
            full, state.open = state.open, self._new_batch(producer)
            self._send_batch(topic, partition, full)  # a full batch goes now, in flight or not
            state.open.builder.append(key=key, value=value, timestamp=None)
        state.open.count += 1
        batch = state.open
        if not state.in_flight:
            # Send on the next loop turn, so the requests running in this one join the batch.
            state.in_flight = True
            asyncio.get_running_loop().call_soon(self._send, topic, partition, state)
        return batch

    def _send(self, topic: str, partition: int, state: _Partition) -> None:
        batch, state.open = state.open, None
        # a batch whose deadline passed while it waited is not sent: its requests were answered 503
        if batch is None or batch.count == 0 or batch.acked.done():
            state.in_flight = False
            return
        task = self._send_batch(topic, partition, batch)
        task.add_done_callback(lambda _: self._sent(topic, partition, state))

    def _send_batch(self, topic: str, partition: int, batch: _Batch) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._deliver(topic, partition, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return task

    def _sent(self, topic: str, partition: int, state: _Partition) -> None:
        """The partition's batch is acknowledged (or failed): what gathered meanwhile goes now."""
        state.in_flight = False
        if state.open is not None and state.open.count:
            state.in_flight = True
            self._send(topic, partition, state)

    async def _deliver(self, topic: str, partition: int, batch: _Batch) -> None:
        assert self._producer is not None
        try:
            delivered = await self._producer.send_batch(batch.builder, topic, partition=partition)
            await delivered
        except Exception as exc:
            batch.settle(exc if isinstance(exc, KafkaError) else KafkaError(repr(exc)))
        else:
            batch.settle(None)
