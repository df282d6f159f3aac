"""The worker's Stats API endpoints, for the edge only (``LEADSTREAM_WORKER_TOKEN``, JSON).

| endpoint | body | answer |
|---|---|---|
| ``POST /leadstream/stats/query`` | ``{"site_id", "timezone", "query"}`` | Plausible's answer, or 400 ``{"error"}`` |
| ``POST /leadstream/stats/realtime`` | ``{"site_id"}`` | ``{"visitors": n}`` |

The edge has already checked the caller's site key and that the query names that very site; it
passes the site's timezone. Queries run on the Stats API's own read-only handles
(``StatsReader``), beside the sinks' inserts and the analysts' queries.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadstream.settings import Settings
from leadstream.stats.engine import StatsEngine, StatsReader
from leadstream.stats.errors import StatsQueryError
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload, default=str), status, media_type="application/json")


def stats_routes(settings: Settings, warehouse: Warehouse) -> list[Route]:
    from leadstream.streams.web import WORKER_TOKEN, bearer_token, content_type_refusal, read_body, token_refusal

    engine = StatsEngine(StatsReader(warehouse.dsn, warehouse.database), margin_s=settings.daily_stats_margin_s)

    async def checked_body(request: Request) -> dict[str, Any] | Response:
        if refusal := token_refusal(bearer_token(request), [settings.worker_token], WORKER_TOKEN):
            return refusal
        if refusal := content_type_refusal(request):
            return refusal
        raw = await read_body(request, MAX_BODY)
        if raw is None:
            return _json({"error": f"the request is larger than {MAX_BODY} bytes"}, 413)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _json({"error": "the body is not JSON"}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("site_id"), str):
            return _json({"error": "#/site_id: Required property site_id was not present"}, 400)
        return body

    async def query(request: Request) -> Response:
        body = await checked_body(request)
        if isinstance(body, Response):
            return body
        zone = body.get("timezone") if isinstance(body.get("timezone"), str) else "UTC"
        wanted = body.get("query")
        if isinstance(wanted, dict):
            wanted = wanted | {"site_id": body["site_id"]}  # the site the edge authenticated, whatever the query says
        try:
            return _json(await engine.answer(wanted, zone))
        except StatsQueryError as exc:
            return _json({"error": str(exc)}, 400)
        except Exception as exc:
            if "re2" in str(exc) or "regular expression" in str(exc).lower():
                return _json({"error": "#/filters: Invalid regular expression"}, 400)
            log.warning("stats query failed: %s", exc)
            return _json({"error": "the warehouse did not answer; try again"}, 503)

    async def realtime(request: Request) -> Response:
        body = await checked_body(request)
        if isinstance(body, Response):
            return body
        try:
            return _json({"visitors": await engine.realtime_visitors(body["site_id"])})
        except Exception as exc:
            log.warning("realtime visitors failed: %s", exc)
            return _json({"error": "the warehouse did not answer; try again"}, 503)

    return [
        Route("/leadstream/stats/query", query, methods=["POST"]),
        Route("/leadstream/stats/realtime", realtime, methods=["POST"]),
    ]
