"""Read-only SQL for analysts, wherever the warehouse lives.

Against a ClickHouse server the query goes straight to it. In embedded mode the running
worker owns the chDB directory, so the query goes through the worker's query endpoint with this
caller's analyst token (``LEADSTREAM_ANALYST_TOKEN``, else the first of ``LEADSTREAM_ANALYST_TOKENS``);
with no worker running, the directory is opened here directly. Either way the query passes the
same sandbox (``analyst_sql``) and limits.
"""

from __future__ import annotations

import httpx

from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryLimits, QueryResult, Warehouse

NO_TOKEN = (
    "no analyst token to send: set LEADSTREAM_ANALYST_TOKEN (or LEADSTREAM_ANALYST_TOKENS, as the worker has it); "
    "`make run` writes them to var/secrets.env"
)


class QueryError(RuntimeError):
    pass


def _through_worker(settings: Settings, sql: str, timeout_s: float) -> QueryResult | None:
    """The worker's answer; None when no worker listens."""
    try:
        response = httpx.post(
            f"{settings.worker_url}/leadstream/query",
            json={"sql": sql},
            headers=settings.analyst_headers,
            timeout=max(timeout_s, settings.query_max_execution_time_s + 10),
        )
    except httpx.ConnectError:
        return None  # no worker: nobody holds the directory, open it here
    try:
        payload = response.json()
    except ValueError:
        raise QueryError(f"the worker answered {response.status_code}: {response.text[:300]}") from None
    if response.status_code != 200:
        error = payload.get("error", response.text) if isinstance(payload, dict) else response.text
        if response.status_code in (401, 403) and not settings.analyst_headers:
            error = f"{error} ({NO_TOKEN})"
        raise QueryError(error)
    return QueryResult(payload["columns"], payload["rows"])


def analyst_query(settings: Settings, sql: str, timeout_s: float = 60.0) -> QueryResult:
    if settings.embedded_warehouse and (answer := _through_worker(settings, sql, timeout_s)) is not None:
        return answer
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
