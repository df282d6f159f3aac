"""The worker's periodic refresh keeps going when a refresh fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from leadstream.settings import Settings
from leadstream.storage.daily_stats import Refresh
from leadstream.streams.daily_stats import DailyStatsRefresher


class FlakyWarehouse:
    """Down for the first call, then answers every refresh."""

    def __init__(self) -> None:
        self.calls = 0

    async def maintain(self, fn: Callable[[object], Refresh]) -> Refresh:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("warehouse down")
        return Refresh(datetime(2026, 3, 1), None, 0)


async def test_a_failed_refresh_is_retried_on_the_next_tick() -> None:
    warehouse = FlakyWarehouse()
    refresher = DailyStatsRefresher(Settings(daily_stats_refresh_s=0.01), warehouse)  # type: ignore[arg-type]
    task = asyncio.create_task(refresher.run())
    for _ in range(500):
        if warehouse.calls >= 3 or task.done():
            break
        await asyncio.sleep(0.01)
    assert not task.done()  # the failure did not end it
    task.cancel()
    assert warehouse.calls >= 3
