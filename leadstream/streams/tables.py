"""Faust tables keyed like the topics that feed them."""

from __future__ import annotations

from collections.abc import Iterable

import faust
import orjson
from faust.types import TP

from leadstream.settings import Settings
from leadstream.streams.bulk import BulkProducer


def keyed_table(app: faust.App, name: str, settings: Settings) -> faust.Table:
    """A table keyed by the raw string keys of its source topic. Written through
    ``write_changelog``, a key's changelog record goes to the partition that key's source
    records arrive on, so recovery puts state where the stream is."""
    return app.Table(
        name,
        default=None,
        partitions=settings.topic_partitions,
        schema=faust.Schema(key_type=str, key_serializer="raw", value_serializer="json"),
        use_partitioner=True,
    )


async def write_changelog(table: faust.Table, bulk: BulkProducer, keys: Iterable[str]) -> None:
    """Send the changelog records of ``keys``' current entries in bulk and wait for the acks.

    Writers put entries into the store alone (``table.data[key] = value``), then call this once
    per Kafka batch, before acking the records that made the changes: ``table[key] = value``
    would send one record per assignment through Faust's producer buffer, one per loop turn,
    and Faust's own flush before a commit gives up after 0.1 s without progress (the gap behind
    a kill -9 drill that once found the session counts short by 2,473 of 16,300 events)."""
    await send_changelog(table, bulk, [(key, table.data[key]) for key in keys])


async def send_changelog(table: faust.Table, bulk: BulkProducer, entries: Iterable[tuple[str, object]]) -> None:
    """Send (key, entry) changelog records, an entry of None being a tombstone (the key deleted)."""
    changelog = table.changelog_topic.get_topic_name()
    # Keys as Faust's recovery decodes them (the table's key serializer is JSON), on the partition
    # of the raw key: the one the source topic's records for that key arrive on.
    records = [
        (key.encode(), orjson.dumps(key), None if entry is None else orjson.dumps(entry)) for key, entry in entries
    ]
    if not records:
        return
    for partition, offset in (await bulk.send(changelog, records)).items():
        table.data.set_persisted_offset(TP(changelog, partition), offset)  # RocksDB's checkpoint
