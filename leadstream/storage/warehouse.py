"""ClickHouse through clickhouse-connect, embedded (``chdb://PATH``) or a server (``http(s)://``).

Every call runs on one dedicated thread: chDB is one engine per process, and a single
thread keeps the blocking client off the event loop without needing it to be thread-safe.
The sales-OS stages read through a second handle opened with ``readonly=1``: a per-query
``readonly`` setting would stick to a chDB handle and lock the writer out.

Analysts' SQL goes through a third handle, on a thread of its own, opened with their limits
(``QueryLimits``: time, memory, result rows and bytes, threads) and then ``readonly=1``. Each query
is first checked by the sandbox (``analyst_sql``: one SELECT over the analyst tables, allowlisted
functions), which then runs its canonical text. After any error the handle is closed and opened
anew: chDB kept a failed query's rows on it, and handed them to the next analyst. On its own thread
a heavy query does not hold up the sinks' inserts; with few threads it leaves them CPU.

Periodic maintenance (the daily statistics' refresh) has a fourth handle and thread, for the same
reason: a refresh rereads a whole (site, day) from the exact view, and on the writer's thread it
held every insert behind it (bench e2e: a run's worst ack -> row lags came at the refresh, every
30 s).
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# chDB imports pyarrow whenever it is installed (its pip package requires it) though only its
# Arrow APIs use it, and no process here calls them. Refused, a worker idle in role all holds
# ~30 MB less (380-387 against 414-417 MB), a process that opens the warehouse, inserts and
# queries 46 MB less. An entry of None in sys.modules makes ``import pyarrow`` raise
# ImportError, which chDB and clickhouse-connect take as "not installed". A process that has
# imported it already keeps it.
sys.modules.setdefault("pyarrow", None)  # type: ignore[arg-type]

import clickhouse_connect  # noqa: E402
import orjson  # noqa: E402
from clickhouse_connect.driver.client import Client  # noqa: E402

from leadstream.settings import Settings  # noqa: E402
from leadstream.storage.analyst_sql import AnalystSqlRefused, checked_sql, engine_message  # noqa: E402

T = TypeVar("T")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseLocked(RuntimeError):
    """The embedded warehouse directory is open in another process."""


class WarehouseUnavailable(ConnectionError):
    """ClickHouse cannot be reached (here: the outage failpoint is set)."""


@dataclass(frozen=True)
class QueryLimits:
    max_execution_time_s: float = 30.0
    max_memory_bytes: int = 2 << 30
    max_result_rows: int = 100_000
    max_threads: int = 1  # 0: ClickHouse's default
    max_result_bytes: int = 16 << 20

    @classmethod
    def from_settings(cls, settings: Settings) -> QueryLimits:
        return cls(
            settings.query_max_execution_time_s,
            settings.query_max_memory_bytes,
            settings.query_max_result_rows,
            settings.query_max_threads,
            settings.query_max_result_bytes,
        )

    def client_settings(self) -> dict[str, Any]:
        """ClickHouse settings, ``readonly`` last (once it is set, no other setting may change)."""
        limits: dict[str, Any] = {
            "max_execution_time": self.max_execution_time_s,
            "timeout_overflow_mode": "throw",
            "max_memory_usage": self.max_memory_bytes,
            "max_result_rows": self.max_result_rows,
            "max_result_bytes": self.max_result_bytes,
            "result_overflow_mode": "throw",
        }
        if self.max_threads:
            limits["max_threads"] = self.max_threads
        return {**limits, "readonly": 1}

    def explain(self, error: str) -> str:
        """A limit's error as an analyst should read it (other errors as they are)."""
        if "TIMEOUT_EXCEEDED" in error or "Timeout exceeded" in error:
            return (
                f"query stopped: it ran past the time limit of {self.max_execution_time_s:g}s "
                "(LEADSTREAM_QUERY_MAX_EXECUTION_TIME_S); narrow it (a date range, a site) or pre-aggregate"
            )
        if "MEMORY_LIMIT_EXCEEDED" in error or "Memory limit" in error:
            return (
                f"query stopped: it needed more than the memory limit of {self.max_memory_bytes} bytes "
                "(LEADSTREAM_QUERY_MAX_MEMORY_BYTES); narrow it or aggregate less"
            )
        if ("TOO_MANY_ROWS_OR_BYTES" in error or "Limit for result exceeded" in error) and "max bytes" in error:
            return self.too_many_bytes()
        if "TOO_MANY_ROWS_OR_BYTES" in error or "Limit for result exceeded" in error:
            return self.too_many_rows()
        return error

    def too_many_rows(self) -> str:
        return (
            f"query stopped: its result has more than {self.max_result_rows} rows "
            "(LEADSTREAM_QUERY_MAX_RESULT_ROWS); add a LIMIT or aggregate"
        )

    def too_many_bytes(self) -> str:
        return (
            f"query stopped: its result holds more than {self.max_result_bytes} bytes "
            "(LEADSTREAM_QUERY_MAX_RESULT_BYTES); select fewer or shorter columns, add a LIMIT or aggregate"
        )


_JSON_INPUT = {"date_time_input_format": "best_effort"}  # orjson writes ISO 8601 with the offset


def _json_columns(rows: Sequence[Sequence[Any]]) -> bytes | None:
    try:
        return orjson.dumps(list(zip(*rows, strict=True)))
    except (TypeError, ValueError):  # a value orjson cannot write (bytes, Decimal, an int past 64 bits)
        return None


def _opened(handle: Client | None) -> Client:
    if handle is None:
        raise RuntimeError("warehouse is not open")
    return handle


class QueryLimitExceeded(RuntimeError):
    """An analyst's query went past one of its limits."""


class AnalystQueryFailed(RuntimeError):
    """The engine refused or failed an analyst's query; the message is the engine's, first line only."""


class QueryResult:
    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.columns = list(columns)
        self.rows = [list(r) for r in rows]


class Warehouse:
    def __init__(
        self, dsn: str, database: str, outage_flag: Path | None = None, limits: QueryLimits | None = None
    ) -> None:
        """``outage_flag``: a failpoint for fault drills; while that file exists every insert and
        read fails as if ClickHouse were unreachable (an embedded warehouse cannot be stopped alone)."""
        if not _IDENT.match(database):
            raise ValueError(f"database name {database!r} must be a plain identifier")
        self.dsn = dsn
        self.database = database
        self._outage_flag = outage_flag
        self.limits = limits or QueryLimits()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse")
        self._analysts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse-analysts")
        self._upkeep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse-upkeep")
        self._client: Client | None = None
        self._maintainer: Client | None = None
        self._reader: Client | None = None
        self._analyst: Client | None = None

    # --- lifecycle (blocking; call from start-up code or through ``call``) ------------------
    def open(self) -> None:
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        try:
            client = clickhouse_connect.get_client(dsn=self.dsn)
        except Exception as exc:
            if "lock" in str(exc).lower() and self.dsn.startswith("chdb://"):
                raise WarehouseLocked(
                    f"the embedded warehouse {self.dsn} is open in another process (the worker). "
                    "Query it through the running worker (`leadstream query` does), or stop the worker first."
                ) from exc
            raise
        client.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        client.database = self.database
        self._client = client
        self._reader = clickhouse_connect.get_client(dsn=self.dsn, settings={"readonly": 1})
        self._reader.database = self.database
        self._analyst = self._analysts_handle()
        self._maintainer = clickhouse_connect.get_client(dsn=self.dsn)
        self._maintainer.database = self.database

    def _analysts_handle(self) -> Client:
        """A handle of the analysts' own: their limits, then read-only."""
        handle = clickhouse_connect.get_client(dsn=self.dsn, settings=self.limits.client_settings())
        handle.database = self.database
        return handle

    def _reset_analysts_handle(self) -> None:
        """Close the analysts' handle and open a new one (on the analysts' thread), so nothing a
        failed query left on it reaches the next answer."""
        if self._analyst is None:
            return
        old, self._analyst = self._analyst, None
        try:
            old.close()
        finally:
            self._analyst = self._analysts_handle()

    def close(self) -> None:
        def _close() -> None:
            for handle in (self._maintainer, self._analyst, self._reader, self._client):
                if handle is not None:
                    handle.close()
            self._client = self._reader = self._analyst = self._maintainer = None

        self._analysts.shutdown(wait=True)
        self._upkeep.shutdown(wait=True)
        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)

    @property
    def client(self) -> Client:
        return _opened(self._client)

    # --- blocking operations (run on the warehouse thread) ---------------------------------
    def sync(self, fn: Callable[[Client], T]) -> T:
        return self._executor.submit(lambda: fn(self.client)).result()

    def _reachable(self) -> None:
        if self._outage_flag is not None and self._outage_flag.exists():
            raise WarehouseUnavailable(f"warehouse unavailable (failpoint {self._outage_flag} is set)")

    async def call(self, fn: Callable[[Client], T]) -> T:
        self._reachable()
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(self.client))

    async def maintain(self, fn: Callable[[Client], T]) -> T:
        """Run ``fn`` on the maintenance handle and thread (beside the inserts, not in their queue)."""
        self._reachable()
        return await asyncio.get_running_loop().run_in_executor(self._upkeep, lambda: fn(_opened(self._maintainer)))

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], token: str, *, as_json: bool = False
    ) -> None:
        """Insert one block; a retry with the same token is dropped by ClickHouse (dedup window).

        ``as_json``: send the block as JSON columns that ClickHouse parses itself, for rows of JSON
        values, dates and date-times (a non-finite float goes in as NULL, or the column's default).
        clickhouse-connect's native block is built in Python, holding the interpreter: ~9 us a
        row of the writer's thread against ~3.5 us (events rows; the same total CPU, most of it
        now in ClickHouse's own parser). A block orjson cannot write goes native."""
        settings = {"insert_deduplication_token": token, "insert_deduplicate": 1}
        names = list(columns)

        def insert(c: Client) -> None:
            if as_json and (payload := _json_columns(rows)) is not None:
                c.raw_insert(table, names, payload, settings=settings | _JSON_INPUT, fmt="JSONCompactColumns")
            else:
                c.insert(table, rows, column_names=names, settings=settings)

        await self.call(insert)

    def _read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        reader = _opened(self._reader)
        self._reachable()
        result = reader.query(sql, parameters=parameters)
        return QueryResult(result.column_names, result.result_rows)

    def _analyst_read(self, sql: str) -> QueryResult:
        analyst = _opened(self._analyst)
        self._reachable()
        try:
            result = analyst.query(checked_sql(analyst, sql, self.database))
            if len(result.result_rows) > self.limits.max_result_rows:  # the engine folds a FROM-less query past it
                raise QueryLimitExceeded(self.limits.too_many_rows())
            return QueryResult(result.column_names, result.result_rows)
        except (AnalystSqlRefused, QueryLimitExceeded):
            self._reset_analysts_handle()
            raise
        except Exception as exc:
            self._reset_analysts_handle()
            explained = self.limits.explain(str(exc))
            if explained != str(exc):
                raise QueryLimitExceeded(explained) from None
            raise AnalystQueryFailed(engine_message(exc)) from None

    def read_sync(self, sql: str) -> QueryResult:
        """Run analyst SQL on the analysts' handle, within their limits (blocking); raises
        ``AnalystSqlRefused``, ``QueryLimitExceeded`` or ``AnalystQueryFailed``."""
        return self._analysts.submit(self._analyst_read, sql).result()

    async def analyst_read(self, sql: str) -> QueryResult:
        """Run analyst SQL on the analysts' handle and thread, within their limits: a refusal
        raises ``AnalystSqlRefused``, a limit reached ``QueryLimitExceeded`` saying which, any other
        failure ``AnalystQueryFailed``."""
        return await asyncio.get_running_loop().run_in_executor(self._analysts, self._analyst_read, sql)

    async def read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run SQL on the read-only handle; ``{name:Type}`` placeholders bind ``parameters``."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, sql, parameters)
