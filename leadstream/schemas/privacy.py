"""Erasure requests: what ``leadstream privacy erase`` publishes to the erasures topic.

A request names its visitor only by a hash (``subject``), never by the fingerprint or session
id itself: the topic is kept for good, so that records carrying that visitor stay out.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

Scope = Literal["fingerprint", "session"]


def subject(site_id: str, scope: Scope, value: str) -> str:
    """SHA-256 hex of ``<site>:<scope>:<value>``; the warehouse computes the same in SQL."""
    return hashlib.sha256(f"{site_id}:{scope}:{value}".encode()).hexdigest()


class ErasureRequest(BaseModel):
    request_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    site_id: str
    scope: Scope
    subject: str = Field(pattern=r"^[0-9a-f]{64}$")
    requested_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
