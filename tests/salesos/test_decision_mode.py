"""Decision Mode's choice: leadstream's scores, the reference's reasons, the user's feedback, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadstream.salesos.decision_mode import (
    SHORTLIST_SIZE,
    candidates,
    decide,
    headcount,
    lead_key,
    merged_signals,
    size_bucket,
    why_now,
)
from leadstream.salesos.preferences import Feedback, Preferences
from leadstream.schemas.os_more import SessionFields
from tests.json_strategies import json_values

NOW = datetime(2026, 12, 6, tzinfo=UTC)
NONE = Preferences.of([])
STRONG = {
    "id": "c-1",
    "name": "Emirates Widgets",
    "domain": "widgets.ae",
    "industry": "banking",
    "headcount": 600,
    "location": "Dubai",
    "signals": [{"type": "hiring", "title": "Hiring 50 RMs", "source": "news", "confidence": 90, "date": "2026-12-01"}],
}
WEAK = {"id": "c-2", "name": "Small Co", "industry": "retail"}


def session(
    leads: list[dict], prefs: Preferences = NONE, known: dict | None = None, signals: dict | None = None
) -> dict:
    ranked = candidates(leads, known or {}, signals or {}, prefs, "banking_employee", "UAE", NOW)
    return decide(ranked, "employee_banking", "banking_employee")


def test_the_primary_recommendation_and_its_reasons() -> None:
    out = session([WEAK, STRONG])
    primary = out["primary_recommendation"]
    assert primary["company"] == "Emirates Widgets" and primary["company_id"] == "c-1"
    assert primary["why_now"] == ["Hiring velocity spike", "Payroll-scale headcount (500+ employees)"]
    assert primary["next_action"] == "Find HR decision-maker at Emirates Widgets"
    assert primary["confidence"] == round(min(0.95, primary["score"] / 100), 2)
    assert [d["driver"] for d in primary["score_drivers"]][:2] == ["Hiring 50 RMs", "Enterprise scale"]
    assert all(d["impact"] in ("high", "medium", "low") and d["detail"] for d in primary["score_drivers"])
    assert [c["company_id"] for c in out["shortlist"]] == ["c-1", "c-2"]
    assert (out["total_available"], out["collapsed_count"]) == (2, 0)


def test_the_shortlist_is_five_the_rest_collapsed() -> None:
    leads = [{"id": f"c-{i}", "name": f"Co {i}"} for i in range(8)]
    out = session(leads)
    assert len(out["shortlist"]) == SHORTLIST_SIZE
    assert (out["total_available"], out["collapsed_count"], out["has_more"]) == (8, 3, True)
    assert out["collapsed_message"] == "3 more companies ranked below these"


def test_no_leads_no_recommendation() -> None:
    out = session([])
    assert out["primary_recommendation"] is None and out["shortlist"] == [] and out["total_available"] == 0


def test_stored_records_and_signals_fill_in_a_bare_lead() -> None:
    known = {"c-1": {"company_id": "c-1", "name": "Emirates Widgets", "industry": "banking", "size": "600"}}
    signals = {"c-1": [{"type": "funding", "source": "news", "evidence": "Series B", "date": "2026-11-30"}]}
    out = session([{"id": "c-1"}], known=known, signals=signals)
    primary = out["primary_recommendation"]
    assert primary["company"] == "Emirates Widgets" and primary["industry"] == "banking"
    assert primary["why_now"][0] == "Fresh capital = budget for banking solutions"
    assert out["shortlist"][0]["signals"][0]["type"] == "funding"


def test_feedback_moves_the_next_shortlist_within_the_bound() -> None:
    close_a = {"id": "a", "name": "A", "industry": "banking", "domain": "a.ae"}
    close_b = {"id": "b", "name": "B", "industry": "retail", "linkedin_url": "https://linkedin.com/company/b"}
    before = session([close_a, close_b])
    assert [c["company_id"] for c in before["shortlist"]] == ["a", "b"]
    liked_retail = Preferences.of([Feedback("x", "LIKE", "Retail & E-commerce")] * 2)
    after = session([close_a, close_b], liked_retail)
    assert [c["company_id"] for c in after["shortlist"]] == ["b", "a"]
    moved = after["shortlist"][0]
    assert moved["preference_boosted"] is True and moved["preference_boost"] == 10
    assert moved["score"] == moved["base_score"] + 10
    personal = after["primary_recommendation"]["score_drivers"][-1]
    assert personal["personalized"] is True and "+10" in personal["detail"]


def test_each_company_once_keyed_as_the_ui_needs() -> None:
    leads = [{"id": "c-1", "name": "A"}, {"company_id": "c-1", "name": "A again"}, {"domain": "https://www.b.ae/"}]
    out = session(leads)
    assert sorted(c["company_id"] for c in out["shortlist"]) == ["b.ae", "c-1"]
    assert lead_key({"name": " Acme "}) == "Acme" and lead_key({}) is None


def test_why_now_rules() -> None:
    hiring = [{"type": "hiring-expansion"}]
    assert why_now(hiring, 150, "Tech", 70) == ["Hiring velocity spike", "Growing team (150 employees)",
                                                 "Tech sector = digital-first banking fit"]  # fmt: skip
    assert why_now([{"type": "office-opening"}], None, None, 55) == [
        "Active expansion in your territory",
        "High opportunity score (55)",
    ]
    assert why_now([], None, None, 12) == ["High opportunity score (12)"]


def test_headcount_and_size_bucket() -> None:
    assert headcount({"size": "51-200"}) == 51 and headcount({"employees": "1,200"}) == 1200
    assert size_bucket({"headcount": 30}) == "small" and size_bucket({"headcount": 5000}) == "enterprise"
    assert size_bucket({"size_bucket": "mid"}) == "mid" and size_bucket({}) is None


def test_signals_merged_once_newest_first_with_percent_confidence_read_as_a_fraction() -> None:
    lead = {"signals": [{"type": "hiring", "title": "t", "date": "2026-01-01", "confidence": 90}]}
    stored = [{"type": "hiring", "evidence": "t", "date": "2026-01-01"}, {"type": "funding", "date": "2026-06-01"}]
    merged = merged_signals(lead, stored)
    assert [s["type"] for s in merged] == ["funding", "hiring"]
    assert merged[1]["confidence"] == 0.9


lead = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])},
    optional={
        "industry": st.sampled_from(["banking", "retail", "tech"]),
        "domain": st.sampled_from(["a.ae", "b.com"]),
        "headcount": st.integers(0, 5000),
    },
)


@settings(deadline=None)  # behaviour, not the machine's speed
@given(st.lists(lead, max_size=12))
def test_same_input_same_answer_and_scores_in_order(leads: list[dict]) -> None:
    first, again = session(leads), session(list(leads))
    assert first == again
    scores = [c["score"] for c in first["shortlist"]]
    assert scores == sorted(scores, reverse=True)
    assert first["total_available"] == len({x["id"] for x in leads})


any_lead = st.dictionaries(
    st.sampled_from(["id", "company_id", "name", "domain", "industry", "headcount", "size", "city", "location",
                     "size_bucket", "linkedin_url", "signals", "employees"]),
    json_values,
    max_size=8,
)  # fmt: skip


@settings(deadline=None)  # behaviour, not the machine's speed
@given(st.lists(any_lead, max_size=6))
def test_leads_of_any_shape_give_an_answer_in_the_documented_shape(leads: list[dict]) -> None:
    SessionFields.model_validate({"session_id": "sess_x", **session(leads)})
