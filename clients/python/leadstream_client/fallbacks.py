"""The contract's fallback bodies (VS6), shared by the edge and the SaaS client.

What the OS answers when its stream processors cannot: score 50 everywhere (FAIR / SOON /
WARM / FAIR, composite COOL, grade C: what the OS's own label ladders give at 50, which the
server's tests check), discovery empty, discovery-v2 the SaaS's own "temporarily unavailable"
body, outreach placeholders, pipeline stages skipped. Pure; never raises on a malformed request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from leadstream_client.leads import CHANNEL_ALIASES, CHANNELS, DEFAULT_CHANNEL, lead_facts

FALLBACK_VALUE = 50
FALLBACK_EXPLANATION = "Score calculated using fallback values"  # the contract's wording
FALLBACK_LABELS = {
    "q_score": {"rating": "FAIR"},
    "t_score": {"category": "SOON"},
    "l_score": {"tier": "WARM"},
    "e_score": {"strength": "FAIR"},
    "composite": {"tier": "COOL", "grade": "C"},
}
_OUTREACH_BODY = (
    "I would like to follow up on how we might work together.\n\n"
    "[Placeholder: the outreach service is temporarily unavailable, so this is a generic draft. "
    "Generate the message again shortly for a personalised version.]\n\n"
    "Best regards"
)

_STAGE_RESULTS = {
    "discovery": "companies",
    "enrich": "enriched",
    "score": "scores",
    "rank": "ranked",
    "outreach": "messages",
}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fallback_score_data(
    entity_id: object = None,
    entity_type: str = "company",
    profile: str | None = "default",
    *,
    include_breakdown: bool = True,
) -> dict[str, Any]:
    """The VS6 fallback score ``data``: 50 everywhere with the fixed labels; the profile is echoed, not
    validated (a fallback must not fail)."""
    scores = {name: {"value": FALLBACK_VALUE, **labels} for name, labels in FALLBACK_LABELS.items()}
    if include_breakdown:  # same shape as a real answer; there are no parts to show
        for body in scores.values():
            body["breakdown"] = {}
    return {
        "entity_id": entity_id,
        "entity_type": entity_type,
        "scores": scores,
        "explanations": {"composite": FALLBACK_EXPLANATION},
        "scoring_profile": profile or "default",
        "fallback": True,
    }


def _channel(value: object) -> str:
    key = value.strip().casefold() if isinstance(value, str) else ""
    key = CHANNEL_ALIASES.get(key, key)
    return key if key in CHANNELS else DEFAULT_CHANNEL


def fallback_outreach_item(lead: Mapping[str, Any], channel: object, generated_at: datetime) -> dict[str, Any]:
    """The VS6 placeholder item. Never raises: an unknown channel is reported as ``email`` and a
    malformed lead gives a generic text; a role or placeholder name gets the neutral greeting."""
    facts = lead_facts(lead)
    subject = f"Following up with {facts.company}" if facts.company else "Following up"
    greeting = f"Hello {facts.first}," if facts.first else "Hello,"
    return {
        "lead_id": facts.lead_id,
        "lead_name": facts.full_name or "",
        "channel": _channel(channel),
        "status": "fallback",
        "message": {"subject": subject, "body": f"{greeting}\n\n{_OUTREACH_BODY}"},
        "generated_at": _iso_ms(generated_at),
        "ai_generated": False,
        "fallback": True,
    }


def _discovery_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "companies": [],
        "signals": [],
        "total": 0,
        "region": request.get("region_code"),
        "vertical": request.get("vertical_id"),
        "fallback": True,
        "message": "Discovery temporarily unavailable",
    }


def _discovery_v2_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The SaaS's own discovery-v2 fallback (plus the empty companies list the OS's answer has)."""
    context = _mapping(request.get("sales_context"))
    return {
        "companies": [],
        "companyCount": 0,
        "discovery": {"candidates": [], "ranked": [], "actions": {}},
        "uxTruth": {
            "headline": "Discovery temporarily unavailable",
            "explanation": "Please try again later",
            "isEmpty": True,
        },
        "trace": {"query": request.get("query"), "region": context.get("region"), "fallback": True},
        "fallback": True,
    }


def _score_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    options = _mapping(request.get("options"))
    entity_id = request.get("entity_id")
    legacy_ids = request.get("entity_ids")  # deprecated by the contract, still honoured
    if entity_id is None and isinstance(legacy_ids, list) and legacy_ids:
        entity_id = legacy_ids[0]
    entity_type = request.get("entity_type")
    profile = options.get("profile")
    return fallback_score_data(
        entity_id,
        entity_type if isinstance(entity_type, str) else "company",
        profile if isinstance(profile, str) else None,
        include_breakdown=options.get("include_breakdown", True) is not False,
    )


def _outreach_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    channel = _mapping(request.get("options")).get("channel") or request.get("channel_preference")
    leads = request.get("leads")
    leads = [lead for lead in leads if isinstance(lead, Mapping)] if isinstance(leads, list) else []
    items = [fallback_outreach_item(lead, channel, now) for lead in leads]
    return {
        "outreach_items": items,
        "total": len(items),
        "fallback": True,
        "message": "Outreach temporarily unavailable - placeholder messages",
    }


def _pipeline_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "pipeline_id": request.get("pipeline_id") or f"fallback-{uuid.uuid4().hex}",
        "status": "fallback",
        "stages": {stage: {"status": "skipped", key: []} for stage, key in _STAGE_RESULTS.items()},
        "region": request.get("region_code"),
        "vertical": request.get("vertical_id"),
        "fallback": True,
        "message": "Pipeline temporarily unavailable - please try again later",
    }


def _enrich_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Each asked id unknown: no industry and no source (a fallback never invents one)."""
    ids = request.get("entity_ids")
    ids = ids if isinstance(ids, list) else [request["entity_id"]] if request.get("entity_id") else []
    entities = [{"entity_id": str(i), "domain": None, "industry": None, "sources": []} for i in ids[:100]]
    return {"entities": entities, "sources_failed": [], "sources_unavailable": [], "fallback": True}


def _session_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Decision Mode unavailable: no recommendation (the SaaS then shows its plain company list)."""
    leads = request.get("leads")
    return {
        "session_id": None,
        "primary_recommendation": None,
        "shortlist": [],
        "total_available": len(leads) if isinstance(leads, list) else 0,
        "collapsed_count": 0,
        "fallback": True,
        "message": "Decision Mode temporarily unavailable",
    }


def _feedback_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Not confirmed: it may still be recorded, so the caller should not send it again."""
    return {
        "feedback_recorded": False,
        "preference_updated": False,
        "what_changed": None,
        "fallback": True,
        "message": "Feedback not confirmed - it may still be recorded",
    }


def _deal_evaluation_fallback(request: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The skeptical default the SaaS itself falls back to."""
    return {
        "verdict": "HIGH_RISK",
        "confidence": 0.5,
        "reasoning": "Evaluation temporarily unavailable: treat the deal as high risk until it can be evaluated",
        "risk_factors": [],
        "decisive_action": "Request additional validation",
        "session_id": None,
        "fallback": True,
    }


_FALLBACKS: Mapping[str, Callable[[Mapping[str, Any], datetime], dict[str, Any]]] = {
    "discovery": _discovery_fallback,
    "discovery_v2": _discovery_v2_fallback,
    "score": _score_fallback,
    "outreach": _outreach_fallback,
    "pipeline": _pipeline_fallback,
    "pipeline_status": _pipeline_fallback,
    "enrich": _enrich_fallback,
    "intelligence_session": _session_fallback,
    "intelligence_feedback": _feedback_fallback,
    "deal_evaluation": _deal_evaluation_fallback,
}

# Answers read at the top level of the body (``data`` holds the same), as the SaaS reads them.
TOP_LEVEL = frozenset({"intelligence_session", "intelligence_feedback", "deal_evaluation"})


def fallback_data(endpoint: str, request: Mapping[str, Any] | None = None, *, now: datetime | None = None) -> dict:
    """Only the ``data`` object of the fallback body (the edge wraps it in its envelope)."""
    return _FALLBACKS[endpoint](request or {}, now or datetime.now(UTC))


def fallback_body(endpoint: str, request: Mapping[str, Any] | None = None, *, now: datetime | None = None) -> dict:
    """The contract's fallback body for ``endpoint`` (discovery, discovery_v2, score, outreach,
    pipeline, pipeline_status, enrich, intelligence_session, intelligence_feedback, deal_evaluation),
    echoing what it can of the ``request`` body: ``{"success": true, "data": {..., "fallback": true}, "timestamp"}``.

    For ``pipeline_status`` pass ``{"pipeline_id": ...}``. Never raises on a malformed request.
    """
    now = now or datetime.now(UTC)
    data = _FALLBACKS[endpoint](request or {}, now)
    top = data if endpoint in TOP_LEVEL else {}  # where the SaaS reads these answers
    return {"success": True, **top, "data": data, "timestamp": _iso_ms(now)}
