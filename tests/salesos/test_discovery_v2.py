"""Discovery v2's search and answer (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from leadstream.salesos.discovery_v2 import discovery_v2_data, query_terms, search
from leadstream.salesos.stages import enrich, rank, score_all

COMPANIES = [
    {"company_id": "c-1", "name": "Emirates Widgets", "domain": "widgets.ae", "industry": "banking"},
    {"company_id": "c-2", "name": "Small Co", "industry": "retail"},
    {"company_id": "c-3", "name": "Gulf Payroll Partners", "domain": "gpp.ae", "location": "Dubai, UAE"},
]
SIGNALS = [
    {"company_id": "c-1", "type": "hiring", "evidence": "Hiring 50 relationship managers", "confidence": 0.9},
    {"company_id": "c-2", "type": "expansion", "evidence": "New store in Sharjah"},
]
CONTEXT = {"vertical": "banking", "sub_vertical": "employee_banking", "region": "UAE", "profile": "banking_employee"}


def found(query: str, strict: bool = False) -> list[str]:
    result = search(COMPANIES, SIGNALS, query, strict, ["custom"], {})
    return [c["company_id"] for c in result["companies"]]


def test_terms_are_words_without_stop_words() -> None:
    assert query_terms("Banks hiring in the UAE, hiring!") == ["banks", "hiring", "uae"]
    assert query_terms(None) == [] and query_terms("") == []


def test_matches_name_domain_industry_signal_types_and_evidence() -> None:
    assert found("widgets") == ["c-1"]
    assert found("gpp.ae") == ["c-3"]
    assert found("retail") == ["c-2"]
    assert found("expansion") == ["c-2"]
    assert found("relationship") == ["c-1"]
    assert found("") == ["c-1", "c-2", "c-3"]
    assert found("nothing-like-this") == []


def test_any_term_or_with_strict_mode_every_term() -> None:
    assert found("hiring retail") == ["c-1", "c-2"]
    assert found("hiring retail", strict=True) == []
    assert found("hiring banking", strict=True) == ["c-1"]


def test_provider_companies_are_searched_and_failures_reported() -> None:
    external = {"apollo": {"companies": [{"company_id": "apollo:9", "name": "Desert Fintech"}], "signals": []}}
    result = search(COMPANIES, SIGNALS, "fintech", False, ["custom", "apollo", "linkedin"], {"linkedin": "x"}, external)
    assert [c["company_id"] for c in result["companies"]] == ["apollo:9"]
    assert result["sources"] == {"used": ["custom", "apollo"], "failed": [{"source": "linkedin", "reason": "x"}]}
    assert result["candidates"] == [{"company_id": "apollo:9", "name": "Desert Fintech", "matched_terms": ["fintech"]}]


def answer(query: str, **options: object) -> dict:
    discovered = search(COMPANIES, SIGNALS, query, bool(options.get("strictMode")), ["custom"], {})
    now = datetime(2026, 12, 3, tzinfo=UTC)
    ranked = rank(score_all(enrich(discovered), "banking_employee", now, "UAE"))
    return discovery_v2_data(discovered, ranked, {"query": query, "options": options}, CONTEXT)


def test_answer_is_ranked_by_composite_and_capped() -> None:
    data = answer("", maxResults=2)
    composites = [r["composite"] for r in data["discovery"]["ranked"]]
    assert composites == sorted(composites, reverse=True) and len(composites) == 2
    assert data["companyCount"] == 2 and [c["company_id"] for c in data["companies"]] == [
        r["company_id"] for r in data["discovery"]["ranked"]
    ]
    assert len(data["discovery"]["candidates"]) == 3 and data["trace"]["matched"] == 3
    assert data["uxTruth"]["isEmpty"] is False and "top 2 of 3" in data["uxTruth"]["headline"]
    acted = [c for ids in data["discovery"]["actions"].values() for c in ids]
    assert sorted(acted) == sorted(c["company_id"] for c in data["companies"])
    assert data["trace"]["query"] == "" and data["trace"]["region"] == "UAE"


def test_empty_answer_says_so() -> None:
    data = answer("zebra", strictMode=True)
    assert data["companies"] == [] and data["companyCount"] == 0
    assert data["uxTruth"]["isEmpty"] is True and "strict mode" in data["uxTruth"]["explanation"]
    assert data["discovery"]["ranked"] == [] and data["trace"]["strictMode"] is True
