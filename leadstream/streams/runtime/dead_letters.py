"""Poison records to the dead-letter topic: the record as it was, with why and where from in
headers (the ``dead_letters`` table's columns). Sent before the source offsets are committed."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.observability.worker import dead_lettered

log = logging.getLogger(__name__)


async def dead_letter(
    producer: AIOKafkaProducer, topic: str, stage: str, dead: list[tuple[ConsumerRecord, str]]
) -> None:
    """Send (record, reason) pairs to ``topic`` and wait until Kafka has them all."""
    sends = []
    for record, reason in dead:
        headers = dead_letter_headers(stage, reason, record.topic, record.partition, record.offset)
        sends.append(await producer.send(topic, record.value, key=record.key, headers=headers))
    await asyncio.gather(*sends)


def dead_letter_headers(stage: str, reason: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    """Why and where from, for every processor's dead letters alike (logged and counted here)."""
    log.error("dead-lettering %s[%d]@%d: %s", topic, partition, offset, reason, extra={"partition": partition})
    dead_lettered(stage, reason)
    return [
        ("reason", reason[:2000].encode()),
        ("stage", stage.encode()),
        ("source_topic", topic.encode()),
        ("source_partition", str(partition).encode()),
        ("source_offset", str(offset).encode()),
    ]


def invalid_reason(exc: ValidationError) -> str:
    """A dead letter's reason for a record that failed validation: its first bad field."""
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    return f"invalid {where}: {err['msg']}"
