"""Fail-closed CORS for the tracking endpoints (SPEC §2.3).

An origin is allowed only by exact match: the site's own origins (from the registry) or the
optional global list. Allowed: ``Access-Control-Allow-Origin`` is the request's origin.
Denied: the header is absent (never echoed, never ``*``) and the request gets 403.
``Vary: Origin`` goes on every response, whatever its status, so caches never mix them up.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadstream.ingest.ports import KnowsSites
from leadstream.schemas.sites import SiteRecord

PREFLIGHT_METHODS = "POST, OPTIONS"
# Signing headers, and the ones OpsMantik's tracker sends (its signed mode adds X-Ops-Site-Id).
PREFLIGHT_HEADERS = "Content-Type, X-Ops-Site-Id, X-Ops-Ts, X-Ops-Signature, X-OpsMantik-Version"
PREFLIGHT_MAX_AGE = "600"
# A tracker reads Retry-After to back off (a cross-origin script sees only exposed headers).
EXPOSED_HEADERS = "Retry-After, X-Leadstream-Consent-Missing"


class CorsPolicy:
    def __init__(self, sites: KnowsSites, global_origins: Iterable[str] = ()) -> None:
        self._sites = sites
        self._global = frozenset(o.strip().rstrip("/") for o in global_origins if o.strip())

    def allowed_anywhere(self, origin: str) -> bool:
        """Preflight rule (no body yet): some registered site, or the global list, allows it."""
        return origin in self._global or self._sites.origin_known(origin)

    def allowed_for(self, site: SiteRecord, origin: str) -> bool:
        """Request rule: the site named in the body allows it (or the global list does)."""
        return origin in self._global or origin in site.origins

    def preflight_headers(self, origin: str) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": PREFLIGHT_METHODS,
            "Access-Control-Allow-Headers": PREFLIGHT_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        }


def allow_origin(origin: str | None) -> dict[str, str]:
    if not origin:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS}


class VaryOriginMiddleware:
    """Adds ``Vary: Origin`` to every HTTP response (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                for i, (name, value) in enumerate(headers):
                    if name.lower() == b"vary":
                        if b"origin" not in value.lower():
                            headers[i] = (name, value + b", Origin")
                        break
                else:
                    headers.append((b"vary", b"Origin"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_vary)
