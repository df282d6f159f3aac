"""The worker's web endpoints: health, metrics and read-only warehouse queries.

In embedded mode only the worker may open the chDB directory, so analysts (``leadstream
query``) reach the live data through this endpoint. It binds to 127.0.0.1 by default and runs
every query on the analysts' handle: ``readonly=1`` and the limits of ``LEADSTREAM_QUERY_*``. The
same goes for the two writes the CLI may ask for (``leadstream migrate``, ``leadstream stats
refresh``): the worker runs them on its own handle, and once it binds beyond loopback only for a
caller with ``LEADSTREAM_WORKER_TOKEN``.

``/leadstream/health`` answers 503 when the warehouse does not answer or when a loop is stuck or
crash-looping (``observability.health``), naming it; ``/metrics`` is Prometheus' exposition.
"""

from __future__ import annotations

import hmac

import faust
import orjson
from aiohttp.web import Response
from faust.web import Request, View

from leadstream.observability import exposition
from leadstream.observability import metrics as m
from leadstream.observability.health import LOOPS
from leadstream.settings import Settings
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import QueryLimitExceeded, Warehouse
from leadstream.streams.daily_stats import DailyStatsRefresher


def _json(payload: object, status: int = 200) -> Response:
    return Response(body=orjson.dumps(payload, default=str), status=status, content_type="application/json")


def write_refusal(settings: Settings, authorization: str | None) -> str | None:
    """Why a write request may not go ahead (None: it may). A configured token is always required;
    without one, writes are allowed only while the worker listens on loopback alone."""
    if settings.worker_token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), settings.worker_token.encode()):
            return None
        return "a valid worker token is required (Authorization: Bearer $LEADSTREAM_WORKER_TOKEN)"
    if settings.worker_on_loopback:
        return None
    return (
        f"the worker listens beyond loopback ({settings.worker_host}): set LEADSTREAM_WORKER_TOKEN on the "
        "worker and the caller to use its write endpoints"
    )


def register_web(
    app: faust.App, settings: Settings, warehouse: Warehouse | None, refresher: DailyStatsRefresher | None
) -> None:
    """Health and metrics on every worker; the warehouse's endpoints where the warehouse is open."""

    @app.page("/leadstream/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            report = LOOPS.report()
            for name, loop in report["loops"].items():
                m.LOOP_HEALTHY.labels(name).set(1 if loop["ok"] else 0)
            report["role"] = settings.worker_role
            if warehouse is None:  # a processor: the writer reports the warehouse
                return _json(report, status=200 if report["ok"] else 503)
            try:
                await warehouse.call(lambda c: c.query("SELECT 1"))
                report["warehouse"] = warehouse.dsn.split("://")[0]
            except Exception as exc:  # report, do not crash the worker
                report["ok"] = False
                report["warehouse"] = str(exc)
                report["failing"].insert(0, f"warehouse: {exc}")
            return _json(report, status=200 if report["ok"] else 503)

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            for name, loop in LOOPS.report()["loops"].items():
                m.LOOP_HEALTHY.labels(name).set(1 if loop["ok"] else 0)
            body, content_type = exposition.render()
            return Response(body=body, status=200, headers={"Content-Type": content_type})

    if warehouse is None or refresher is None:
        return
    register_warehouse_web(app, settings, warehouse, refresher)


def register_warehouse_web(
    app: faust.App, settings: Settings, warehouse: Warehouse, refresher: DailyStatsRefresher
) -> None:
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
                result = await warehouse.analyst_read(sql)
            except QueryLimitExceeded as exc:
                m.ANALYST_QUERIES.labels("limit").inc()
                return _json({"error": str(exc), "limit": True}, status=400)
            except Exception as exc:
                m.ANALYST_QUERIES.labels("error").inc()
                return _json({"error": str(exc).strip().splitlines()[0][:2000]}, status=400)
            m.ANALYST_QUERIES.labels("ok").inc()
            return _json({"columns": result.columns, "rows": result.rows})

    @app.page("/leadstream/migrate")
    class Migrate(View):
        async def post(self, request: Request) -> Response:
            if refusal := write_refusal(settings, request.headers.get("Authorization")):
                return _json({"error": refusal}, status=403)
            applied = await warehouse.call(migrate)
            return _json({"applied": [m.label for m in applied]})

    @app.page("/leadstream/stats/refresh")
    class RefreshStats(View):
        async def post(self, request: Request) -> Response:
            if refusal := write_refusal(settings, request.headers.get("Authorization")):
                return _json({"error": refusal}, status=403)
            return _json((await refresher.refresh()).as_dict())
