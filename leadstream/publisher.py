"""The edge's publisher: group commit onto Kafka, ``acks=all``, with a deadline.

Each request's records join the open batch of their partition (the key picks the partition
exactly as Kafka's default partitioner does, so ordering per key and co-partitioning hold).
A partition has at most one batch in flight; while it is, new records gather in the next
batch, which goes as soon as the previous one is acknowledged. Under load batches grow by
themselves, and a request costs an append and a shared future rather than a produce call.

aiokafka has no ``buffer.memory`` / ``max.block.ms``: requests in flight are bounded here, and
"not acknowledged within the deadline" becomes BrokerUnavailable (HTTP 503).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from leadstream.broker import BrokerUnavailable, core_topics, ensure_topics, new_producer
from leadstream.settings import Settings

log = logging.getLogger(__name__)
partition_for = DefaultPartitioner()


@dataclass
class _Batch:
    builder: BatchBuilder
    acked: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    count: int = 0


@dataclass
class _Partition:
    open: _Batch | None = None
    in_flight: bool = False


class Publisher:
    """Shared producer for the edge. Starts in the background if Kafka is down at boot."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = settings.produce_timeout_s
        self._slots = asyncio.Semaphore(settings.max_inflight_sends)
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
            producer = new_producer(self._settings)
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
    def ready(self) -> bool:
        return self._producer is not None

    # --- publishing ------------------------------------------------------------------------
    async def publish(self, topic: str, items: list[tuple[bytes, bytes]]) -> None:
        """Send (key, value) records; return once Kafka has acknowledged all of them."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("Kafka is not reachable")
        try:
            async with asyncio.timeout(self._timeout), self._slots:
                partitions = self._partitions.get(topic) or await self._load_partitions(producer, topic)
                waits = {id(f): f for f in (self._append(producer, topic, partitions, k, v) for k, v in items)}
                # shield: the batch is shared with other requests; one request's deadline must not cancel it
                await asyncio.gather(*(asyncio.shield(f) for f in waits.values()))
        except TimeoutError as exc:
            raise BrokerUnavailable(f"Kafka did not acknowledge within {self._timeout:g}s") from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused the record: {exc}") from exc

    async def _load_partitions(self, producer: AIOKafkaProducer, topic: str) -> list[int]:
        self._partitions[topic] = sorted(await producer.partitions_for(topic))
        return self._partitions[topic]

    def _append(
        self, producer: AIOKafkaProducer, topic: str, partitions: list[int], key: bytes, value: bytes
    ) -> asyncio.Future[None]:
        partition = partition_for(key, partitions, partitions)
        state = self._state.setdefault((topic, partition), _Partition())
        if state.open is None:
            state.open = _Batch(producer.create_batch())
        if state.open.builder.append(key=key, value=value, timestamp=None) is None:
            if state.open.count == 0:
                raise BrokerUnavailable(f"record of {len(value)} bytes exceeds the producer's batch size")
            full, state.open = state.open, _Batch(producer.create_batch())
            self._send_batch(topic, partition, full)  # a full batch goes now, in flight or not
            state.open.builder.append(key=key, value=value, timestamp=None)
        state.open.count += 1
        acked = state.open.acked
        if not state.in_flight:
            # Send on the next loop turn, so the requests running in this one join the batch.
            state.in_flight = True
            asyncio.get_running_loop().call_soon(self._send, topic, partition, state)
        return acked

    def _send(self, topic: str, partition: int, state: _Partition) -> None:
        batch, state.open = state.open, None
        if batch is None or batch.count == 0:
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
            if not batch.acked.done():
                batch.acked.set_exception(exc if isinstance(exc, KafkaError) else KafkaError(repr(exc)))
                batch.acked.exception()  # retrieved here: a request that timed out may never read it
        else:
            if not batch.acked.done():
                batch.acked.set_result(None)
