"""Response bodies of the tracking contract, as models (for OpenAPI and tests)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SyncAccepted(BaseModel):
    ok: Literal[True] = True
    score: int = Field(ge=0, le=100, description="event lead score; the highest of a batch")
    status: Literal["synced"] = "synced"
    count: int | None = Field(default=None, description="events accepted (batches only)")


class TrackingError(BaseModel):
    ok: Literal[False] = False
    score: None = None
    message: str = Field(examples=["Invalid sid: Input should be a valid UUID"])


class RateLimited(BaseModel):
    error: Literal["Rate limit exceeded"] = "Rate limit exceeded"
    retryAfter: int = Field(description="seconds; also in the Retry-After header")


class SigningError(BaseModel):
    status: Literal["error"] = "error"
    message: str
