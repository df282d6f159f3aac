"""The one checkpoint protocol: a processor's outputs, changelog records and dead letters are
acknowledged by Kafka, and only then are the offsets of the records that made them committed.

A crash anywhere before the commit re-delivers the batch. Outputs are idempotent where they
land (ReplacingMergeTree versions, dedup tokens, offset high-water marks), table entries
remember the offset they applied, so the batch done again changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from leadstream.streams.runtime.changelog import KeyedState, write_changelog
from leadstream.streams.runtime.producer import BulkProducer, OutRecord

DeadLetter = tuple[ConsumerRecord, str]  # the record as it came, and why it cannot be used


@dataclass
class Outcome:
    """What a processor made of a batch (nothing is written yet)."""

    outputs: dict[str, list[OutRecord]] = field(default_factory=dict)  # topic -> records
    changed: Iterable[str] = ()  # table keys whose entries go to the changelog
    dead: list[DeadLetter] = field(default_factory=list)
    # Offsets to commit; None: past every record of the batch.
    offsets: dict[TopicPartition, int] | None = None
    # Side effects once the outputs are durable (e.g. a reply to a waiting edge); best effort.
    then: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def emit(self, topic: str, route: bytes, key: bytes | None, value: bytes | None) -> None:
        self.outputs.setdefault(topic, []).append((route, key, value))


class Checkpoint:
    """Makes an ``Outcome`` durable: outputs, changelog and dead letters sent together, each
    acknowledged by Kafka (``acks=all``), before the caller commits."""

    def __init__(self, producer: BulkProducer, dead_letters: str, stage: str, table: KeyedState | None = None) -> None:
        self._producer = producer
        self._dead_letters = dead_letters
        self._stage = stage
        self._table = table

    async def acknowledge(self, outcome: Outcome) -> None:
        sends = [self._producer.send(topic, records) for topic, records in outcome.outputs.items() if records]
        if outcome.dead:
            sends.append(self._producer.dead_letter(self._dead_letters, self._stage, outcome.dead))
        if self._table is not None:
            sends.append(write_changelog(self._table, self._producer, outcome.changed))
        await asyncio.gather(*sends)

    def committed(self) -> None:
        """The offsets are committed: the table's local copy may record how far it is."""
        if self._table is not None and hasattr(self._table, "checkpoint"):
            self._table.checkpoint()
