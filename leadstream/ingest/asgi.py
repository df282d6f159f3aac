"""The tracking hot path, served as plain ASGI in front of the FastAPI app.

``POST``/``OPTIONS`` on ``/api/sync`` and ``/api/call-event`` (and its ``/v2`` alias), and ``GET /t.js``,
are answered here; everything else (health, docs, the OS endpoints, lifespan) goes to FastAPI. Handlers raise
``Rejected`` for contract errors; anything else is a bug, logged and answered 500. Before a handler runs, the
client is resolved (``client_ip``) and its invalid-request budget checked (``invalid_budget``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from leadstream.ingest import invalid_budget
from leadstream.ingest.admission import Rejected
from leadstream.ingest.call_event import handle_call_event
from leadstream.ingest.cors import allow_origin
from leadstream.ingest.ports import TrackingEdge
from leadstream.ingest.preflight import handle_preflight
from leadstream.ingest.responses import rate_limited, tracking_error
from leadstream.ingest.script import SCRIPT_PATH, TrackerScript
from leadstream.ingest.sync import handle_sync
from leadstream.ingest.wire import Inbound, Reply
from leadstream.observability import exposition
from leadstream.observability.edge import EDGE
from leadstream.observability.logs import new_request_id

log = logging.getLogger(__name__)

Handler = Callable[[TrackingEdge, Inbound], Awaitable[Reply]]
CALL_EVENT_PATHS = ("/api/call-event", "/api/call-event/v2")  # v2: where OpsMantik's tracker posts
ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/api/sync"): handle_sync,
    ("OPTIONS", "/api/sync"): handle_preflight,
    **{("POST", path): handle_call_event for path in CALL_EVENT_PATHS},
    **{("OPTIONS", path): handle_preflight for path in CALL_EVENT_PATHS},
}
SCRIPT = TrackerScript.bundled()  # read and compressed once, at start-up
METRICS_PATH = "/metrics"


class EdgeApp:
    """The edge's ASGI entry point. ``api`` is the FastAPI app behind it (its ``state.edge``
    holds the shared resources once the lifespan has started them)."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self._edge: TrackingEdge | None = None
        self._metrics = EDGE

    @property
    def edge(self) -> TrackingEdge:
        edge = self._edge
        if edge is None:
            raise RuntimeError("the edge's lifespan has not started")
        return edge

    def started(self, edge: TrackingEdge) -> None:
        """Called by the lifespan once the shared resources run (kept here: read per request)."""
        self._edge = self.api.state.edge = edge

    def openapi(self) -> dict[str, object]:
        return self.api.openapi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        new_request_id(scope)
        method, path = scope["method"], scope["path"]
        handler = ROUTES.get((method, path))
        if handler is None:
            if path == SCRIPT_PATH:
                reply = SCRIPT.reply(Inbound.from_scope(scope, receive))
            elif path == METRICS_PATH and method == "GET":
                self._metrics.flush()  # this process's tallies; the others' are at most a second old
                body, content_type = exposition.render()
                reply = Reply(200, body, {"content-type": content_type})
            else:
                await self._framework(scope, receive, send, started)
                return
        else:
            reply = await self._tracking(handler, scope, receive)
        self._metrics.request(path, method, reply.status, time.perf_counter() - started)
        await reply.send(send)

    async def _tracking(self, handler: Handler, scope: Scope, receive: Receive) -> Reply:
        """A tracking route: the client's invalid-request budget first (POST only), then the handler."""
        edge = self.edge
        inbound = Inbound.from_scope(scope, receive, edge.clients)
        inbound.client_key = edge.anonymiser.client_key(inbound.client_ip)
        budget = edge.settings.rate_invalid_per_min
        posted = inbound.method == "POST"
        if posted and (over := invalid_budget.refused(edge.limiter, inbound.client_key, budget)):
            origin = inbound.headers.get("origin")
            known = origin is not None and edge.cors.allowed_anywhere(origin)
            return rate_limited(over, allow_origin(origin) if known else {})
        try:
            reply = await handler(edge, inbound)
        except Rejected as rejected:
            reply = rejected.reply
        except Exception:
            log.exception("unhandled error on %s %s", inbound.method, inbound.path)
            reply = tracking_error(500, "Internal error")
        if posted:
            invalid_budget.count(edge.limiter, inbound.client_key, budget, reply.status)
        return reply

    async def _framework(self, scope: Scope, receive: Receive, send: Send, started: float) -> None:
        """FastAPI's routes, counted under their route template once the response starts."""
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                self._metrics.request(template, scope["method"], status, time.perf_counter() - started)
            await send(message)

        await self.api(scope, receive, counting_send)
