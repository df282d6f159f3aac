"""Sales-OS records: the run that travels the stage chain, and what the SaaS loads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field


class OSRun(BaseModel):
    """One request to the OS, as it moves through the stage topics (key: run id)."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    tenant_id: str
    enterprise_id: str | None = None
    user_id: str | None = None
    request_id: str
    client: str | None = None
    endpoint: str
    mode: str | None = None
    stages: list[str] = Field(description="stages still to run, in order")
    planned: list[str] = Field(default_factory=list, description="every stage the run was asked for")
    request: dict[str, Any]
    context: dict[str, str] = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    started_at: datetime


class OSCompany(BaseModel):
    model_config = ConfigDict(extra="allow")

    company_id: str = Field(min_length=1, max_length=256)
    name: str = Field(default="", max_length=512)
    domain: str | None = Field(default=None, max_length=512)
    industry: str | None = Field(default=None, max_length=256)
    size: str | int | None = None
    linkedin_url: str | None = Field(default=None, max_length=1024)
    location: str | None = Field(default=None, max_length=512)


class OSSignal(BaseModel):
    model_config = ConfigDict(extra="allow")

    signal_id: str | None = Field(default=None, max_length=256)
    company_id: str = Field(min_length=1, max_length=256)
    type: str = Field(default="", max_length=128)
    source: str = Field(default="", max_length=128)
    evidence: str = Field(default="", max_length=4096)
    confidence: float | None = Field(default=None, ge=0, le=1)
    date: str | None = Field(default=None, max_length=64)


class SignalsLoad(BaseModel):
    """``POST /api/os/signals``: a tenant's companies and signals, in one batch."""

    companies: list[OSCompany] = Field(default_factory=list, max_length=10_000)
    signals: list[OSSignal] = Field(default_factory=list, max_length=50_000)


def company_record(tenant_id: str, company: OSCompany) -> tuple[bytes, bytes]:
    """The companies-topic record (key ``<tenant>:<company>``) the table sink stores."""
    return f"{tenant_id}:{company.company_id}".encode(), orjson.dumps(
        {"tenant_id": tenant_id, "company": company.model_dump()}
    )


def signal_record(tenant_id: str, signal: OSSignal) -> tuple[bytes, bytes]:
    return f"{tenant_id}:{signal.company_id}".encode(), orjson.dumps(
        {"tenant_id": tenant_id, "signal": signal.model_dump()}
    )
