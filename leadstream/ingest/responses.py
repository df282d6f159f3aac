"""The tracking contract's response bodies."""

from __future__ import annotations

from leadstream.http import JSONResponse
from leadstream.ingest.ratelimit import Decision

RETRY_AFTER_BROKER_S = 5


def tracking_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{"ok": false, "score": null, "message": ...}`` (400, 404, 413, 500, 503)."""
    return JSONResponse({"ok": False, "score": None, "message": message}, status_code=status, headers=headers)


def broker_unavailable(message: str) -> JSONResponse:
    return tracking_error(503, message, headers={"Retry-After": str(RETRY_AFTER_BROKER_S)})


def rate_limited(decision: Decision) -> JSONResponse:
    """429 in the contract's own shape (not the tracking error shape)."""
    return JSONResponse(
        {"error": "Rate limit exceeded", "retryAfter": decision.retry_after},
        status_code=429,
        headers=decision.headers(),
    )
