"""Keyed state owned by a plain consumer group member, kept in memory and rebuilt from its
changelog topic whenever the group gives the member a partition.

The changelog is co-partitioned with the source topic: a key's changelog records go to the
partition its source records arrive on (``send_changelog`` routes them so), and the topic is
compacted, so its last record per key is the key's entry (``None``: deleted). Records use the
same encoding as a Faust table's changelog (JSON key, JSON value), so state written by an
earlier worker version that ran the scorer on Faust is read back as it is.

With a local copy (``LocalState``, ``LEADSTREAM_WORKER_STORE=rocksdb://``) the owner saves
its entries after each batch (``checkpoint``), with the changelog offset they reflect, and a
partition it takes over is loaded from the copy and only the changelog's newer records read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from leadstream.kafka.broker import TopicSpec
from leadstream.observability.worker import recovered
from leadstream.settings import Settings
from leadstream.streams.runtime.stores import LocalState, Mark

log = logging.getLogger(__name__)

# How long the changelog keeps a tombstone after compaction (Kafka's default, set on the topic).
TOMBSTONE_RETENTION = timedelta(days=1)


class ChangelogTable:
    """Entries of the partitions this member owns (``KeyedState``)."""

    def __init__(self, name: str, changelog: str, settings: Settings, local: LocalState | None = None) -> None:
        self.name = name
        self.changelog = changelog
        self._settings = settings
        self._entries: dict[str, Any] = {}
        self._partition: dict[str, int] = {}  # key -> the partition it belongs to, to forget by partition
        self._local = local
        self._unsaved: dict[str, tuple[int, Any]] = {}  # key -> (partition, entry) in the changelog, not saved yet
        self._owned: set[int] = set()  # the partitions recovered and not forgotten since
        self._acked: dict[int, int] = {}  # owned partition -> the last changelog offset written or read
        self.records_recovered = 0  # changelog records the last recovery read

    @classmethod
    def for_worker(cls, name: str, changelog: str, settings: Settings) -> ChangelogTable:
        """The table, with a local copy under the worker's data directory if the settings ask for one."""
        local = None
        if settings.worker_store == "rocksdb://":
            local = LocalState(settings.worker_state_dir / f"{name}.rocksdb")
        return cls(name, changelog, settings, local)

    @staticmethod
    def topic(changelog: str, settings: Settings) -> TopicSpec:
        retention = str(int(TOMBSTONE_RETENTION.total_seconds() * 1000))
        return TopicSpec(
            changelog, settings.topic_partitions, {"cleanup.policy": "compact", "delete.retention.ms": retention}
        )

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

    def partition_of(self, key: str) -> int:
        return self._partition[key]

    def delete(self, key: str) -> None:
        self._entries.pop(key, None)
        self._partition.pop(key, None)

    def changelogged(self, entries: list[tuple[str, Any | None]], offsets: dict[int, int]) -> None:
        """The changelog has acknowledged these (key, entry or None) records, its last ones per
        partition at ``offsets``: what the next checkpoint saves."""
        for partition, offset in offsets.items():
            if partition in self._owned:
                self._acked[partition] = max(offset, self._acked.get(partition, -1))
        if self._local is not None:
            for key, entry in entries:
                partition = self._partition.get(key)
                if partition in self._owned:
                    self._unsaved[key] = (partition, entry)

    def checkpoint(self) -> None:
        """Save what the changelog has acknowledged since the last checkpoint to the local copy,
        if there is one: entries as they were written, never changes still on their way."""
        if self._local is None or not self._unsaved:
            return
        changes = [(p, key, entry) for key, (p, entry) in self._unsaved.items()]
        now = time.time()
        self._local.save(changes, {p: Mark(offset, now) for p, offset in self._acked.items()})
        self._unsaved.clear()

    def close(self) -> None:
        if self._local is not None:
            self._local.close()

    def forget(self, partitions: Iterable[int] | None = None) -> int:
        """Drop the entries of ``partitions`` (all when None) from memory, e.g. when the group
        takes them away; a local copy keeps them, to be brought up to date if they come back."""
        gone = set(partitions) if partitions is not None else None
        keys = [k for k, p in self._partition.items() if gone is None or p in gone]
        for key in keys:
            del self._entries[key], self._partition[key]
        for key in [k for k, (p, _) in self._unsaved.items() if gone is None or p in gone]:
            del self._unsaved[key]
        for partition in [p for p in self._acked if gone is None or p in gone]:
            del self._acked[partition]
        self._owned = set() if gone is None else self._owned - gone
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
            starts = await reader.beginning_offsets(tps)
            # Explicit seeks: seek_to_beginning right after assign() can lose to the reset that
            # assign() started, leaving the reader at the end.
            for tp in tps:
                reader.seek(tp, self._load_local(tp.partition, starts[tp], ends[tp]))
            left = {tp for tp in tps if await reader.position(tp) < ends[tp]}
            while left:
                for tp, batch in (await reader.getmany(*left, timeout_ms=1000, max_records=10_000)).items():
                    records += len(batch)
                    for record in batch:
                        key = orjson.loads(record.key)
                        entry = None if record.value is None else orjson.loads(record.value)
                        if entry is None:
                            self.delete(key)
                        else:
                            self.put(key, entry, tp.partition)
                        if self._local is not None:
                            self._unsaved[key] = (tp.partition, entry)
                left = {tp for tp in left if await reader.position(tp) < ends[tp]}
                if time.monotonic() - reported > 5:
                    reported = time.monotonic()
                    log.info("%s: recovering, %d changelog records read so far", self.name, records)
        finally:
            await reader.stop()
        mine = {tp.partition for tp in tps}
        self._owned |= mine
        self._acked.update({tp.partition: ends[tp] - 1 for tp in tps if ends[tp] > 0})
        self.checkpoint()  # what was read, so the next recovery starts after it
        self.records_recovered = records
        recovered(self.name, time.monotonic() - started, records)
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

    def _load_local(self, partition: int, start: int, end: int) -> int:
        """Load ``partition``'s local copy, if it can be trusted; return the changelog offset to read from."""
        if self._local is None:
            return start
        entries, mark = self._local.load(partition)
        if mark is None:
            return start
        age = time.time() - mark.saved_at
        if mark.offset >= end or mark.offset + 1 < start or age > TOMBSTONE_RETENTION.total_seconds() / 2:
            # Newer than the changelog (recreated?), or records it has not seen are gone, or old
            # enough that compaction may have dropped a tombstone it has not seen: read it all.
            log.info(
                "%s: local copy of partition %d not used (offset %d, %.0fs old)", self.name, partition, mark.offset, age
            )
            self._local.drop(partition)
            return start
        for key, entry in entries.items():
            self._entries[key] = entry
            self._partition[key] = partition
        return mark.offset + 1
