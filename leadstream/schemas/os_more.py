"""The SaaS's other OS calls: ``/rank``, ``/enrich``, ``/intelligence/session``, ``/intelligence/feedback``,
``/intelligence/deal-evaluation`` and ``GET /__diag``: request bodies (validated by the edge: a failure is the
contract's 400 ``OS_INVALID_REQUEST`` naming the field), the answers (documentation for ``/openapi.json``;
the tests validate real answers against them) and the feedback record on its Kafka topic.

Bodies are the shipped SaaS client's, field for field; unknown keys are accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadstream.schemas.os_requests import PROFILE_HELP, SHORT, TEXT, SalesContextBody, TenantFields
from leadstream.schemas.os_responses import OSMeta

MAX_RANKED = 100
MAX_ENRICHED = 100
MAX_LEADS = 500


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- rank ---------------------------------------------------------------------------------------


class RankScores(_Open):
    q_score: int | float = Field(ge=0, le=100, examples=[80])
    t_score: int | float = Field(ge=0, le=100, examples=[70])
    l_score: int | float = Field(ge=0, le=100, examples=[60])
    e_score: int | float = Field(ge=0, le=100, examples=[50])


class RankEntity(_Open):
    id: str | int = Field(description="echoed as entity_id")
    scores: RankScores


class RankWeights(BaseModel):
    q_score: int | float | None = Field(None, ge=0, le=100)
    t_score: int | float | None = Field(None, ge=0, le=100)
    l_score: int | float | None = Field(None, ge=0, le=100)
    e_score: int | float | None = Field(None, ge=0, le=100)


class RankOptions(BaseModel):
    """Unknown option keys are dropped: nothing reads them."""

    model_config = ConfigDict(extra="ignore")

    profile: str | None = Field(None, max_length=64, description=PROFILE_HELP, examples=["banking_employee"])
    weights: RankWeights | None = Field(None, description="custom weights instead of the profile's (missing: 0)")
    limit: int = Field(100, ge=1, le=MAX_RANKED, description="at most this many ranked entities")
    explain: bool = Field(True, description="add explanation.why_this_rank[] and comparisons")


class RankRequest(TenantFields):
    """``POST /api/os/rank``: the entities ranked by their scores under the profile's weights; answered by
    the edge itself (pure computation). The tenant is the body's ``tenant_id`` as for pipeline."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "entities": [
                        {"id": "c-1", "scores": {"q_score": 80, "t_score": 70, "l_score": 60, "e_score": 50}},
                        {"id": "c-2", "scores": {"q_score": 60, "t_score": 90, "l_score": 40, "e_score": 30}},
                    ],
                    "options": {"profile": "banking_employee", "limit": 10, "explain": True},
                    "tenant_id": "acme",
                }
            ]
        },
    )
    entities: list[RankEntity] = Field(min_length=1, max_length=MAX_RANKED)
    options: RankOptions | None = None


class RankExplanation(BaseModel):
    why_this_rank: list[str] = Field(examples=[["Strong t-score (25 contribution)", "High quality data"]])
    comparison_to_next: str | None = Field(None, examples=["Slightly ahead of #2 by 6 points"])
    why_not_first: str | None = Field(None, examples=["Lower q-score than #1 (gap: 20)"])


class RankedEntity(_Open):
    rank: int = Field(ge=1)
    entity_id: str | int
    rank_score: float = Field(examples=[66.5])
    scores: dict[str, int | float]
    position_change: int
    explanation: RankExplanation | None = None


class RankingConfig(BaseModel):
    profile: str
    weights: dict[str, float]
    is_custom_weights: bool


class RankData(_Open):
    ranked_entities: list[RankedEntity]
    total_ranked: int
    total_input: int
    ranking_config: RankingConfig
    confidence: int = Field(ge=0, le=100, description="100 - population SD of the rank scores")
    reason: str


# --- enrich -------------------------------------------------------------------------------------


class EnrichRequest(TenantFields):
    """``POST /api/os/enrich``: each entity id (a domain or one of the tenant's company ids) with its industry
    and the sources that named one. The SaaS sends ``tenant_id: "system"``: the token must be allowed for it."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "system",
                    "entity_ids": ["emiratesnbd.com"],
                    "enrichment_sources": ["clearbit", "apollo", "crunchbase"],
                }
            ]
        },
    )
    entity_ids: list[str] | None = Field(None, min_length=1, max_length=MAX_ENRICHED, examples=[["widgets.ae"]])
    entity_id: str | None = Field(None, max_length=SHORT, description="one id, when entity_ids is not given")
    entity_type: str | None = Field(None, max_length=64, examples=["company"])
    enrichment_sources: list[str] | None = Field(
        None, max_length=16, description="accepted; every source leadstream has is consulted, the others are listed"
    )


class EnrichSource(BaseModel):
    name: str = Field(examples=["leadstream", "apollo", "linkedin", "domain_classifier"])
    industry: str
    confidence: int = Field(ge=0, le=100)


class EnrichedEntity(_Open):
    entity_id: str
    domain: str | None
    industry: str | None = Field(description="the industry whose sources' confidences sum highest; null: unknown")
    sources: list[EnrichSource]


class EnrichData(_Open):
    entities: list[EnrichedEntity]
    sources_failed: list[dict[str, str]] = Field(default_factory=list, description="[{source, reason}]")
    sources_unavailable: list[str] = Field(default_factory=list, description="asked for, not a leadstream source")
    fallback: bool | None = None


# --- intelligence session -----------------------------------------------------------------------


class SessionLead(_Open):
    id: str | int | None = None
    company_id: str | int | None = None
    name: str | None = Field(None, max_length=SHORT)
    domain: str | None = Field(None, max_length=512)
    industry: str | None = Field(None, max_length=SHORT)
    signals: list[dict[str, Any]] | None = Field(None, max_length=200)


class SessionRequest(TenantFields):
    """``POST /api/os/intelligence/session`` (Decision Mode): the leads discovery returned, ranked by
    leadstream's scores and the user's feedback; one primary recommendation and a shortlist."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "persona_id": "2",
                    "vertical": "banking",
                    "sub_vertical": "employee_banking",
                    "region_code": "UAE",
                    "leads": [{"id": "c-1", "name": "Emirates Widgets", "domain": "widgets.ae", "industry": "banking"}],
                    "user_id": "user-1",
                    "user_preferences": {},
                }
            ]
        },
    )
    vertical: str | None = Field(None, max_length=64, examples=["banking"])
    sub_vertical: str | None = Field(None, max_length=64, examples=["employee_banking"])
    region: str | None = Field(None, max_length=64)
    sales_context: SalesContextBody | None = None
    persona_id: str | int | None = None
    user_id: str | None = Field(None, max_length=SHORT, description="whose feedback moves the shortlist")
    user_preferences: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None
    leads: list[SessionLead] = Field(default_factory=list, max_length=MAX_LEADS)


class ScoreDriver(_Open):
    driver: str
    detail: str
    impact: Literal["high", "medium", "low"]


class Recommendation(_Open):
    company: str
    company_id: str
    industry: str | None
    score: int = Field(ge=0, le=100)
    why_now: list[str]
    confidence: float = Field(ge=0, le=1)
    next_action: str
    score_drivers: list[ScoreDriver]


class ShortlistItem(_Open):
    company_id: str
    name: str | None
    industry: str | None
    score: int = Field(ge=0, le=100)
    signals: list[dict[str, Any]]
    headcount: int | None
    city: str | None
    domain: str | None


class SessionFields(_Open):
    session_id: str | None = Field(examples=["sess_3f2a..."])
    primary_recommendation: Recommendation | None
    shortlist: list[ShortlistItem]
    total_available: int
    collapsed_count: int


# --- intelligence feedback ----------------------------------------------------------------------


class FeedbackMetadata(_Open):
    company_name: str | None = Field(None, max_length=SHORT)
    industry: str | None = Field(None, max_length=SHORT)
    size_bucket: str | None = Field(None, max_length=64)
    location: str | None = Field(None, max_length=SHORT)


class FeedbackRequest(TenantFields):
    """``POST /api/os/intelligence/feedback``: LIKE / DISLIKE / SAVE (or DISMISS) a session's company. Kept
    for good; moves the session user's next shortlists. Unknown (or another tenant's) session: 404."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "session_id": "sess_0123456789abcdef0123456789abcdef",
                    "company_id": "c-1",
                    "action": "LIKE",
                    "metadata": {"company_name": "Emirates Widgets", "industry": "banking", "size_bucket": ""},
                }
            ]
        },
    )
    session_id: str = Field(min_length=1, max_length=128)
    company_id: str | int
    action: str = Field(max_length=32, description="LIKE, DISLIKE, SAVE or DISMISS (case-insensitive)")
    metadata: FeedbackMetadata | None = None


class FeedbackFields(_Open):
    feedback_recorded: bool
    preference_updated: bool
    what_changed: dict[str, Any] | None


class OSFeedback(BaseModel):
    """One feedback action on the feedback topic (key ``<tenant>:<user>``), copied into ``os_feedback``."""

    feedback_id: str
    tenant_id: str
    user_id: str
    session_id: str
    company_id: str
    action: str
    weight: int
    company_name: str = ""
    industry: str = ""
    size_bucket: str = ""
    location: str = ""
    recorded_at: datetime


# --- deal evaluation ----------------------------------------------------------------------------


class DealContext(_Open):
    company_name: str = Field(min_length=1, max_length=SHORT, examples=["Emirates Widgets"])
    deal_size: float | str | None = Field(None, examples=[250000, "AED 1.2M"])
    stage: str | None = Field(None, max_length=SHORT, examples=["negotiation"])
    concerns: str | list[str] | None = Field(None, examples=["Budget approval pending"])
    additional_context: str | None = Field(None, max_length=TEXT)


class DealEvaluationRequest(TenantFields):
    """``POST /api/os/intelligence/deal-evaluation``: GO / HIGH_RISK / NO_GO by explainable rules. Not behind the
    vertical gate: the SaaS sends ``vertical: "saas-sales"`` here."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "persona_id": "2",
                    "vertical": "saas-sales",
                    "sub_vertical": "deal-evaluation",
                    "deal_context": {
                        "company_name": "Emirates Widgets",
                        "deal_size": 250000,
                        "stage": "negotiation",
                        "concerns": "Budget approval pending",
                    },
                    "user_id": "user-1",
                }
            ]
        },
    )
    deal_context: DealContext
    persona_id: str | int | None = None
    vertical: str | None = Field(None, max_length=64)
    sub_vertical: str | None = Field(None, max_length=64)
    user_id: str | None = Field(None, max_length=SHORT)


class RiskFactor(BaseModel):
    factor: str
    severity: Literal["high", "medium", "low"]
    detail: str = Field(description="the evidence the factor rests on")


class DealFields(_Open):
    verdict: Literal["GO", "HIGH_RISK", "NO_GO"]
    confidence: float = Field(ge=0, le=1)
    reasoning: str
    risk_factors: list[RiskFactor]
    decisive_action: str
    session_id: str | None


# --- answers ------------------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")
    success: Literal[True]
    meta: OSMeta


class RankResponse(_Answer):
    data: RankData


class EnrichResponse(_Answer):
    data: EnrichData


class SessionResponse(_Answer, SessionFields):
    """The SaaS reads the fields at the top level; ``data`` holds the same."""

    data: SessionFields


class FeedbackResponse(_Answer, FeedbackFields):
    data: FeedbackFields


class DealEvaluationResponse(_Answer, DealFields):
    data: DealFields


class DiagData(_Open):
    version: str
    os_version: str
    stages: list[str]
    breakers: dict[str, Any]
    providers: list[str] = Field(description="configured provider names; never keys")
    kafka: bool
    redis: bool
    warehouse: bool | None = Field(description="null: the worker did not answer in time")


class DiagResponse(_Answer):
    data: DiagData


MORE_REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "rank": RankRequest,
    "enrich": EnrichRequest,
    "intelligence/session": SessionRequest,
    "intelligence/feedback": FeedbackRequest,
    "intelligence/deal-evaluation": DealEvaluationRequest,
}
MORE_RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    "rank": RankResponse,
    "enrich": EnrichResponse,
    "intelligence/session": SessionResponse,
    "intelligence/feedback": FeedbackResponse,
    "intelligence/deal-evaluation": DealEvaluationResponse,
    "__diag": DiagResponse,
}
