"""CORS preflight for the tracking endpoints: 200 for an allowed origin, 403 otherwise."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

router = APIRouter()


async def preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    if origin is None:  # not a CORS preflight; say what the route takes
        return Response(status_code=200, headers={"Allow": "POST, OPTIONS"})
    cors = request.app.state.cors
    if not cors.allowed_anywhere(origin):
        return Response(status_code=403)
    return Response(status_code=200, headers=cors.preflight_headers(origin))


for path in ("/api/sync", "/api/call-event"):
    router.add_api_route(path, preflight, methods=["OPTIONS"], include_in_schema=False)
