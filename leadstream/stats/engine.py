"""Run a Stats API query on the warehouse and shape Plausible's answer.

``StatsReader`` gives the Stats API handles and threads of its own (read-only, with a time
limit), so dashboards never queue behind the sinks' inserts nor the analysts' queries.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import clickhouse_connect
import orjson
from cachetools import LRUCache
from clickhouse_connect.driver.client import Client

from leadstream.stats.dates import Range, resolve
from leadstream.stats.plan import FLOAT_METRICS, Plan, granularity, plans
from leadstream.stats.query import StatsQuery, parse
from leadstream.stats.rollup import tail_from
from leadstream.stats.sessions_sql import PAGEVIEW

_TS = "DateTime64(3, 'UTC')"
FIRST_SQL = "SELECT minOrNull(received_at) FROM events WHERE site_id = {site:String}"
REFRESHED_SQL = "SELECT maxOrNull(refreshed_at) FROM stats_hourly_refreshes"
CACHE_SIZE = 512
REALTIME_SQL = (
    "SELECT uniq(if(fingerprint = '', toString(session_id), fingerprint)) FROM events_v "
    f"WHERE site_id = {{site:String}} AND received_at >= {{since:{_TS}}} AND {PAGEVIEW}"
)
REALTIME_WINDOW = timedelta(minutes=5)


class StatsReader:
    """Read-only handles (one per thread) for the Stats API's queries."""

    def __init__(self, dsn: str, database: str, threads: int = 2, max_execution_time_s: float = 20.0) -> None:
        self._dsn, self._database = dsn, database
        # One thread a query: the dashboard's queries run side by side on the reader's threads, and
        # more threads each only contend for the same cores (readonly last: it freezes the rest).
        self._settings = {"max_threads": 1, "max_execution_time": max_execution_time_s, "readonly": 1}
        self._local = threading.local()
        self._handles: list[Client] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stats-reader")

    def _handle(self) -> Client:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = clickhouse_connect.get_client(dsn=self._dsn, settings=self._settings)
            handle.database = self._database
            self._local.handle = handle
            with self._lock:
                self._handles.append(handle)
        return handle

    def _run(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        handle = self._handle()
        try:
            return list(handle.query(sql, parameters=params).result_rows)
        except Exception:
            self._local.handle = None  # a failed query's leftovers never reach the next one
            with self._lock:
                self._handles.remove(handle)
            handle.close()
            raise

    async def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, sql, params)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _number(metric: str, value: Any) -> int | float:
    if value is None:
        return 0
    return round(float(value), 2) if metric in FLOAT_METRICS else int(value)


def time_labels(rng: Range, unit: str) -> list[str]:
    """Every bucket of the range, as the time dimension writes them."""
    tz = ZoneInfo(rng.zone)
    at, end = rng.start.astimezone(tz), rng.end.astimezone(tz)
    labels: list[str] = []
    if unit == "hour":
        cursor = rng.start.replace(minute=0, second=0, microsecond=0)
        while cursor < rng.end:
            label = cursor.astimezone(tz).strftime("%Y-%m-%d %H:00:00")
            if label not in labels:
                labels.append(label)
            cursor += timedelta(hours=1)
        return labels
    day = at.date()
    last = (end - timedelta(microseconds=1)).date()
    while day <= last:
        if unit == "day":
            label = day.isoformat()
        elif unit == "week":
            label = (day - timedelta(days=day.weekday())).isoformat()
        else:
            label = day.replace(day=1).isoformat()
        if label not in labels:
            labels.append(label)
        day += timedelta(days=1)
    return labels


def _sort_key(value: Any) -> Any:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _ordered(query: StatsQuery, rows: list[tuple[list[Any], dict[str, Any]]]) -> list[tuple[list[Any], dict[str, Any]]]:
    """Python's ordering of merged rows: order_by, then the dimensions ascending."""
    position = {d: i for i, d in enumerate(query.dimensions)}
    keys = list(query.order_by) + [(d, "asc") for d in query.dimensions if d not in dict(query.order_by)]
    for name, direction in reversed(keys):
        if name in position:
            rows.sort(key=lambda r, i=position[name]: _sort_key(r[0][i]), reverse=direction == "desc")
        else:
            metric = "visitors" if name == "percentage" else name
            rows.sort(key=lambda r, m=metric: _sort_key(r[1].get(m, 0)), reverse=direction == "desc")
    return rows


class StatsEngine:
    def __init__(self, reader: StatsReader, margin_s: float = 10.0, rollup: bool = True, hourly: bool = False) -> None:
        """``rollup``: read the stored visit rows (off: always the exact views); ``hourly``: the
        hourly rows where they answer a query (slower at size; for comparison)."""
        self.reader = reader
        self.margin_s = margin_s
        self.rollup = rollup
        self.hourly = hourly
        self._cache: LRUCache[Any, dict[str, Any]] = LRUCache(maxsize=CACHE_SIZE)

    async def realtime_visitors(self, site: str, now: datetime | None = None) -> int:
        since = (now or datetime.now(UTC)) - REALTIME_WINDOW
        rows = await self.reader.rows(REALTIME_SQL, {"site": site, "since": since})
        return int(rows[0][0]) if rows else 0

    async def answer(self, body: object, zone: str, now: datetime | None = None) -> dict[str, Any]:
        """Plausible's 200 answer to ``body``; ``StatsQueryError`` for an invalid query."""
        query = parse(body)
        return await self.run(query, zone, now)

    async def _first_day(self, site: str, zone: str) -> date | None:
        first = (await self.reader.rows(FIRST_SQL, {"site": site}))[0][0]
        return first.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date() if first else None

    async def run(self, query: StatsQuery, zone: str, now: datetime | None = None) -> dict[str, Any]:
        """The answer; one read only from the stored rollup is kept until the next refresh (the
        same query, zone and range then give the same answer)."""
        now = now or datetime.now(UTC)
        first_day = await self._first_day(query.site_id, zone) if query.date_range == "all" else None
        rng = resolve(query.date_range, zone, now, first_day)
        last_refresh = (await self.reader.rows(REFRESHED_SQL, {}))[0][0]
        tail = tail_from(last_refresh.replace(tzinfo=UTC) if last_refresh else None, self.margin_s)
        found = plans(query, rng, tail, self.rollup, self.hourly)
        key = (orjson.dumps(query.echo(rng.echo())), zone, rng.start, rng.end, last_refresh)
        if all(p.stored_only for p in found) and (cached := self._cache.get(key)) is not None:
            return cached
        answer = await self._answer(query, rng, tail, found)
        if all(p.stored_only for p in found):
            self._cache[key] = answer
        return answer

    async def _answer(self, query: StatsQuery, rng: Range, tail: datetime | None, found: list[Plan]) -> dict[str, Any]:
        answers = await asyncio.gather(*(self.reader.rows(p.sql, p.params) for p in found))
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        total_rows = 0
        for plan, rows in zip(found, answers, strict=True):
            total_rows = max(total_rows, self._collect(plan, rows, merged))
        if "percentage" in query.metrics:
            await self._percentages(query, rng, tail, merged)
        rows = [(list(dims), values) for dims, values in merged.items()]
        if len(found) != 1 or not found[0].paginated:
            rows = _ordered(query, rows)
            total_rows = len(rows)
            rows = rows[query.offset : query.offset + query.limit]
        elif query.include.total_rows and not rows and query.offset:
            total_rows = await self._count(found[0])
        if not query.dimensions and not rows:
            rows = [([], {})]
        meta: dict[str, Any] = {}
        if query.include.total_rows:
            meta["total_rows"] = total_rows if query.dimensions else 1
        unit = granularity(query, rng)
        if query.include.time_labels and unit:
            meta["time_labels"] = time_labels(rng, unit)
        if query.include.imports:
            meta["imports_included"] = False
        results = [
            {"metrics": [_number(m, values.get(m)) for m in query.metrics], "dimensions": dims} for dims, values in rows
        ]
        return {"results": results, "meta": meta, "query": query.echo(rng.echo())}

    @staticmethod
    def _collect(plan: Plan, rows: list[tuple[Any, ...]], merged: dict[tuple[Any, ...], dict[str, Any]]) -> int:
        width = len(plan.dimensions)
        metric_columns = [m for m in plan.metrics if m != "percentage"]
        if plan.way != "calls" and "percentage" in plan.metrics and "visitors" not in metric_columns:
            metric_columns.append("visitors")
        total = 0
        for row in rows:
            dims = tuple(str(v) for v in row[:width])
            values = merged.setdefault(dims, {})
            for i, metric in enumerate(metric_columns):
                values[metric] = row[width + i]
            if plan.paginated:
                total = int(row[-1])
        return total

    async def _percentages(
        self, query: StatsQuery, rng: Range, tail: datetime | None, merged: dict[tuple[Any, ...], dict[str, Any]]
    ) -> None:
        whole = replace(
            query, metrics=("visitors",), dimensions=(), order_by=(("visitors", "desc"),), limit=1, offset=0
        )
        plan = plans(whole, rng, tail, self.rollup, self.hourly)[0]
        rows = await self.reader.rows(plan.sql, plan.params)
        total = int(rows[0][0]) if rows else 0
        for values in merged.values():
            visitors = int(values.get("visitors") or 0)
            values["percentage"] = round(100 * visitors / total, 1) if total else 0.0

    async def _count(self, plan: Plan) -> int:
        rows = await self.reader.rows(plan.sql, plan.params | {"limit": 1, "offset": 0})
        return int(rows[0][-1]) if rows else 0
