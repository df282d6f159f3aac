"""Read-only SQL for analysts, wherever the warehouse lives.

Against a ClickHouse server the query goes straight to it. In embedded mode the running
worker owns the chDB directory, so the query goes through the worker's query endpoint;
with no worker running, the directory is opened here directly.
"""

from __future__ import annotations

import httpx

from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryLimits, QueryResult, Warehouse


class QueryError(RuntimeError):
    pass


def analyst_query(settings: Settings, sql: str, timeout_s: float = 60.0) -> QueryResult:
    if settings.embedded_warehouse:
        try:
            response = httpx.post(
                f"{settings.worker_url}/leadstream/query",
                json={"sql": sql},
                headers=settings.worker_headers,
                timeout=max(timeout_s, settings.query_max_execution_time_s + 10),
            )
        except httpx.ConnectError:
            pass  # no worker: nobody holds the directory, open it here
        else:
            payload = response.json()
            if response.status_code != 200:
                raise QueryError(payload.get("error", response.text))
            return QueryResult(payload["columns"], payload["rows"])
    warehouse = Warehouse(
        settings.clickhouse_dsn, settings.clickhouse_database, limits=QueryLimits.from_settings(settings)
    )
    warehouse.open()
    try:
        return warehouse.read_sync(sql)
    except Exception as exc:
        raise QueryError(str(exc).strip().splitlines()[0]) from exc
    finally:
        warehouse.close()
