"""The worker's web endpoints: health and read-only warehouse queries.

In embedded mode only the worker may open the chDB directory, so analysts (``leadstream
query``) reach the live data through this endpoint. It binds to 127.0.0.1 by default and
runs every query with ``readonly=1``. The same goes for the two writes the CLI may ask for
(``leadstream migrate``, ``leadstream stats refresh``): the worker runs them on its own handle.
"""

from __future__ import annotations

import faust
import orjson
from aiohttp.web import Response
from faust.web import Request, View

from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.daily_stats import DailyStatsRefresher


def _json(payload: object, status: int = 200) -> Response:
    return Response(body=orjson.dumps(payload, default=str), status=status, content_type="application/json")


def register_web(app: faust.App, warehouse: Warehouse, refresher: DailyStatsRefresher) -> None:
    @app.page("/leadstream/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            try:
                await warehouse.call(lambda c: c.query("SELECT 1"))
            except Exception as exc:  # report, do not crash the worker
                return _json({"ok": False, "warehouse": str(exc)}, status=503)
            return _json({"ok": True, "warehouse": warehouse.dsn.split("://")[0]})

    @app.page("/leadstream/query")
    class Query(View):
        async def post(self, request: Request) -> Response:
            try:
                sql = (await request.json())["sql"]
                if not isinstance(sql, str):
                    raise TypeError
            except Exception:
                return _json({"error": 'body must be {"sql": "<query>"}'}, status=400)
            try:
                result = await warehouse.read(sql)
            except Exception as exc:
                return _json({"error": str(exc).strip().splitlines()[0][:2000]}, status=400)
            return _json({"columns": result.columns, "rows": result.rows})

    @app.page("/leadstream/migrate")
    class Migrate(View):
        async def post(self, request: Request) -> Response:
            applied = await warehouse.call(migrate)
            return _json({"applied": [m.label for m in applied]})

    @app.page("/leadstream/stats/refresh")
    class RefreshStats(View):
        async def post(self, request: Request) -> Response:
            return _json((await refresher.refresh()).as_dict())
