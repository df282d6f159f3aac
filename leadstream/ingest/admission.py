"""The checks both tracking endpoints run before publishing, in order.

Each raises ``Rejected`` carrying the contract-shaped reply, so a handler reads as a
straight line: origin -> body -> site -> origin for that site -> rate limit -> publish.
"""

from __future__ import annotations

import orjson

from leadstream.ingest.cors import CorsPolicy, allow_origin
from leadstream.ingest.ports import KnowsSites
from leadstream.ingest.ratelimit import Decision, RateLimiter
from leadstream.ingest.responses import rate_limited, tracking_error
from leadstream.ingest.wire import BodyTooLarge, Inbound, Reply
from leadstream.schemas.errors import PayloadError
from leadstream.schemas.sites import SiteRecord

ORIGIN_DENIED = "Origin not allowed"


class Rejected(Exception):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def check_origin(inbound: Inbound, cors: CorsPolicy) -> str | None:
    """The request's origin if some site allows it; None without an Origin (server-to-server)."""
    origin = inbound.headers.get("origin")
    if origin is not None and not cors.allowed_anywhere(origin):
        raise Rejected(tracking_error(403, ORIGIN_DENIED))
    return origin


async def read_json(inbound: Inbound, limit: int, origin: str | None) -> tuple[bytes, object]:
    try:
        raw = await inbound.body(limit)
    except BodyTooLarge:
        raise Rejected(tracking_error(413, f"Payload too large: at most {limit} bytes", allow_origin(origin))) from None
    if not raw:
        raise invalid(PayloadError("body", "empty; expected a JSON object"), origin)
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid(PayloadError("body", "not valid JSON"), origin) from None


def invalid(exc: PayloadError, origin: str | None) -> Rejected:
    return Rejected(tracking_error(400, exc.message, allow_origin(origin)))


def require_site(sites: KnowsSites, cors: CorsPolicy, site_id: str, origin: str | None) -> SiteRecord:
    site = sites.get(site_id)
    if site is None:
        raise Rejected(tracking_error(404, "Site not found"))
    if origin is not None and not cors.allowed_for(site, origin):
        raise Rejected(tracking_error(403, ORIGIN_DENIED))
    return site


def within_rate(limiter: RateLimiter, scope: str, key: str, limit: int, origin: str | None, cost: int = 1) -> Decision:
    """Count ``cost`` units (a batch's events) on ``key``; 429 past the limit."""
    decision = limiter.hit(scope, key, limit, cost)
    if not decision.allowed:
        raise Rejected(rate_limited(decision, allow_origin(origin)))
    return decision
