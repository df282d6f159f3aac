"""score_entity (the contract's /score data), explanations and the VS6 fallback body."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from leadstream.scoring.os_labels import composite_grade, composite_tier, e_strength, l_tier, q_rating, t_category
from leadstream.scoring.os_scores import (
    FALLBACK_VALUE,
    SCORE_TYPES,
    UnknownProfile,
    UnknownScoreType,
    fallback_score_data,
    requested_scores,
    score_entity,
)

NOW = datetime(2025, 12, 13, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)

ENTITY = {
    "id": "acme-1",
    "name": "Acme Holdings",
    "domain": "acme.ae",
    "linkedin_url": "https://linkedin.com/company/acme",
    "industry": "Banking",
    "employee_count": 250,
    "location": "Dubai, UAE",
}
SIGNALS = [
    {"type": "hiring", "source": "linkedin", "evidence": "20 open roles", "confidence": 0.9, "date": "2025-12-01"},
    {
        "signal_type": "expansion",
        "source": "news",
        "evidence": "New Abu Dhabi branch",
        "confidence": 0.75,
        "published_at": "2025-11-20T08:00:00Z",
    },
    {"type": "funding", "source": "news", "evidence": "Series B", "created_at": "2025-06-01"},
]


def full() -> dict:
    return score_entity(ENTITY, SIGNALS, "banking_employee", NOW)


def test_full_response_shape_and_values() -> None:
    data = full()
    assert list(data) == ["entity_id", "entity_type", "scores", "explanations", "scoring_profile"]
    assert data["entity_id"] == "acme-1"
    assert data["entity_type"] == "company"
    assert data["scoring_profile"] == "banking_employee"
    s = data["scores"]
    assert list(s) == list(SCORE_TYPES)
    assert s["q_score"] == {
        "value": 100,
        "rating": "HIGH",
        "breakdown": {"domain": 25, "linkedin": 20, "signals": 20, "uae_presence": 25, "recency": 15},
    }
    assert s["t_score"] == {
        "value": 75,
        "category": "NOW",
        "breakdown": {"recency": 25, "signal_strength": 30, "market_timing": 20},
    }
    assert s["l_score"] == {
        "value": 100,
        "tier": "HOT",
        "breakdown": {"company_fit": 30, "engagement_potential": 25, "timing_alignment": 25, "profile_match": 20},
    }
    # 3 signals (30) + mean(0.9, 0.75, 0.5)=0.7166.. -> 21.5 -> 22 + 2 sources (20)
    assert s["e_score"] == {
        "value": 72,
        "strength": "MODERATE",
        "breakdown": {"signal_count": 30, "avg_confidence": 22, "source_diversity": 20},
    }
    # 100*.25 + 75*.30 + 100*.25 + 72*.20 = 25 + 22.5 + 25 + 14.4 = 86.9 -> 87
    assert s["composite"] == {
        "value": 87,
        "tier": "HOT",
        "grade": "A",
        "breakdown": {"q_score": 25.0, "t_score": 22.5, "l_score": 25.0, "e_score": 14.4},
    }
    json.dumps(data)  # JSON-ready as is


def test_labels_come_from_the_ladders() -> None:
    s = score_entity({"domain": "a.ae"}, [{"type": "news", "source": "x"}], "default", NOW)["scores"]
    assert s["q_score"]["rating"] == q_rating(s["q_score"]["value"])
    assert s["t_score"]["category"] == t_category(s["t_score"]["value"])
    assert s["l_score"]["tier"] == l_tier(s["l_score"]["value"])
    assert s["e_score"]["strength"] == e_strength(s["e_score"]["value"])
    assert s["composite"]["tier"] == composite_tier(s["composite"]["value"])
    assert s["composite"]["grade"] == composite_grade(s["composite"]["value"])


def test_empty_entity_half_up_composite() -> None:
    data = score_entity({}, [], None, NOW)
    s = data["scores"]
    assert [s[k]["value"] for k in SCORE_TYPES] == [0, 40, 10, 20, 17]  # 16.5 -> 17
    assert (s["q_score"]["rating"], s["t_score"]["category"], s["l_score"]["tier"], s["e_score"]["strength"]) == (
        "LOW",
        "LATER",
        "COLD",
        "WEAK",
    )
    assert (s["composite"]["tier"], s["composite"]["grade"]) == ("COLD", "F")
    assert data["entity_id"] is None
    assert data["scoring_profile"] == "default"


def test_unknown_profile_raises_before_scoring() -> None:
    with pytest.raises(UnknownProfile):
        score_entity(ENTITY, SIGNALS, "banking", NOW)


def test_profile_changes_composite_and_profile_match() -> None:
    default = score_entity(ENTITY, SIGNALS, "default", NOW)["scores"]
    corporate = score_entity(ENTITY, SIGNALS, "banking_corporate", NOW)["scores"]
    assert default["l_score"]["breakdown"]["profile_match"] == 10
    assert corporate["l_score"]["breakdown"]["profile_match"] == 20
    # default: 100*.30 + 75*.25 + 90*.25 + 72*.20 = 30 + 18.75 + 22.5 + 14.4 = 85.65 -> 86
    assert default["composite"]["value"] == 86
    # banking_corporate: 100*.35 + 75*.20 + 100*.25 + 72*.20 = 35 + 15 + 25 + 14.4 = 89.4 -> 89
    assert corporate["composite"]["value"] == 89


def test_entity_id_and_type() -> None:
    assert score_entity(ENTITY, [], "default", NOW, entity_id="e-9")["entity_id"] == "e-9"
    assert score_entity({"entity_id": "x", "id": "y"}, [], "default", NOW)["entity_id"] == "x"
    assert score_entity(ENTITY, [], "default", NOW, entity_type="individual")["entity_type"] == "individual"


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (None, SCORE_TYPES),
        ([], SCORE_TYPES),
        (["composite"], SCORE_TYPES),  # composite brings the four it is made of
        ("composite", SCORE_TYPES),
        (["q_score"], ("q_score",)),
        (["e_score", "q_score", "q_score"], ("q_score", "e_score")),
        (["t_score", "l_score", "composite"], SCORE_TYPES),
    ],
)
def test_requested_scores(types: object, expected: tuple) -> None:
    assert requested_scores(types) == expected  # type: ignore[arg-type]


def test_score_types_select_scores_and_explanations() -> None:
    data = score_entity(ENTITY, SIGNALS, "default", NOW, score_types=["q_score", "e_score"])
    assert list(data["scores"]) == ["q_score", "e_score"]
    assert list(data["explanations"]) == ["q_score", "e_score"]


def test_unknown_score_type_raises() -> None:
    with pytest.raises(UnknownScoreType) as err:
        score_entity(ENTITY, SIGNALS, "default", NOW, score_types=["q_score", "x_score"])
    assert err.value.unknown == ["x_score"]


def test_breakdown_and_explanations_can_be_left_out() -> None:
    data = score_entity(ENTITY, SIGNALS, "default", NOW, include_breakdown=False, include_explanation=False)
    assert "explanations" not in data
    assert all("breakdown" not in body for body in data["scores"].values())
    assert data["scores"]["composite"] == {"value": 86, "tier": "HOT", "grade": "A"}


def test_deterministic_and_now_dependent() -> None:
    assert full() == full()
    later = score_entity(ENTITY, SIGNALS, "banking_employee", NOW + 60 * DAY)["scores"]
    assert later["t_score"]["breakdown"]["recency"] == 10
    assert later["q_score"]["breakdown"]["recency"] == 10


def test_naive_now_is_utc() -> None:
    assert score_entity(ENTITY, SIGNALS, "banking_employee", NOW.replace(tzinfo=None)) == full()


def test_region_argument() -> None:
    assert (
        score_entity(ENTITY, [], "default", NOW, region="uae")["scores"]["q_score"]["breakdown"]["uae_presence"] == 25
    )
    assert score_entity(ENTITY, [], "default", NOW, region="KSA")["scores"]["q_score"]["value"] == 45
    # Only UAE is active (SPEC §5.2); the part keeps its contract name, the sentence names the region.
    ksa = score_entity({"ksa_presence": True}, [], "default", NOW, region="ksa")
    assert ksa["scores"]["q_score"]["breakdown"]["uae_presence"] == 25
    assert ksa["explanations"]["q_score"] == "Quality LOW (25/100), driven by presence in KSA."


def test_bad_signals_do_not_break_scoring() -> None:
    sigs = [None, "junk", {"type": "x", "confidence": "high", "date": "whenever"}]
    s = score_entity({}, sigs, "default", NOW)["scores"]
    assert s["e_score"]["breakdown"] == {"signal_count": 10, "avg_confidence": 15, "source_diversity": 10}
    assert s["t_score"]["breakdown"]["recency"] == 10


# --- explanations ---------------------------------------------------------------------------------


def test_explanations_name_the_drivers() -> None:
    e = full()["explanations"]
    assert list(e) == list(SCORE_TYPES)
    assert e["q_score"] == (
        "Quality HIGH (100/100), driven by a web domain, presence in UAE, a LinkedIn profile, growth signals "
        "and recent signals."
    )
    assert e["t_score"] == (
        "Timing NOW (75/100): 2 signals dated within 30 days and 2 high-confidence signals, plus 20 for market timing."
    )
    assert e["l_score"] == (
        "Likelihood HOT (100/100), driven by known industry and size, reachable via LinkedIn and a web domain, "
        "a hiring signal and the banking_employee profile."
    )
    assert e["e_score"] == (
        "Evidence MODERATE (72/100): 3 signals from 2 sources with average confidence 0.72 "
        "(1 without confidence, counted as 0.5)."
    )
    assert e["composite"] == (
        "Composite 87/100 (HOT, grade A) with banking_employee weights; "
        "largest contributions from quality (25) and likelihood (25)."
    )


def test_explanations_for_an_empty_entity() -> None:
    e = score_entity({}, [], "default", NOW)["explanations"]
    assert e["q_score"] == "Quality LOW (0/100): no domain, LinkedIn profile, signals or UAE presence found."
    assert e["t_score"].startswith("Timing LATER (40/100): 0 signals dated within 30 days and 0 high-confidence")
    assert e["l_score"] == "Likelihood COLD (10/100), driven by the default profile."
    assert e["e_score"] == "Evidence WEAK (20/100): no signals, so the base score applies."
    assert e["composite"] == (
        "Composite 17/100 (COLD, grade F) with default weights; "
        "largest contributions from timing (10) and evidence (4)."
    )


def test_explanations_singulars_and_partial_drivers() -> None:
    e = score_entity(
        {"website": "a.ae", "size": "10"}, [{"type": "news", "source": "x", "confidence": 0.7}], "saas_b2b", NOW
    )["explanations"]
    assert e["q_score"] == "Quality LOW (35/100), driven by a web domain and signals on record."
    assert "0 signals dated within 30 days and 1 high-confidence signal," in e["t_score"]
    assert e["l_score"] == (
        "Likelihood WARM (60/100), driven by the saas_b2b profile, known size, signals on record "
        "and reachable via a web domain."
    )
    assert e["e_score"] == "Evidence FAIR (41/100): 1 signal from 1 source with average confidence 0.70."


# --- fallback -------------------------------------------------------------------------------------


def test_fallback_body_matches_spec_fixed_values() -> None:
    data = fallback_score_data("acme-1", profile="banking_employee")
    assert data == {
        "entity_id": "acme-1",
        "entity_type": "company",
        "scores": {
            "q_score": {"value": 50, "rating": "FAIR", "breakdown": {}},
            "t_score": {"value": 50, "category": "SOON", "breakdown": {}},
            "l_score": {"value": 50, "tier": "WARM", "breakdown": {}},
            "e_score": {"value": 50, "strength": "FAIR", "breakdown": {}},
            "composite": {"value": 50, "tier": "COOL", "grade": "C", "breakdown": {}},
        },
        "explanations": {"composite": "Score calculated using fallback values"},
        "scoring_profile": "banking_employee",
        "fallback": True,
    }


def test_fallback_labels_agree_with_the_ladders_at_50() -> None:
    # SPEC §5.4 fixes FAIR / SOON / WARM / FAIR, COOL, C; the ladders give the same at 50.
    v = FALLBACK_VALUE
    assert (q_rating(v), t_category(v), l_tier(v), e_strength(v)) == ("FAIR", "SOON", "WARM", "FAIR")
    assert (composite_tier(v), composite_grade(v)) == ("COOL", "C")


def test_fallback_defaults_and_options() -> None:
    data = fallback_score_data(include_breakdown=False)
    assert data["entity_id"] is None
    assert data["scoring_profile"] == "default"
    assert data["scores"]["q_score"] == {"value": 50, "rating": "FAIR"}
    assert fallback_score_data(profile=None)["scoring_profile"] == "default"
    assert fallback_score_data(profile="not-a-profile")["scoring_profile"] == "not-a-profile"  # never raises
    # same keys as a real answer, plus the fallback flag
    assert set(data) - set(full()) == {"fallback"}
