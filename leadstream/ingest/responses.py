"""The tracking contract's response bodies."""

from __future__ import annotations

from leadstream.ingest.ratelimit import Decision
from leadstream.ingest.wire import Reply

RETRY_AFTER_BROKER_S = 5


def tracking_error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """``{"ok": false, "score": null, "message": ...}`` (400, 403, 404, 413, 500, 503)."""
    return Reply.json(status, {"ok": False, "score": None, "message": message}, headers)


def broker_unavailable(message: str, headers: dict[str, str]) -> Reply:
    return tracking_error(503, message, {**headers, "Retry-After": str(RETRY_AFTER_BROKER_S)})


def rate_limited(decision: Decision, headers: dict[str, str]) -> Reply:
    """429 in the contract's own shape (not the tracking error shape)."""
    body = {"error": "Rate limit exceeded", "retryAfter": decision.retry_after}
    return Reply.json(429, body, {**decision.headers(), **headers})
