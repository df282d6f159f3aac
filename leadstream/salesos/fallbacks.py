"""The contract's fallback bodies (VS6), shared by the edge and the SaaS client.

What the OS answers when its stream processors cannot: score 50 everywhere (FAIR / SOON /
WARM / FAIR, composite COOL, grade C), discovery empty, outreach placeholders, pipeline
stages skipped. Pure; never raises on a malformed request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from leadstream.salesos.outreach import fallback_outreach_item
from leadstream.scoring.os_scores import fallback_score_data

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


_FALLBACKS: Mapping[str, Callable[[Mapping[str, Any], datetime], dict[str, Any]]] = {
    "discovery": _discovery_fallback,
    "score": _score_fallback,
    "outreach": _outreach_fallback,
    "pipeline": _pipeline_fallback,
    "pipeline_status": _pipeline_fallback,
}


def fallback_data(endpoint: str, request: Mapping[str, Any] | None = None, *, now: datetime | None = None) -> dict:
    """Only the ``data`` object of the fallback body (the edge wraps it in its envelope)."""
    return _FALLBACKS[endpoint](request or {}, now or datetime.now(UTC))


def fallback_body(endpoint: str, request: Mapping[str, Any] | None = None, *, now: datetime | None = None) -> dict:
    """The contract's fallback body for ``endpoint`` (discovery, score, outreach, pipeline, pipeline_status),
    echoing what it can of the ``request`` body: ``{"success": true, "data": {..., "fallback": true}, "timestamp"}``.

    For ``pipeline_status`` pass ``{"pipeline_id": ...}``. Never raises on a malformed request.
    """
    now = now or datetime.now(UTC)
    return {"success": True, "data": _FALLBACKS[endpoint](request or {}, now), "timestamp": _iso_ms(now)}
