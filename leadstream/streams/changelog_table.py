"""Keyed state owned by a plain consumer group member, kept in memory and rebuilt from its
changelog topic whenever the group gives the member a partition.

The changelog is co-partitioned with the source topic: a key's changelog records go to the
partition its source records arrive on (``send_changelog`` routes them so), and the topic is
compacted, so its last record per key is the key's entry (``None``: deleted). Records use the
same encoding as a Faust table's changelog (JSON key, JSON value), so state written by an
earlier worker version that ran the scorer on Faust is read back as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadstream.broker import TopicSpec
from leadstream.settings import Settings

log = logging.getLogger(__name__)


class ChangelogTable:
    """Entries of the partitions this member owns (``KeyedState``)."""

    def __init__(self, name: str, changelog: str, settings: Settings) -> None:
        self.name = name
        self.changelog = changelog
        self._settings = settings
        self._entries: dict[str, Any] = {}
        self._partition: dict[str, int] = {}  # key -> the partition it belongs to, to forget by partition

    @staticmethod
    def topic(changelog: str, settings: Settings) -> TopicSpec:
        return TopicSpec(changelog, settings.topic_partitions, {"cleanup.policy": "compact"})

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())  # a copy: the table may change while the caller iterates

    def get(self, key: str) -> Any | None:
        return self._entries.get(key)

    def put(self, key: str, entry: Any, partition: int) -> None:
        self._entries[key] = entry
        self._partition[key] = partition

    def keys(self) -> list[str]:
        return list(self._entries)

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)
        self._partition.pop(key, None)

    def persisted(self, partition: int, offset: int) -> None:
        """Nothing to checkpoint: the entries are in memory and recovery reads the whole changelog."""

    def forget(self, partitions: Iterable[int] | None = None) -> int:
        """Drop the entries of ``partitions`` (all when None), e.g. when the group takes them away."""
        gone = set(partitions) if partitions is not None else None
        keys = [k for k, p in self._partition.items() if gone is None or p in gone]
        for key in keys:
            self.delete(key)
        return len(keys)

    async def recover(self, partitions: Iterable[int]) -> int:
        """Read the changelog of ``partitions`` from its start to its end; return the entries held."""
        tps = [TopicPartition(self.changelog, p) for p in sorted(set(partitions))]
        if not tps:
            return 0
        started = time.monotonic()
        self.forget(tp.partition for tp in tps)
        reader = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20,
        )
        await reader.start()
        records, reported = 0, started
        try:
            reader.assign(tps)
            ends = await reader.end_offsets(tps)
            # Explicit seeks: seek_to_beginning right after assign() can lose to the reset that
            # assign() started, leaving the reader at the end.
            for tp, offset in (await reader.beginning_offsets(tps)).items():
                reader.seek(tp, offset)
            left = {tp for tp in tps if await reader.position(tp) < ends[tp]}
            while left:
                for tp, batch in (await reader.getmany(*left, timeout_ms=1000, max_records=10_000)).items():
                    records += len(batch)
                    for record in batch:
                        key = orjson.loads(record.key)
                        if record.value is None:
                            self.delete(key)
                        else:
                            self.put(key, orjson.loads(record.value), tp.partition)
                left = {tp for tp in left if await reader.position(tp) < ends[tp]}
                if time.monotonic() - reported > 5:
                    reported = time.monotonic()
                    log.info("%s: recovering, %d changelog records read so far", self.name, records)
        finally:
            await reader.stop()
        mine = {tp.partition for tp in tps}
        held = sum(1 for p in self._partition.values() if p in mine)
        log.info(
            "%s: recovered %d entries of partitions %s from %d changelog records in %.1fs",
            self.name,
            held,
            [tp.partition for tp in tps],
            records,
            time.monotonic() - started,
        )
        return held
