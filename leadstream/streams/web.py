"""The worker's web endpoints, and who may call each.

| endpoint | caller |
|---|---|
| ``GET /leadstream/health``, ``GET /metrics`` | anyone who reaches the port |
| ``POST /leadstream/query`` | an analyst: a token of ``LEADSTREAM_ANALYST_TOKENS``; ``application/json`` |
| ``POST /leadstream/migrate``, ``.../stats/refresh`` | the CLI: ``LEADSTREAM_WORKER_TOKEN``; ``application/json`` |

In embedded mode only the worker may open the chDB directory, so analysts (``leadstream query``)
and the CLI's writes reach the warehouse through here. Tokens are asked on loopback too: any web
page a developer opens can post to 127.0.0.1. Only ``application/json`` is taken (a page can send
``text/plain`` without asking; JSON needs a CORS preflight this server never grants), and every
request's Host header must be one of the worker's names, so a page that rebinds its own DNS name
to 127.0.0.1 cannot read the answers either.

Starlette on uvicorn, inside the worker process: ``WorkerWeb`` binds exactly
``LEADSTREAM_WORKER_HOST:PORT`` before the worker starts (a port in use fails the start) and
serves as one of the worker's tasks. ``/leadstream/health`` answers 503 when the warehouse does
not answer or a loop is stuck or crash-looping (``observability.health``), naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from leadstream.observability import exposition
from leadstream.observability import metrics as m
from leadstream.observability.health import LOOPS
from leadstream.settings import Settings
from leadstream.storage.analyst_sql import AnalystSqlRefused
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import AnalystQueryFailed, QueryLimitExceeded, Warehouse, WarehouseUnavailable
from leadstream.streams.daily_stats import DailyStatsRefresher
from leadstream.streams.web_leads import leads_routes
from leadstream.streams.web_stats import stats_routes

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 256 * 1024  # a query and its JSON wrapping
WORKER_TOKEN = "LEADSTREAM_WORKER_TOKEN"
ANALYST_TOKENS = "LEADSTREAM_ANALYST_TOKENS"


def _json(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload, default=str), status, headers, media_type="application/json")


def _rows_json(columns: list[str], rows: list[list[Any]]) -> bytes:
    payload = {"columns": columns, "rows": rows}
    try:
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # an integer past 64 bits: the standard library writes it
        return json.dumps(payload, default=str, ensure_ascii=False).encode()


class HostCheck:
    """Answers only requests whose Host header is one of the worker's names (DNS rebinding)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if host.strip().lower() not in self.allowed:
                error = (
                    f"this worker does not answer to Host {host[:100]!r}; "
                    "an operator adds its names to LEADSTREAM_WORKER_ALLOWED_HOSTS"
                )
                await _json({"error": error}, 421)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_refusal(given: str, accepted: Iterable[SecretStr | None], variable: str) -> Response | None:
    """401/403 unless ``given`` is one of the ``accepted`` tokens (every one compared, in constant time)."""
    tokens = [t.get_secret_value().encode() for t in accepted if t is not None and t.get_secret_value()]
    if not tokens:
        error = f"this endpoint is off: the worker has no {variable} (`make run` writes one to var/secrets.env)"
        return _json({"error": error}, 403)
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given.encode(), token)
    if matched:
        return None
    caller = "LEADSTREAM_ANALYST_TOKEN, or one of " + variable if variable == ANALYST_TOKENS else variable
    error = f"a valid token is required: send Authorization: Bearer <{caller}>"
    return _json({"error": error}, 401, {"WWW-Authenticate": "Bearer"})


def content_type_refusal(request: Request) -> Response | None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return None
    return _json({"error": "send Content-Type: application/json"}, 415)


async def read_body(request: Request, limit: int = MAX_REQUEST_BYTES) -> bytes | None:
    """The request body, or None past ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def analyst_name(settings: Settings, given: str) -> str:
    """Which analyst a (valid) token is; every token is compared."""
    name = "?"
    for candidate, token in settings.analyst_tokens.items():
        if hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            name = candidate
    return name


def _loops_report() -> dict[str, Any]:
    report = LOOPS.report()
    for name, loop in report["loops"].items():
        m.LOOP_HEALTHY.labels(name).set(1 if loop["ok"] else 0)
    return report


def create_web_app(settings: Settings, warehouse: Warehouse | None, refresher: DailyStatsRefresher | None) -> Starlette:
    """Health and metrics on every worker; the warehouse's endpoints where the warehouse is open."""

    async def health(request: Request) -> Response:
        report = _loops_report()
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

    async def metrics(request: Request) -> Response:
        _loops_report()
        body, content_type = exposition.render()
        return Response(body, 200, {"Content-Type": content_type})

    routes = [Route("/leadstream/health", health, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]
    if warehouse is not None and refresher is not None:
        routes += warehouse_routes(settings, warehouse, refresher)
    return Starlette(
        routes=routes,
        middleware=[Middleware(HostCheck, allowed=settings.worker_host_names)],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )


def warehouse_routes(settings: Settings, warehouse: Warehouse, refresher: DailyStatsRefresher) -> list[Route]:
    async def query(request: Request) -> Response:
        given = bearer_token(request)
        if refusal := token_refusal(given, settings.analyst_tokens.values(), ANALYST_TOKENS):
            return refusal
        if refusal := content_type_refusal(request):
            return refusal
        body = await read_body(request)
        if body is None:
            return _json({"error": f"the request is larger than {MAX_REQUEST_BYTES} bytes"}, 413)
        try:
            sql = orjson.loads(body)["sql"]
            if not isinstance(sql, str):
                raise TypeError
        except Exception:
            return _json({"error": 'body must be {"sql": "<query>"}'}, 400)
        who = analyst_name(settings, given)
        try:
            result = await warehouse.analyst_read(sql)
        except AnalystSqlRefused as exc:
            m.ANALYST_QUERIES.labels("refused").inc()
            log.info("analyst %s: %s", who, exc)
            return _json({"error": str(exc), "refused": True}, 400)
        except QueryLimitExceeded as exc:
            m.ANALYST_QUERIES.labels("limit").inc()
            return _json({"error": str(exc), "limit": True}, 400)
        except AnalystQueryFailed as exc:
            m.ANALYST_QUERIES.labels("error").inc()
            return _json({"error": str(exc)}, 400)
        except WarehouseUnavailable as exc:
            m.ANALYST_QUERIES.labels("error").inc()
            return _json({"error": str(exc)}, 503, {"Retry-After": "5"})
        answer = _rows_json(result.columns, result.rows)
        if len(answer) > settings.query_max_result_bytes:  # the engine counts bytes in memory, not in JSON
            m.ANALYST_QUERIES.labels("limit").inc()
            return _json({"error": warehouse.limits.too_many_bytes(), "limit": True}, 400)
        m.ANALYST_QUERIES.labels("ok").inc()
        return Response(answer, 200, media_type="application/json")

    def writer(work: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if refusal := token_refusal(bearer_token(request), [settings.worker_token], WORKER_TOKEN):
                return refusal
            if refusal := content_type_refusal(request):
                return refusal
            return _json(await work())

        return endpoint

    async def apply_migrations() -> dict[str, Any]:
        return {"applied": [applied.label for applied in await warehouse.call(migrate)]}

    async def refresh_stats() -> dict[str, Any]:
        return (await refresher.refresh()).as_dict()

    return [
        Route("/leadstream/query", query, methods=["POST"]),
        Route("/leadstream/migrate", writer(apply_migrations), methods=["POST"]),
        Route("/leadstream/stats/refresh", writer(refresh_stats), methods=["POST"]),
        *leads_routes(settings, warehouse),  # the leads API's reads and the OCI queue (web_leads.py)
        *stats_routes(settings, warehouse),  # the Stats API's queries and realtime visitors (web_stats.py)
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _json({"error": exc.detail}, exc.status_code, dict(exc.headers or {}))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("worker endpoint %s failed", request.url.path, exc_info=exc)
    return _json({"error": "internal error; the worker's log has it"}, 500)


class WorkerWebBindError(RuntimeError):
    """The worker cannot listen where its settings say."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on exactly ``host:port`` (never a wider address)."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        raise WorkerWebBindError(
            f"the worker cannot listen on {host}:{port} ({exc.strerror}); "
            "set LEADSTREAM_WORKER_HOST / LEADSTREAM_WORKER_PORT (or `leadstream worker --port`)"
        ) from None
    sock.setblocking(False)
    return sock


class _ShellServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the worker shell owns SIGINT and SIGTERM, and stops this server's task


class WorkerWeb:
    """The endpoints' server: bound at construction, served by ``serve`` (a worker task)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.socket = bind(settings.worker_host, settings.worker_port)
        self._config = uvicorn.Config(
            app,
            log_config=None,  # the worker's logging stays as it is
            access_log=False,
            lifespan="off",
            ws="none",
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=5,
        )

    async def serve(self) -> None:
        server = _ShellServer(self._config)
        try:
            await server.serve(sockets=[self.socket])
        except asyncio.CancelledError:  # the worker stops: stop listening, finish the answers under way
            if server.started:
                await server.shutdown(sockets=[self.socket])
            raise
        finally:
            self.socket.close()
