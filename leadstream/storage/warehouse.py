"""ClickHouse through clickhouse-connect, embedded (``chdb://PATH``) or a server (``http(s)://``).

Every call runs on one dedicated thread: chDB is one engine per process, and a single
thread keeps the blocking client off the event loop without needing it to be thread-safe.
Analysts' SQL goes through a second handle opened with ``readonly=1``: a per-query
``readonly`` setting would stick to a chDB handle and lock the writer out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import clickhouse_connect
from clickhouse_connect.driver.client import Client

T = TypeVar("T")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WarehouseLocked(RuntimeError):
    """The embedded warehouse directory is open in another process."""


class WarehouseUnavailable(ConnectionError):
    """ClickHouse cannot be reached (here: the outage failpoint is set)."""


class QueryResult:
    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.columns = list(columns)
        self.rows = [list(r) for r in rows]


class Warehouse:
    def __init__(self, dsn: str, database: str, outage_flag: Path | None = None) -> None:
        """``outage_flag``: a failpoint for fault drills; while that file exists every insert and
        read fails as if ClickHouse were unreachable (an embedded warehouse cannot be stopped alone)."""
        if not _IDENT.match(database):
            raise ValueError(f"database name {database!r} must be a plain identifier")
        self.dsn = dsn
        self.database = database
        self._outage_flag = outage_flag
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warehouse")
        self._client: Client | None = None
        self._reader: Client | None = None

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

    def close(self) -> None:
        def _close() -> None:
            for handle in (self._reader, self._client):
                if handle is not None:
                    handle.close()
            self._client = self._reader = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("warehouse is not open")
        return self._client

    # --- blocking operations (run on the warehouse thread) ---------------------------------
    def sync(self, fn: Callable[[Client], T]) -> T:
        return self._executor.submit(lambda: fn(self.client)).result()

    def _reachable(self) -> None:
        if self._outage_flag is not None and self._outage_flag.exists():
            raise WarehouseUnavailable(f"warehouse unavailable (failpoint {self._outage_flag} is set)")

    async def call(self, fn: Callable[[Client], T]) -> T:
        self._reachable()
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(self.client))

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], token: str) -> None:
        """Insert one block; a retry with the same token is dropped by ClickHouse (dedup window)."""
        settings = {"insert_deduplication_token": token, "insert_deduplicate": 1}
        await self.call(lambda c: c.insert(table, rows, column_names=list(columns), settings=settings))

    def _read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        if self._reader is None:
            raise RuntimeError("warehouse is not open")
        self._reachable()
        result = self._reader.query(sql, parameters=parameters)
        return QueryResult(result.column_names, result.result_rows)

    def read_sync(self, sql: str) -> QueryResult:
        """Run analyst SQL on the read-only handle (blocking)."""
        return self._executor.submit(self._read, sql).result()

    async def read(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        """Run SQL on the read-only handle; ``{name:Type}`` placeholders bind ``parameters``."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._read, sql, parameters)
