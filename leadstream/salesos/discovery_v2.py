"""Discovery v2 (``POST /api/os/discovery-v2``, the SaaS's current discovery call): pure, no I/O.

A query searches the tenant's companies and signals, and what the configured provider connectors
found: a company matches a term when its name, domain, industry, location, or one of its signals'
types or evidence contains it (case-insensitive). Any term matches, or with ``strictMode`` every one.
The run then goes through the same stages as a pipeline up to ranking (enrich, score under the
context's profile, rank by composite score), and :func:`discovery_v2_data` shapes the answer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from leadstream.salesos.stages import MAX_LIMIT, discover

DISCOVERY_V2_STAGES = ("discovery", "enrich", "score", "rank")
DEFAULT_MAX_RESULTS = 10
MAX_TERMS = 32
_STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "who",
        "that",
        "this",
        "near",
        "companies",
        "company",
    }
)
_WORD = re.compile(r"[^\W_]+(?:[.\-'][^\W_]+)*", re.UNICODE)
_COMPANY_TEXT = ("name", "domain", "industry", "location", "description", "keywords")
_SIGNAL_TEXT = ("type", "signal_type", "evidence", "title", "tags")
_ACTIONS = {"HOT": "outreach", "WARM": "outreach", "COOL": "nurture", "COLD": "monitor"}


def query_terms(query: object) -> list[str]:
    """The query's words, lower-cased, each once, without stop words; at most 32."""
    if not isinstance(query, str):
        return []
    words = (w.casefold() for w in _WORD.findall(query))
    return list(dict.fromkeys(w for w in words if w not in _STOP_WORDS))[:MAX_TERMS]


def _text(record: Mapping[str, Any], fields: Sequence[str]) -> str:
    parts = []
    for field in fields:
        value = record.get(field)
        values = value if isinstance(value, list) else [value]
        parts.extend(str(v) for v in values if isinstance(v, str | int | float) and not isinstance(v, bool))
    return " ".join(parts).casefold()


def matched_terms(company: Mapping[str, Any], signals: Sequence[Mapping[str, Any]], terms: Sequence[str]) -> list[str]:
    haystack = " ".join([_text(company, _COMPANY_TEXT), *(_text(s, _SIGNAL_TEXT) for s in signals)])
    return [t for t in terms if t in haystack]


def query_matcher(
    query: object, strict: bool
) -> Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], bool] | None:
    """Whether a company (with its signals) matches ``query`` as :func:`search` decides; None when every
    company does (no terms). Lets the caller read only matching companies."""
    terms = query_terms(query)
    if not terms:
        return None

    def matcher(company: Mapping[str, Any], signals: Sequence[Mapping[str, Any]]) -> bool:
        hits = matched_terms(company, signals, terms)
        return len(hits) == len(terms) if strict else bool(hits)

    return matcher


def search(
    companies: Sequence[Mapping[str, Any]],
    signals: Sequence[Mapping[str, Any]],
    query: object,
    strict: bool,
    sources: Sequence[str],
    failed_sources: Mapping[str, str],
    external: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]] | None = None,
) -> dict[str, Any]:
    """The discovery result (the shape :func:`~leadstream.salesos.stages.discover` gives, plus
    ``candidates`` with the terms each matched) of the companies matching ``query``. An empty query
    matches every company."""
    pooled = discover(companies, signals, {"sources": list(sources), "limit": MAX_LIMIT}, failed_sources, external)
    by_company: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for signal in pooled["signals"]:
        by_company[str(signal.get("company_id"))].append(signal)
    terms = query_terms(query)
    chosen, candidates = [], []
    for company in pooled["companies"]:
        company_id = str(company.get("company_id"))
        hits = matched_terms(company, by_company[company_id], terms)
        if terms and not (len(hits) == len(terms) if strict else hits):
            continue
        chosen.append(company)
        candidates.append({"company_id": company_id, "name": company.get("name"), "matched_terms": hits})
    ids = {c["company_id"] for c in candidates}
    return {
        "companies": chosen,
        "signals": [s for s in pooled["signals"] if str(s.get("company_id")) in ids],
        "total": len(chosen),
        "sources": pooled["sources"],
        "candidates": candidates,
        "terms": terms,
    }


def discovery_v2_data(
    discovered: Mapping[str, Any],
    ranked: Sequence[Mapping[str, Any]],
    request: Mapping[str, Any],
    context: Mapping[str, str],
) -> dict[str, Any]:
    """The answer: the top ``maxResults`` ranked companies, what was found, what to do next, a headline
    for the UI, and how the answer came about."""
    options = request.get("options") or {}
    max_results = int(options.get("maxResults") or DEFAULT_MAX_RESULTS)
    strict = bool(options.get("strictMode"))
    query = request.get("query") or ""
    top = list(ranked[:max_results])
    by_id = {str(c.get("company_id")): c for c in discovered.get("companies", [])}
    companies = [by_id[str(r.get("entity_id"))] for r in top if str(r.get("entity_id")) in by_id]
    ranked_view = [
        {
            "rank": r["rank"],
            "company_id": r.get("entity_id"),
            "name": by_id.get(str(r.get("entity_id")), {}).get("name"),
            "composite": r["scores"]["composite"]["value"],
            "tier": r["scores"]["composite"]["tier"],
            "grade": r["scores"]["composite"]["grade"],
        }
        for r in top
    ]
    actions: dict[str, list[str]] = {"outreach": [], "nurture": [], "monitor": []}
    for r in ranked_view:
        actions[_ACTIONS.get(r["tier"], "monitor")].append(str(r["company_id"]))
    return {
        "companies": companies,
        "companyCount": len(companies),
        "discovery": {"candidates": discovered.get("candidates", []), "ranked": ranked_view, "actions": actions},
        "uxTruth": _ux_truth(query, len(companies), discovered.get("total", 0), strict, context.get("profile")),
        "trace": {
            "query": query,
            "region": context.get("region"),
            "vertical": context.get("vertical"),
            "sub_vertical": context.get("sub_vertical"),
            "profile": context.get("profile"),
            "terms": discovered.get("terms", []),
            "strictMode": strict,
            "maxResults": max_results,
            "matched": discovered.get("total", 0),
            "sources": discovered.get("sources", {}),
        },
    }


def _ux_truth(query: str, shown: int, matched: int, strict: bool, profile: str | None) -> dict[str, Any]:
    label = f' for "{query}"' if query.strip() else ""
    if not shown:
        hint = "Try fewer or broader words" + (", or turn strict mode off" if strict else "")
        explanation = f"None of your companies or their signals match{label}. {hint}, or load more companies."
        return {"headline": f"No companies found{label}", "explanation": explanation, "isEmpty": True}
    more = f" (top {shown} of {matched})" if matched > shown else ""
    return {
        "headline": f"{shown} {'company' if shown == 1 else 'companies'} found{label}{more}",
        "explanation": f"Ranked by composite score (quality, timing, likelihood, evidence) under the "
        f"{profile or 'default'} profile.",
        "isEmpty": False,
    }
