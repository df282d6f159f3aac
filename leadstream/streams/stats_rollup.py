"""The worker's periodic refresh of the Stats API's rollup (``stats/rollup.py``): the per-visit
rows ``stats_visits`` the API reads and the hourly rows ``stats_hourly`` analysts read.

Like the daily statistics' refresher: the watermark lives in the warehouse, each refresh
recomputes whole hours, so a refresh lost in a crash is redone by the next and several workers
refreshing at once only write the same rows again. Superseded row versions are deleted every
``CLEAN_EVERY`` refreshes (a lightweight delete; each refresh's own would be a mutation per run).
"""

from __future__ import annotations

import asyncio
import logging

from leadstream.observability.health import LOOPS
from leadstream.settings import Settings
from leadstream.stats.rollup import RollupRefresh, refresh_rollup
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
CLEAN_EVERY = 20


class StatsRollupRefresher:
    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        self._interval_s = settings.stats_refresh_s
        self._margin_s = settings.daily_stats_margin_s
        self._warehouse = warehouse
        self._runs = 0
        self.health = LOOPS.loop("stats rollup refresher", kind="periodic", period_s=self._interval_s)

    async def refresh(self) -> RollupRefresh:
        self._runs += 1
        clean = self._runs % CLEAN_EVERY == 0
        done = await self._warehouse.maintain(lambda c: refresh_rollup(c, self._margin_s, clean=clean))
        log.debug("stats rollup: %d site-hours refreshed (changes since %s)", done.site_hours, done.changes_since)
        return done

    async def run(self) -> None:
        """Refresh every ``stats_refresh_s`` while the worker runs; a failure is logged, the next redoes it."""
        while True:
            try:
                await self.refresh()
                self.health.polled()
                self.health.committed()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.health.failed(exc)
                log.warning("stats rollup refresh failed, next in %.0fs: %s", self._interval_s, exc)
            await asyncio.sleep(self._interval_s)
