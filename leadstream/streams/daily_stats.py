"""The worker's periodic refresh of the materialised daily statistics (storage/daily_stats.py).

Every worker runs it. One per warehouse would do, but a refresh keeps no state of its own
(the watermark is in the warehouse) and recomputes whole (site, day) rows from the exact view,
so several workers refreshing at once only write the same rows again: the newest refresh wins,
and what a slower one read late is picked up by the next refresh (its watermark covers it).
"""

from __future__ import annotations

import asyncio
import logging
import time

from leadstream.observability.health import LOOPS
from leadstream.observability.metrics import DAILY_STATS_AGE
from leadstream.settings import Settings
from leadstream.storage.daily_stats import Refresh, refresh_daily_stats
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)


class DailyStatsRefresher:
    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        self._interval_s = settings.daily_stats_refresh_s
        self._margin_s = settings.daily_stats_margin_s
        self._warehouse = warehouse
        self.health = LOOPS.loop("daily stats refresher", kind="periodic", period_s=self._interval_s)
        self.last_refresh = time.time()  # until the first: measured from start
        DAILY_STATS_AGE.set_function(lambda: time.time() - self.last_refresh)

    async def refresh(self) -> Refresh:
        """One refresh now (also what `leadstream stats refresh` asks the worker for)."""
        done = await self._warehouse.maintain(lambda c: refresh_daily_stats(c, self._margin_s))
        self.last_refresh = time.time()
        log.debug("daily stats: %d site-day rows refreshed (changes since %s)", done.site_days, done.changes_since)
        return done

    async def run(self) -> None:
        """Refresh every ``daily_stats_refresh_s`` for as long as the worker runs; a failed refresh
        (the warehouse down) is only logged: the next one redoes its work."""
        while True:
            try:
                await self.refresh()
                self.health.polled()
                self.health.committed()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.warning("daily stats refresh failed, next in %.0fs: %s", self._interval_s, exc)
            await asyncio.sleep(self._interval_s)
