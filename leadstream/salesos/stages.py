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


def discovery_filters(config: Mapping[str, Any]) -> dict[str, str | int | float]:
    """``config.filters`` that can be matched: plain values only."""
    return {k: v for k, v in (config.get("filters") or {}).items() if isinstance(v, (str, int, float))}


def discovery_limit(config: Mapping[str, Any]) -> int:
    return max(1, min(int(config.get("limit") or DEFAULT_LIMIT), MAX_LIMIT))


def requested_sources(config: Mapping[str, Any]) -> list[str]:
    """``config.sources`` in order, lower-cased, each once; ``["custom"]`` when not given."""
    names = [s.strip().lower() for s in (config.get("sources") or ["custom"]) if isinstance(s, str)]
    return list(dict.fromkeys(n for n in names if n))


def domain_key(value: object) -> str | None:
    """A website or domain as a bare host (``https://www.Acme.ae/x`` -> ``acme.ae``); None if there is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    host = value.strip().lower().split("://", 1)[-1]
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.removeprefix("www.").strip(".") or None


def discover(
    companies: Sequence[Mapping[str, Any]],
    signals: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    failed_sources: Mapping[str, str],
    external: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """Companies from the requested sources matching ``config.filters`` (exact, case-insensitive), up to ``limit``.

    ``custom`` is the tenant's own ``companies`` and ``signals``; ``external`` holds what each provider
    connector that answered found (``{"apollo": {"companies": [...], "signals": [...]}}``). The tenant's
    companies come first, then each provider's in the requested order; a provider's company whose
    domain or id is already listed is left out. Requested sources that neither are ``custom`` nor
    answered are reported failed, with the reason from ``failed_sources`` (else "unknown source").
    """
    external = external or {}
    filters = discovery_filters(config)
    requested = requested_sources(config)
    used = [s for s in requested if s == "custom" or s in external]
    pools = [(s, companies, signals) if s == "custom" else (s, *_found_by(external[s])) for s in used]
    pools.sort(key=lambda pool: pool[0] != "custom")  # the tenant's first, then the providers in order
    owner: dict[tuple[str, str], str] = {}  # domain or id -> the listed company that has it
    alias: dict[str, str] = {}  # a left-out provider copy's id -> the listed company's id
    chosen: list[Mapping[str, Any]] = []
    for source, pool, _ in pools:
        for company in pool:
            keys = _identity(company)
            known = [owner[k] for k in sorted(keys) if k in owner]
            if source != "custom" and known:  # a provider's copy of a company already listed
                alias[str(company.get("company_id"))] = known[0]
                continue
            for key in keys:
                owner.setdefault(key, str(company.get("company_id")))
            if all(_same(company.get(k), v) for k, v in filters.items()):
                chosen.append(company)
    chosen = chosen[: discovery_limit(config)]
    ids = {str(c.get("company_id")) for c in chosen}
    found = [s if src == "custom" else _owned_by(s, alias) for src, _, pool in pools for s in pool]
    return {
        "companies": chosen,
        "signals": [s for s in found if str(s.get("company_id")) in ids],
        "total": len(chosen),
        "sources": {
            "used": used,
            "failed": [
                {"source": s, "reason": failed_sources.get(s, "unknown source")} for s in requested if s not in used
            ],
        },
    }


def _found_by(result: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[Sequence[Mapping[str, Any]], ...]:
    return result.get("companies", []), result.get("signals", [])


def _identity(company: Mapping[str, Any]) -> set[tuple[str, str]]:
    keys = {("id", str(company["company_id"]))} if company.get("company_id") not in (None, "") else set()
    domain = domain_key(company.get("domain"))
    return (keys | {("domain", domain)}) if domain else keys


def _owned_by(signal: Mapping[str, Any], alias: Mapping[str, str]) -> Mapping[str, Any]:
    """A provider's signal about a company the tenant already has is about the tenant's company."""
    company_id = alias.get(str(signal.get("company_id")))
    return signal if company_id is None else {**signal, "company_id": company_id}


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
