"""Request bodies of the ``/api/os`` endpoints (contract VS9), as pydantic models.

The edge validates every body with its model (a failure is the contract's 400 envelope with
``OS_INVALID_REQUEST``, naming the first offending field) and ``/openapi.json`` documents them, with
examples. The stages read only what these models type, so no value of a wrong type reaches them.

Unknown keys, by kind of object:

* the top level of a body and the caller's own records (leads, entity data, signals): kept, and travel
  with the run (the SaaS sends more than the contract documents; nothing reads those keys untyped);
* option objects the SaaS fills from its callers (score and outreach options): dropped;
* configuration the contract spells out whole (a pipeline's ``config``, discovery's ``config``,
  discovery-v2's ``options``): refused, naming the key, since a misplaced key (``config.limit`` in a
  pipeline instead of ``config.discovery.limit``) would otherwise be silently ignored.

Rules that have error codes of their own stay at the edge and in the stages: unknown profile
(``OS_INVALID_PROFILE``), sales context (``VERTICAL_NOT_AVAILABLE`` ...), the injection guard.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

SHORT = 256  # ids, names and option values
TEXT = 4096  # evidence, free text
ScoreType = Literal["q_score", "t_score", "l_score", "e_score", "composite"]
PipelineMode = Literal["full_pipeline", "discovery_to_score", "discovery_only"]
# A flag: only JSON true turns it on (the edge never reads "true" or 1 as true); other JSON scalars are
# accepted and mean off, as before the models. Kept as sent, never coerced.
Flag = StrictBool | str | int | float | None
PROFILE_HELP = (
    "Scoring profile: default, banking_employee, banking_corporate, banking_sme, insurance_individual, "
    "recruitment_hiring, saas_b2b (case-insensitive); unknown -> 400 OS_INVALID_PROFILE"
)


class _Open(BaseModel):
    """Unknown keys are accepted and kept."""

    model_config = ConfigDict(extra="allow")


class _Lenient(BaseModel):
    """Unknown keys are accepted and dropped: nothing reads them."""

    model_config = ConfigDict(extra="ignore")


class _Closed(BaseModel):
    """Only the documented keys; any other is refused, naming it."""

    model_config = ConfigDict(extra="forbid")


class TenantFields(_Open):
    tenant_id: str | None = Field(
        None,
        max_length=SHORT,
        description="The tenant; must equal x-tenant-id when both are sent. Without the header it is the tenant.",
    )
    enterprise_id: str | None = Field(None, max_length=SHORT, description="Recorded with the run in os_runs")
    region_code: str | None = Field(None, max_length=64, examples=["UAE"])
    vertical_id: str | None = Field(None, max_length=64, examples=["banking"])
    # the sales context's other spellings, as the reference's middleware reads them (also x-vertical ...)
    vertical: str | None = Field(None, max_length=64, examples=["banking"])
    sub_vertical: str | None = Field(None, max_length=64, examples=["employee_banking"])
    sub_vertical_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=64, examples=["UAE"])


class SalesContextBody(_Open):
    vertical: str | None = Field(None, max_length=64, examples=["banking"])
    vertical_id: str | None = Field(None, max_length=64)
    sub_vertical: str | None = Field(None, max_length=64, examples=["employee_banking"])
    sub_vertical_id: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=64, examples=["UAE"])
    region_code: str | None = Field(None, max_length=64)


# --- discovery ----------------------------------------------------------------------------------


class DiscoveryConfig(_Closed):
    sources: list[str] | None = Field(
        None, max_length=16, description="apollo, linkedin, custom (default custom)", examples=[["custom"]]
    )
    limit: int | None = Field(None, ge=1, le=1000, description="at most this many companies (default 100)")
    filters: dict[str, Any] | None = Field(
        None,
        max_length=32,
        description="field -> plain value companies must equal (case-insensitive); other values are ignored",
    )


class DiscoveryRequest(TenantFields):
    """``POST /api/os/discovery``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "region_code": "UAE",
                    "vertical_id": "banking",
                    "config": {"sources": ["custom"], "limit": 100, "filters": {"industry": "banking"}},
                }
            ]
        },
    )
    config: DiscoveryConfig | None = None


class DiscoveryV2Options(_Closed):
    maxResults: int = Field(10, ge=1, le=100, description="at most this many companies")
    strictMode: bool = Field(False, description="every query term must match")


class DiscoveryV2Request(TenantFields):
    """``POST /api/os/discovery-v2``: the tenant's companies and signals (and configured providers')
    matching ``query``, ranked by composite score under the context's profile."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "query": "payroll hiring dubai",
                    "sales_context": {"vertical": "banking", "sub_vertical": "employee_banking", "region": "UAE"},
                    "options": {"maxResults": 10, "strictMode": False},
                    "user_preferences": {},
                }
            ]
        },
    )
    query: str = Field(
        "", max_length=512, description="words matched against name, domain, industry, signal types and evidence"
    )
    sales_context: SalesContextBody | None = None
    options: DiscoveryV2Options | None = None
    user_preferences: dict[str, Any] | None = None


# --- score --------------------------------------------------------------------------------------


class SignalBody(_Open):
    type: str | None = Field(None, max_length=SHORT, examples=["hiring"])
    signal_type: str | None = Field(None, max_length=SHORT)
    source: str | None = Field(None, max_length=SHORT, examples=["news"])
    evidence: str | None = Field(None, max_length=TEXT, examples=["Hiring 50 relationship managers"])
    confidence: float | None = Field(None, ge=0, le=1, examples=[0.9])
    date: str | None = Field(None, max_length=64, examples=["2026-11-20"])


class ScoreOptions(_Lenient):
    include_breakdown: Flag = Field(None, description="default true")
    include_explanation: Flag = Field(None, description="default true")
    ai_explanation: Flag = Field(None, description="only JSON true turns it on")
    profile: str | None = Field(None, max_length=64, description=PROFILE_HELP, examples=["banking_employee"])


class ScoreRequest(TenantFields):
    """``POST /api/os/score``: ``entity_data`` (scored as given) or ``entity_id`` (one of the tenant's
    companies); neither -> 400."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "entity_type": "company",
                    "entity_data": {"name": "Emirates Widgets", "domain": "widgets.ae", "industry": "banking"},
                    "signals": [{"type": "hiring", "source": "news", "evidence": "hiring 50", "confidence": 0.9}],
                    "score_types": ["q_score", "t_score", "l_score", "e_score", "composite"],
                    "options": {"include_breakdown": True, "include_explanation": True, "profile": "banking_employee"},
                }
            ]
        },
    )
    entity_type: str | None = Field(None, max_length=64, examples=["company"])
    entity_id: str | int | None = Field(None, description="one of the tenant's companies")
    entity_ids: list[str | int] | None = Field(None, description="deprecated: entity_id", deprecated=True)
    entity_data: dict[str, Any] | None = Field(None, examples=[{"name": "Acme", "domain": "acme.ae"}])
    signals: list[SignalBody] | None = Field(None, max_length=1000)
    score_types: list[ScoreType] | ScoreType | None = None
    options: ScoreOptions | None = None


# --- outreach -----------------------------------------------------------------------------------


class LeadBody(_Open):
    id: str | int | None = None
    name: str | None = Field(None, max_length=SHORT, examples=["Ahmed Al Mansouri"])
    designation: str | None = Field(None, max_length=SHORT, examples=["Head of HR"])
    company: str | None = Field(None, max_length=SHORT, examples=["Acme Holdings"])
    industry: str | None = Field(None, max_length=SHORT, examples=["banking"])
    email: str | None = Field(None, max_length=SHORT)
    linkedin: str | None = Field(None, max_length=1024)


class OutreachOptions(_Lenient):
    channel: str | None = Field(None, max_length=32, description="email | linkedin | call", examples=["email"])
    tone: str | None = Field(None, max_length=32, description="formal | friendly | direct", examples=["friendly"])
    template_id: str | None = Field(None, max_length=SHORT)
    personalization_level: str | None = Field(None, max_length=32, description="low | medium | high")
    profile: str | None = Field(None, max_length=64, description=PROFILE_HELP)
    ai_outreach: Flag = Field(None, description="only JSON true turns it on")
    context: dict[str, Any] | None = None


class OutreachRequest(TenantFields):
    """``POST /api/os/outreach``: one message per lead (at least one)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "leads": [
                        {"id": "l-1", "name": "Ahmed Al Mansouri", "designation": "Head of HR", "company": "Acme"}
                    ],
                    "options": {"channel": "email", "tone": "friendly", "personalization_level": "medium"},
                    "score": {"total": {"score": 79, "band": "WARM"}},
                }
            ]
        },
    )
    leads: list[LeadBody] = Field(min_length=1, max_length=500)
    options: OutreachOptions | None = None
    score: dict[str, Any] | int | float | None = None


# --- pipeline -----------------------------------------------------------------------------------


class PipelineConfig(DiscoveryConfig):
    """The contract's five keys; discovery's own keys (``sources``, ``limit``, ``filters``) are also taken
    here, with ``discovery``'s winning. Any other key is refused."""

    mode: PipelineMode | None = None
    discovery: DiscoveryConfig | None = None
    enrichment: dict[str, Any] | None = Field(None, description="accepted; enrichment has no options yet")
    scoring: ScoreOptions | None = None
    outreach: OutreachOptions | None = None


class PipelineRequest(TenantFields):
    """``POST /api/os/pipeline``: discovery -> enrich -> score -> rank -> outreach, per ``config.mode``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme",
                    "enterprise_id": "ent-1",
                    "region_code": "UAE",
                    "vertical_id": "banking",
                    "config": {"mode": "discovery_to_score", "discovery": {"sources": ["custom"], "limit": 20}},
                }
            ]
        },
    )
    mode: PipelineMode | None = None
    config: PipelineConfig | None = None


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "discovery": DiscoveryRequest,
    "discovery-v2": DiscoveryV2Request,
    "score": ScoreRequest,
    "outreach": OutreachRequest,
    "pipeline": PipelineRequest,
}
