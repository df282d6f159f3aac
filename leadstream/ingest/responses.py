"""The tracking contract's response bodies."""

from __future__ import annotations

from fastapi.responses import ORJSONResponse

RETRY_AFTER_BROKER_S = 5


def tracking_error(status: int, message: str, headers: dict[str, str] | None = None) -> ORJSONResponse:
    """``{"ok": false, "score": null, "message": ...}`` (400, 404, 413, 500, 503)."""
    return ORJSONResponse({"ok": False, "score": None, "message": message}, status_code=status, headers=headers)


def broker_unavailable(message: str) -> ORJSONResponse:
    return tracking_error(503, message, headers={"Retry-After": str(RETRY_AFTER_BROKER_S)})
