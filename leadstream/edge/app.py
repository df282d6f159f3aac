"""The HTTP edge process: the tracking hot path (plain ASGI) in front of a FastAPI app.

FastAPI serves health, the API docs and (later) the OS endpoints, and runs the lifespan that
starts the shared resources (``EdgeState``). The edge never opens the warehouse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from leadstream import __version__
from leadstream.api import more_routes
from leadstream.api import routes as os_routes
from leadstream.api.openapi import add_os_schemas
from leadstream.commands.heap import settle_heap
from leadstream.dashboard import routes as dashboard_routes
from leadstream.edge.http import JSONResponse
from leadstream.edge.state import EdgeState
from leadstream.ingest.asgi import EdgeApp
from leadstream.ingest.cors import VaryOriginMiddleware
from leadstream.ingest.docs import add_tracking_docs
from leadstream.kafka import uvloop_fix as kafka_uvloop
from leadstream.leads import api as leads_api
from leadstream.observability.edge import EDGE
from leadstream.oci import routes as oci_routes
from leadstream.settings import Settings, get_settings
from leadstream.stats import api as stats_api

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, own_process: bool = False) -> EdgeApp:
    """``own_process``: the edge is the process (``leadstream edge``), so its start-up heap may be
    frozen out of the garbage collector; not for an edge embedded in a longer-lived process."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        edge = EdgeState.build(settings)
        await edge.start()
        app.started(edge)
        EDGE.in_flight = lambda: edge.publisher.waiting
        flusher = asyncio.create_task(EDGE.run(), name="metrics-flush")
        if own_process:
            settle_heap()
        try:
            yield
        finally:
            await edge.stop()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    api = FastAPI(title="leadstream edge", version=__version__, default_response_class=JSONResponse, lifespan=lifespan)
    add_tracking_docs(api)
    api.include_router(os_routes.router)
    add_os_schemas(api)
    more_routes.install(api)  # rank, enrich, intelligence/*, __diag
    leads_api.install(api)  # /api/leads (site keys)
    oci_routes.install(api)  # /api/oci/* (OpsMantik's Google Ads Script) and the import CSV
    stats_api.install(api)  # /api/v2/query, /api/v1/stats/realtime/visitors (site keys)
    dashboard_routes.install(api)  # /dashboard/{site}, its login, /share/{token}
    api.add_middleware(VaryOriginMiddleware)

    @api.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"ok": False, "score": None, "message": "Internal error"}, status_code=500)

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        edge: EdgeState = api.state.edge
        body = {"kafka": edge.publisher.ready, "sites": edge.sites.loaded, "redis": edge.replies.available}
        return JSONResponse(body, status_code=200 if edge.ready else 503)

    app = EdgeApp(api)
    return app


def serve_app() -> EdgeApp:
    """The app factory of ``leadstream edge`` (uvicorn runs it on uvloop)."""
    kafka_uvloop.install()
    return create_app(own_process=True)
