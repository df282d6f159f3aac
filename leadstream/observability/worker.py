"""Thin calls the worker's loops make: a batch done, a dead letter, a table to count."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from leadstream.observability import metrics as m


class BatchMetrics:
    """A processor's records, batch sizes and end-to-end delay (children looked up once)."""

    def __init__(self, processor: str) -> None:
        self.processor = processor
        self._records = m.RECORDS_PROCESSED.labels(processor)
        self._sizes = m.BATCH_SIZE.labels(processor)
        self._delay = m.END_TO_END.labels(processor)

    def done(self, records: Sequence[Any]) -> None:
        """``records`` (ConsumerRecords) are processed and committed."""
        if not records:
            return
        self._records.inc(len(records))
        self._sizes.observe(len(records))
        oldest = min((r.timestamp for r in records if r.timestamp and r.timestamp > 0), default=None)
        if oldest is not None:
            self._delay.observe(max(0.0, time.time() - oldest / 1000))


def dead_lettered(stage: str, reason: str) -> None:
    m.DEAD_LETTERS.labels(stage, m.reason_class(reason)).inc()


def count_entries(table: str, size: Callable[[], int]) -> None:
    m.TABLE_ENTRIES.labels(table).set_function(lambda: float(size()))


def recovered(table: str, seconds: float, records: int) -> None:
    m.RECOVERY_DURATION.labels(table).set(seconds)
    m.RECOVERED_RECORDS.labels(table).inc(records)
