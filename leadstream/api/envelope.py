"""The OS response envelope: ``{success, data, meta}`` and ``{success: false, error, error_code}``."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadstream.edge.http import JSONResponse

OS_VERSION = "1.0.0"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Call:
    """One OS request: what the envelope reports about it."""

    endpoint: str
    request_id: str
    started: float = field(default_factory=time.perf_counter)

    @classmethod
    def start(cls, endpoint: str, headers: dict[str, str] | Any) -> Call:
        return cls(endpoint, headers.get("x-request-id") or f"os-{uuid.uuid4().hex[:16]}")

    def meta(self) -> dict[str, Any]:
        return {
            "os_version": OS_VERSION,
            "endpoint": self.endpoint,
            "execution_time_ms": round((time.perf_counter() - self.started) * 1000, 1),
            "request_id": self.request_id,
            "timestamp": now_iso(),
        }

    def ok(self, data: Any, status: int = 200, fallback: bool = False) -> JSONResponse:
        body: dict[str, Any] = {"success": True, "data": data, "meta": self.meta()}
        if fallback:
            body["timestamp"] = body["meta"]["timestamp"]
        return JSONResponse(body, status_code=status, headers={"x-request-id": self.request_id})

    def fail(self, status: int, error: str, error_code: str, **extra: Any) -> JSONResponse:
        body = {"success": False, "error": error, "error_code": error_code, **extra, "meta": self.meta()}
        return JSONResponse(body, status_code=status, headers={"x-request-id": self.request_id})
