"""The HTTP edge process: FastAPI app with the tracking routes (and, later, the OS routes).

Shared resources (Kafka publisher, site registry) live for the app's lifetime and are
reached through ``app.state``. The edge never opens the warehouse.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from leadstream import __version__
from leadstream.broker import Publisher
from leadstream.http import JSONResponse
from leadstream.ingest import call_event, preflight, sync
from leadstream.ingest.cors import CorsPolicy, VaryOriginMiddleware
from leadstream.ingest.docs import add_model_schemas
from leadstream.ingest.ratelimit import RateLimiter
from leadstream.ingest.responses import tracking_error
from leadstream.replies import ReplyHub
from leadstream.settings import Settings, get_settings
from leadstream.site_registry import SiteRegistry

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.publisher = Publisher(settings)
        app.state.sites = SiteRegistry(settings)
        app.state.cors = CorsPolicy(app.state.sites, settings.global_origins)
        app.state.limiter = RateLimiter(settings.redis_url)
        app.state.replies = ReplyHub(settings.redis_url, namespace=settings.topic_prefix)
        await app.state.publisher.start()
        await app.state.sites.start(wait_s=settings.produce_timeout_s)
        await app.state.replies.start()
        try:
            yield
        finally:
            await app.state.replies.stop()
            await app.state.sites.stop()
            await app.state.publisher.stop()  # flushes in-flight records

    app = FastAPI(
        title="leadstream edge",
        version=__version__,
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    add_model_schemas(app)
    app.add_middleware(VaryOriginMiddleware)
    app.include_router(preflight.router)
    app.include_router(sync.router)
    app.include_router(call_event.router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return tracking_error(400, f"Invalid request: {exc.errors()[0].get('msg', 'bad input')}")

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return tracking_error(500, "Internal error")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        ready = app.state.publisher.ready and app.state.sites.loaded
        return JSONResponse(
            {"kafka": app.state.publisher.ready, "sites": app.state.sites.loaded}, status_code=200 if ready else 503
        )

    return app
