"""Response bodies of the ``/api/os`` endpoints where the shape is fixed: the envelope, the error
envelope and each endpoint's ``data``. Documentation for ``/openapi.json`` (the edge builds its
answers from plain dicts; the tests check that real answers validate against these models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class OSMeta(BaseModel):
    os_version: str = Field(examples=["1.0.0"])
    endpoint: str = Field(examples=["/api/os/score"])
    execution_time_ms: float
    request_id: str = Field(description="x-request-id when given")
    timestamp: str = Field(examples=["2026-12-03T10:00:00.000Z"])


class OSErrorBody(BaseModel):
    """Every refusal: ``OS_AUTH_FAILED`` (401), ``OS_AUTH_DENIED`` (403), ``OS_TENANT_REQUIRED``,
    ``OS_TENANT_MISMATCH``, ``OS_INVALID_REQUEST``, ``OS_INVALID_PROFILE``, ``INPUT_VALIDATION_FAILED``,
    ``VERTICAL_NOT_AVAILABLE`` / ``SUB_VERTICAL_NOT_AVAILABLE`` / ``REGION_NOT_AVAILABLE`` (400),
    ``OS_SCORE_NOT_FOUND`` / ``OS_PIPELINE_NOT_FOUND`` (404), ``OS_PAYLOAD_TOO_LARGE`` (413)."""

    model_config = ConfigDict(extra="allow")
    success: Literal[False]
    error: str = Field(examples=["Authorization denied - check IAM bindings"])
    error_code: str = Field(examples=["OS_AUTH_DENIED"])
    message: str | None = Field(None, description="the sales-context refusals explain themselves here")
    meta: OSMeta | None = None


# --- score --------------------------------------------------------------------------------------


class QScore(_Open):
    value: int = Field(ge=0, le=100)
    rating: Literal["HIGH", "GOOD", "FAIR", "LOW"]


class TScore(_Open):
    value: int = Field(ge=0, le=100)
    category: Literal["NOW", "SOON", "LATER", "COLD"]


class LScore(_Open):
    value: int = Field(ge=0, le=100)
    tier: Literal["HOT", "WARM", "COOL", "COLD"]


class EScore(_Open):
    value: int = Field(ge=0, le=100)
    strength: Literal["STRONG", "MODERATE", "FAIR", "WEAK"]


class CompositeScore(_Open):
    value: int = Field(ge=0, le=100)
    tier: Literal["HOT", "WARM", "COOL", "COLD"]
    grade: Literal["A", "B", "C", "D", "F"]


class Scores(BaseModel):
    q_score: QScore | None = None
    t_score: TScore | None = None
    l_score: LScore | None = None
    e_score: EScore | None = None
    composite: CompositeScore | None = None


class ScoreData(_Open):
    entity_id: Any = None
    entity_type: str
    scores: Scores
    explanations: dict[str, str] = Field(default_factory=dict)
    scoring_profile: str
    fallback: bool | None = None


# --- discovery ----------------------------------------------------------------------------------


class SourcesReport(BaseModel):
    used: list[str]
    failed: list[dict[str, str]] = Field(description="[{source, reason}]")


class DiscoveryData(_Open):
    companies: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    total: int
    region: str | None = None
    vertical: str | None = None
    sources: SourcesReport | None = None
    fallback: bool | None = None


class RankedCandidate(_Open):
    rank: int
    company_id: str | None
    name: str | None = None
    composite: int
    tier: str
    grade: str


class DiscoveryV2Findings(BaseModel):
    candidates: list[dict[str, Any]] = Field(description="every matching company, before ranking")
    ranked: list[RankedCandidate]
    actions: dict[str, list[str]] = Field(description="company ids by next step: outreach, nurture, monitor")


class UxTruth(BaseModel):
    headline: str
    explanation: str
    isEmpty: bool


class DiscoveryV2Data(_Open):
    companies: list[dict[str, Any]] = Field(description="ranked, in the shape /discovery returns")
    companyCount: int
    discovery: DiscoveryV2Findings
    uxTruth: UxTruth
    trace: dict[str, Any] = Field(description="query, region, sources, ... (fallback: true on a fallback)")


# --- outreach and pipeline ----------------------------------------------------------------------


class OutreachMessage(BaseModel):
    subject: str | None
    body: str


class OutreachItem(_Open):
    lead_id: str | int | None
    lead_name: str
    channel: Literal["email", "linkedin", "call"]
    message: OutreachMessage
    generated_at: str
    ai_generated: bool


class OutreachData(_Open):
    outreach_items: list[OutreachItem]
    total: int


class StageResult(_Open):
    status: Literal["completed", "skipped", "failed"]


class PipelineData(_Open):
    pipeline_id: str
    status: str = Field(examples=["completed", "fallback"])
    stages: dict[Literal["discovery", "enrich", "score", "rank", "outreach"], StageResult]


# --- envelopes ----------------------------------------------------------------------------------


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="allow")
    success: Literal[True]
    meta: OSMeta


class ScoreResponse(_Envelope):
    data: ScoreData


class DiscoveryResponse(_Envelope):
    data: DiscoveryData


class DiscoveryV2Response(_Envelope):
    data: DiscoveryV2Data


class OutreachResponse(_Envelope):
    data: OutreachData


class PipelineResponse(_Envelope):
    data: PipelineData


RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    "discovery": DiscoveryResponse,
    "discovery-v2": DiscoveryV2Response,
    "score": ScoreResponse,
    "outreach": OutreachResponse,
    "pipeline": PipelineResponse,
}
