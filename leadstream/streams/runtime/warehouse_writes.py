"""Warehouse writes: insert a batch, retrying with backoff until it lands.

Callers (the table sinks, the session scorer, the call matcher) commit or ack the batch's
offsets only after ``write`` returns, so a crash at any point re-delivers rather than loses;
dedup tokens, offset high-water marks and ReplacingMergeTree keys make re-delivery harmless.
While the warehouse is down the caller waits here and stops consuming: nothing is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tenacity import AsyncRetrying, RetryCallState, before_sleep_log, retry_if_exception_type, wait_exponential_jitter

from leadstream.observability import metrics as m
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)


class WarehouseSink:
    def __init__(self, warehouse: Warehouse, max_backoff_s: float = 30.0) -> None:
        self._warehouse = warehouse
        self._max_backoff_s = max_backoff_s

    async def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]], token: str) -> None:
        if not rows:
            return
        warn = before_sleep_log(log, logging.WARNING)
        paused = m.WAREHOUSE_PAUSED.labels(table)

        def before_sleep(state: RetryCallState) -> None:
            m.INSERT_RETRIES.labels(table).inc()
            paused.set(1)
            warn(state)

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential_jitter(initial=0.2, max=self._max_backoff_s),
                before_sleep=before_sleep,
                reraise=True,
            ):
                with attempt, m.Timer(m.INSERT_DURATION.labels(table)):
                    await self._warehouse.insert(table, columns, rows, token)
        finally:
            paused.set(0)
        m.ROWS_INSERTED.labels(table).inc(len(rows))
