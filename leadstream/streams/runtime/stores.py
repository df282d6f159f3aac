"""A worker's local copy of a keyed table, in RocksDB (``LEADSTREAM_WORKER_STORE=rocksdb://``).

It holds the table's entries and, per partition, the changelog offset those entries reflect
and when they were saved. A restarted worker loads a partition from here and reads only the
changelog records after that offset, instead of the whole changelog.

The changelog stays the source of truth. A copy is only trusted while it is younger than the
changelog's tombstone retention: after that, compaction may have removed a delete the copy
never saw, and the partition is read from the changelog's start instead.

Layout (raw bytes): ``e<partition:4><key>`` -> entry JSON; ``m<partition:4>`` -> mark JSON.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rocksdict import Options, Rdict, WriteBatch


@dataclass(frozen=True)
class Mark:
    offset: int  # the last changelog offset the partition's saved entries reflect
    saved_at: float  # unix time


def _entry_prefix(partition: int) -> bytes:
    return b"e" + struct.pack(">I", partition)


def _mark_key(partition: int) -> bytes:
    return b"m" + struct.pack(">I", partition)


class LocalState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = Rdict(str(path), Options(raw_mode=True))
        except Exception as exc:  # RocksDB's lock: one process per directory
            raise RuntimeError(
                f"cannot open the worker's local state at {path} ({exc}); is another worker using it? "
                "Give each worker process on a host its own LEADSTREAM_VAR_DIR"
            ) from exc
        self.path = path

    def load(self, partition: int) -> tuple[dict[str, Any], Mark | None]:
        """The saved entries of ``partition`` and the mark they were saved with (None: nothing saved)."""
        raw = self._db.get(_mark_key(partition))
        if raw is None:
            return {}, None
        mark = orjson.loads(raw)
        prefix = _entry_prefix(partition)
        entries = {}
        for key, value in self._db.items(from_key=prefix):
            if not key.startswith(prefix):
                break
            entries[key[len(prefix) :].decode()] = orjson.loads(value)
        return entries, Mark(mark["offset"], mark["saved_at"])

    def save(self, changes: Iterable[tuple[int, str, Any | None]], marks: dict[int, Mark]) -> None:
        """Apply (partition, key, entry or None to delete) changes and set the partitions' marks, atomically."""
        batch = WriteBatch(raw_mode=True)
        for partition, key, entry in changes:
            name = _entry_prefix(partition) + key.encode()
            if entry is None:
                batch.delete(name)
            else:
                batch.put(name, orjson.dumps(entry))
        for partition, mark in marks.items():
            batch.put(_mark_key(partition), orjson.dumps({"offset": mark.offset, "saved_at": mark.saved_at}))
        self._db.write(batch)

    def drop(self, partition: int) -> None:
        """Forget everything saved for ``partition``."""
        self._db.delete(_mark_key(partition))
        self._db.delete_range(_entry_prefix(partition), _entry_prefix(partition + 1))

    def close(self) -> None:
        self._db.close()
