"""CORS preflight for the tracking endpoints: 200 for an allowed origin, 403 otherwise."""

from __future__ import annotations

from leadstream.ingest.ports import TrackingEdge
from leadstream.ingest.wire import Inbound, Reply


async def handle_preflight(edge: TrackingEdge, inbound: Inbound) -> Reply:
    origin = inbound.headers.get("origin")
    if origin is None:  # not a CORS preflight; say what the route takes
        return Reply(200, headers={"Allow": "POST, OPTIONS"})
    if not edge.cors.allowed_anywhere(origin):
        return Reply(403)
    return Reply(200, headers=edge.cors.preflight_headers(origin))
