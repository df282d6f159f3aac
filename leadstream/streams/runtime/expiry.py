"""Forgetting idle table entries, so a worker's memory follows its active keys, not its history.

Every ``interval`` a sweep looks at a table's entries, a slice at a time so the agents keep
running, and drops those whose last activity is older than ``ttl``: a tombstone goes to the
changelog (compaction then forgets the key, and a recovering worker deletes it) and the entry
leaves the store. Age is measured in event time, against the newest activity in the table
itself, so a worker catching up on a backlog does not drop what is only old by the clock.

An agent may write a swept key again while its tombstone is on the way (an event for that very
session arriving then). After the tombstones are acknowledged each key is looked at again: one
still idle is removed, one active again has its current entry written to the changelog after
its tombstone, so the changelog ends with the live entry either way.
"""

from __future__ import annotations

import asyncio
import logging
import math
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.streams.runtime.changelog import KeyedState, send_changelog, write_changelog
from leadstream.streams.runtime.producer import BulkProducer

log = logging.getLogger(__name__)

SLICE = 5_000  # entries looked at between two loop turns

LastActive = Callable[[Any], datetime | None]  # None: no activity at all, idle the longest


class TableExpiry:
    def __init__(
        self, table: KeyedState, bulk: BulkProducer, last_active: LastActive, ttl: timedelta, interval_s: float
    ) -> None:
        self._table = table
        self._bulk = bulk
        self._last_active = last_active
        self._ttl = ttl
        self._interval_s = interval_s

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next sweep finds the same keys
                log.warning("%s: expiry sweep failed (%r); next in %.0fs", self._table.name, exc, self._interval_s)

    async def sweep(self) -> int:
        """Drop the idle entries; return how many were dropped."""
        keys, idle_since = await self._scan()
        newest = max((t for t in idle_since if t > -math.inf), default=None)  # NaN: gone meanwhile
        if newest is None:
            return 0
        cutoff = datetime.fromtimestamp(newest, UTC) - self._ttl
        stale = [key for key, t in zip(keys, idle_since, strict=True) if t < cutoff.timestamp()]
        if not stale:
            return 0
        await send_changelog(self._table, self._bulk, [(key, None) for key in stale])
        revived = []
        for key in stale:
            entry = self._table.get(key)
            if entry is None:
                continue
            at = self._last_active(entry)
            if at is None or at < cutoff:
                self._table.delete(key)
            else:
                revived.append(key)
        await write_changelog(self._table, self._bulk, revived)
        dropped = len(stale) - len(revived)
        log.info("%s: dropped %d entries idle since before %s", self._table.name, dropped, cutoff.isoformat())
        return dropped

    async def _scan(self) -> tuple[list[str], array[float]]:
        """Each key with its last activity as a timestamp (-inf: none, NaN: deleted meanwhile),
        a slice per loop turn; timestamps in an array, not datetimes, to keep a big table's scan small."""
        keys = self._table.keys()
        idle_since = array("d")
        for start in range(0, len(keys), SLICE):
            for key in keys[start : start + SLICE]:
                entry = self._table.get(key)
                if entry is None:
                    idle_since.append(math.nan)
                    continue
                at = self._last_active(entry)
                idle_since.append(at.timestamp() if at is not None else -math.inf)
            await asyncio.sleep(0)
        return keys, idle_since
