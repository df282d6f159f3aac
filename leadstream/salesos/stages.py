"""The sales-OS stages as pure functions: discovery -> enrich -> score -> rank -> outreach.

The worker runs each as a stream processor over its own topic; these functions hold the
logic, given the rows the worker read for the run's tenant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from leadstream.salesos.outreach import outreach_item
from leadstream.scoring.os_scores import score_entity

STAGES = ("discovery", "enrich", "score", "rank", "outreach")
MODES: dict[str, tuple[str, ...]] = {
    "full_pipeline": STAGES,
    "discovery_to_score": ("discovery", "enrich", "score", "rank"),
    "discovery_only": ("discovery",),
}
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def discover(
    companies: Sequence[Mapping[str, Any]],
    signals: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    failed_sources: Mapping[str, str],
) -> dict[str, Any]:
    """The tenant's companies matching ``config.filters`` (exact, case-insensitive), up to ``limit``."""
    filters = {k: v for k, v in (config.get("filters") or {}).items() if isinstance(v, (str, int, float))}
    limit = max(1, min(int(config.get("limit") or DEFAULT_LIMIT), MAX_LIMIT))
    chosen = [c for c in companies if all(_same(c.get(k), v) for k, v in filters.items())][:limit]
    ids = {c["company_id"] for c in chosen}
    requested = [s for s in (config.get("sources") or ["custom"]) if isinstance(s, str)]
    used = [s for s in requested if s == "custom"]
    failed = [{"source": s, "reason": failed_sources.get(s, "unknown source")} for s in requested if s != "custom"]
    return {
        "companies": chosen,
        "signals": [s for s in signals if s.get("company_id") in ids],
        "total": len(chosen),
        "sources": {"used": used, "failed": failed},
    }


def _same(value: object, wanted: object) -> bool:
    return str(value).strip().lower() == str(wanted).strip().lower()


def enrich(discovered: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each company with its signals attached and its fields tidied for scoring."""
    by_company: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for signal in discovered.get("signals", []):
        by_company[str(signal.get("company_id"))].append(signal)
    out = []
    for company in discovered.get("companies", []):
        entity = {k: v for k, v in company.items() if v not in (None, "")}
        out.append({"entity": entity, "signals": by_company.get(str(company.get("company_id")), [])})
    return out


def score_all(enriched: Sequence[Mapping[str, Any]], profile: str, now: datetime, region: str) -> list[dict[str, Any]]:
    return [
        score_entity(
            e["entity"],
            e["signals"],
            profile,
            now,
            region,
            entity_id=e["entity"].get("company_id"),
            include_breakdown=False,
            include_explanation=True,
        )
        for e in enriched
    ]


def rank(scored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """By composite score, highest first; ties by entity id for a stable order."""
    ordered = sorted(scored, key=lambda s: (-s["scores"]["composite"]["value"], str(s.get("entity_id"))))
    return [{"rank": i, **s} for i, s in enumerate(ordered, start=1)]


def outreach_for(
    leads: Sequence[Mapping[str, Any]], options: Mapping[str, Any], profile: str, score: object, now: datetime
) -> list[dict[str, Any]]:
    return [
        outreach_item(
            lead,
            profile=profile,
            channel=options.get("channel"),
            tone=options.get("tone"),
            personalization=options.get("personalization_level"),
            score=lead.get("score", score),
            generated_at=now,
        )
        for lead in leads
    ]


def leads_from_ranked(ranked: Sequence[Mapping[str, Any]], enriched: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Outreach leads for a pipeline: the ranked companies, addressed to their contact if known."""
    entities = {str(e["entity"].get("company_id")): e["entity"] for e in enriched}
    leads = []
    for r in ranked:
        entity = entities.get(str(r.get("entity_id")), {})
        leads.append(
            {
                "id": r.get("entity_id"),
                "name": entity.get("contact_name", ""),
                "company": entity.get("name"),
                "designation": entity.get("contact_title"),
                "industry": entity.get("industry"),
                "score": {
                    "total": {"score": r["scores"]["composite"]["value"], "band": r["scores"]["composite"]["tier"]}
                },
            }
        )
    return leads
