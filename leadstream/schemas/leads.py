"""Leads and their stages: the records on the ``leads``, ``lead-stage-commands`` and ``lead-stages``
topics (all keyed by lead id), and the stage-change body of ``POST /api/leads/{id}/stage``.

A lead's id is stable: derived from what made it (a matched call's id, a conversion event's id),
so a record processed again after a crash makes the same lead, never a second one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from leadstream.schemas.conversions import Stage

LEAD_NAMESPACE = uuid.UUID("0d7c6b7e-57a4-4f0a-9c1c-2a35f6e8d1b4")
LeadKind = Literal["call", "whatsapp", "form"]


def lead_id_for(source: Literal["call", "event"], source_id: uuid.UUID | str) -> uuid.UUID:
    return uuid.uuid5(LEAD_NAMESPACE, f"{source}:{source_id}")


def auto_command_id(lead_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the stage change the lead score makes (one per lead)."""
    return uuid.uuid5(LEAD_NAMESPACE, f"auto:{lead_id}")


class LeadRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    lead_id: uuid.UUID
    site_id: str
    session_id: uuid.UUID | None = None
    fingerprint: str = ""
    kind: LeadKind
    source_id: uuid.UUID  # the call or the conversion event
    gclid: str = ""
    wbraid: str = ""
    gbraid: str = ""
    campaign: dict[str, str] = Field(default_factory=dict)  # the session's first-touch campaign
    score: int = Field(ge=0, le=100)
    phone_number: str = ""  # normalised, as calls keep it; masked outside the owner's own view
    created_at: datetime
    clicked_at: datetime | None = None  # the session's start: the ad click, for Google's 90-day window

    @property
    def has_click_id(self) -> bool:
        return bool(self.gclid or self.wbraid or self.gbraid)


Currency = Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{3}$")]


class StageChange(BaseModel):
    """The body of ``POST /api/leads/{id}/stage``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stage": "won", "value": 1250.0}]})

    stage: Stage
    value: Annotated[StrictFloat | StrictInt, Field(ge=0, le=1e12)] | None = Field(
        default=None, description="the sale's value in major units (else the stage's default)"
    )
    currency: Currency | None = Field(default=None, description="ISO-4217 (else the site's)")
    note: Annotated[StrictStr, Field(max_length=2000)] | None = None
    version: Annotated[StrictInt, Field(ge=0)] | None = Field(
        default=None, description="the version this change follows; another current version: 409"
    )


class StageCommand(BaseModel):
    """An operator's stage change on its way to the stage processor."""

    model_config = ConfigDict(extra="ignore")

    command_id: uuid.UUID
    lead_id: uuid.UUID
    site_id: str
    change: StageChange
    who: str
    at: datetime


class LeadStageEvent(BaseModel):
    """An accepted stage change: Kafka keeps every one; ``lead_stages`` the history."""

    model_config = ConfigDict(extra="ignore")

    lead_id: uuid.UUID
    site_id: str
    session_id: uuid.UUID | None = None
    fingerprint: str = ""
    stage: Stage
    value: float | None = None
    currency: str = ""
    note: str = ""
    who: str
    at: datetime
    version: int = Field(ge=1)
    command_id: uuid.UUID


StageStatus = Literal["accepted", "not_found", "stale"]


class StageAnswer(BaseModel):
    """The stage processor's answer to a command (through Redis to the waiting request)."""

    status: StageStatus
    id: uuid.UUID
    stage: Stage | None = None
    version: int = 0  # accepted: the new version; stale: the current one
