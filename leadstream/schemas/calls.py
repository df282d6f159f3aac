"""Phone / WhatsApp clicks: the ``/api/call-event`` payload, the calls-topic record, the reply."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from leadstream.schemas.network import whole_ip_read_as_prefix

CALL_ID_NAMESPACE = uuid.UUID("5b0f3c1e-8f9a-4c55-9a57-3c0d8f5e2a61")


class CallEventRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    site_id: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    phone_number: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    fingerprint: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    event_id: uuid.UUID | None = Field(default=None, description="idempotency key: a repeat returns the first answer")
    action: Literal["phone", "whatsapp"] = "phone"
    url: Annotated[StrictStr, Field(max_length=4096)] | None = None
    gclid: Annotated[StrictStr, Field(max_length=256)] | None = None
    wbraid: Annotated[StrictStr, Field(max_length=256)] | None = None
    gbraid: Annotated[StrictStr, Field(max_length=256)] | None = None

    def call_id(self, fresh: uuid.UUID, signature: str | None = None) -> uuid.UUID:
        """Stable for a client-supplied event id (so retries are the same call), else for the request's
        signature (a replay is the same call), else ``fresh``."""
        if self.event_id is not None:
            return uuid.uuid5(CALL_ID_NAMESPACE, f"{self.site_id}:{self.event_id}")
        if signature is not None:
            return uuid.uuid5(CALL_ID_NAMESPACE, f"{self.site_id}:signed:{signature.lower()}")
        return fresh

    def click_ids(self) -> dict[str, str]:
        return {k: v for k in ("gclid", "wbraid", "gbraid") if (v := getattr(self, k))}


class CallRecord(BaseModel):
    """Published to the calls topic, keyed by ``<site_id>:<fingerprint>`` (co-partitioned with sessions)."""

    model_config = ConfigDict(extra="ignore")

    call_id: uuid.UUID
    event_id: uuid.UUID | None = None
    site_id: str
    fingerprint: str
    phone_number: str
    phone_raw: str
    action: str
    url: str | None = None
    click_ids: dict[str, str] = Field(default_factory=dict)
    received_at: datetime
    ip_prefix: str | None = None  # the client's network (IPv4 /24, IPv6 /48): never the whole address
    visitor_hash: str | None = None  # keyed hash of (site, IP, user agent), its key rotated daily
    user_agent: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_ip(cls, data: Any) -> Any:
        return whole_ip_read_as_prefix(data)

    @property
    def key(self) -> bytes:
        return f"{self.site_id}:{self.fingerprint}".encode()


class CallAnswer(BaseModel):
    """The matcher's answer, returned to the caller as the response body."""

    status: Literal["matched", "unmatched", "queued"]
    call_id: uuid.UUID
    session_id: uuid.UUID | None = None
    lead_score: int | None = Field(default=None, description="session score at match time; null while queued")
