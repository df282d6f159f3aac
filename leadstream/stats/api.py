"""The Stats API on the edge, Plausible's v2 shape, for a site's key: ``Authorization: Bearer KEY``.

| endpoint | answers |
|---|---|
| ``POST /api/v2/query`` | ``{results, meta, query}``, Plausible's shape |
| ``GET /api/v1/stats/realtime/visitors?site_id=`` | a bare integer: visitors with a pageview in the last 5 minutes |

Who may call: the holder of a live key of the site the query names (``leadstream sites key SITE``).
The site's dashboard calls with its session cookie (plus its CSRF token) or a share link's token instead.
A missing or wrong key, or a site the key does not reach (unknown ones included), is 401
``{"error"}`` as Plausible answers; an invalid query is 400 ``{"error"}`` naming the field; the
worker not answering is 503. The query is validated here, then executed by the worker (the edge
never opens the warehouse) in the site's timezone.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from leadstream.dashboard.auth import dashboard_site
from leadstream.edge.http import JSONResponse
from leadstream.edge.site_auth import site_of
from leadstream.leads.worker_reads import WorkerUnavailable, ask_worker
from leadstream.stats.errors import StatsQueryError
from leadstream.stats.query import QueryRequest, parse

MAX_BODY = 64 * 1024
UNAUTHORIZED = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site "
    "you've requested (Authorization: Bearer <key of `leadstream sites key SITE`>)"
)
router = APIRouter(tags=["stats"])


class ErrorBody(BaseModel):
    error: str = Field(examples=['#/metrics/0: Invalid metric "visitor"'])


class ResultRow(BaseModel):
    metrics: list[float | int] = Field(description="in the order of the query's metrics")
    dimensions: list[str] = Field(description="in the order of the query's dimensions; [] without dimensions")


class QueryAnswer(BaseModel):
    results: list[ResultRow]
    meta: dict[str, Any] = Field(description="total_rows / time_labels when asked in include")
    query: dict[str, Any] = Field(description="the normalised query: resolved date_range, default order_by")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "results": [{"metrics": [3, 4, 50], "dimensions": []}],
                    "meta": {},
                    "query": {
                        "site_id": "shop",
                        "metrics": ["visitors", "visits", "bounce_rate"],
                        "date_range": ["2026-03-10T00:00:00+00:00", "2026-03-10T23:59:59+00:00"],
                        "dimensions": [],
                        "filters": [],
                        "order_by": [["visitors", "desc"]],
                        "include": {"imports": False, "time_labels": False, "total_rows": False},
                        "pagination": {"limit": 10000, "offset": 0},
                    },
                }
            ]
        }
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "an invalid query; the error names the field"},
    401: {"model": ErrorBody, "description": "no valid key, or a site the key does not reach"},
    413: {"model": ErrorBody, "description": "the body is larger than 64 KiB"},
    503: {"model": ErrorBody, "description": "the worker did not answer; retry"},
}


def _error(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "2"} if status == 503 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _zone(request: Request, site: str) -> str:
    record = request.app.state.edge.sites.get(site)
    return getattr(record, "timezone", None) or "UTC"


@router.post(
    "/api/v2/query",
    summary="Plausible's Stats API v2 query",
    response_model=QueryAnswer,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueryRequest"}}},
        }
    },
)
async def query(request: Request) -> JSONResponse:
    edge = request.app.state.edge
    site = site_of(edge, request.headers) or await dashboard_site(request, share_ok=True)
    if site is None:
        return _error(401, UNAUTHORIZED)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return _error(413, "the query is larger than 64 KiB")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return _error(413, "the query is larger than 64 KiB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(400, "#: the body is not valid JSON")
    if isinstance(body, dict) and isinstance(body.get("site_id"), str) and body["site_id"] != site:
        return _error(401, UNAUTHORIZED)
    try:
        parse(body)
    except StatsQueryError as exc:
        return _error(400, str(exc))
    payload = {"site_id": site, "timezone": _zone(request, site), "query": body}
    try:
        status, answer = await ask_worker(edge.settings, "/leadstream/stats/query", payload)
    except WorkerUnavailable as exc:
        return _error(503, f"statistics cannot be read now: {exc}")
    if status != 200:
        return _error(400, str(answer.get("error", "invalid query")))
    return JSONResponse(answer)


@router.get(
    "/api/v1/stats/realtime/visitors",
    summary="Visitors with a pageview in the last 5 minutes (a bare integer)",
    response_model=int,
    responses=ERRORS,
)
async def realtime_visitors(
    request: Request, site_id: Annotated[str | None, Query(description="the key's site")] = None
) -> JSONResponse:
    edge = request.app.state.edge
    site = site_of(edge, request.headers) or await dashboard_site(request, share_ok=True)
    if site is None or (site_id is not None and site_id != site):
        return _error(401, UNAUTHORIZED)
    try:
        status, answer = await ask_worker(edge.settings, "/leadstream/stats/realtime", {"site_id": site})
    except WorkerUnavailable as exc:
        return _error(503, f"statistics cannot be read now: {exc}")
    if status != 200:
        return _error(503, "statistics cannot be read now")
    return JSONResponse(int(answer.get("visitors", 0)))


def install(api: FastAPI) -> None:
    """The routes, and ``QueryRequest`` (with the models it uses) in ``components.schemas``."""
    api.include_router(router)
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        schema = generate()
        _, top = models_json_schema([(QueryRequest, "validation")], ref_template="#/components/schemas/{model}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
