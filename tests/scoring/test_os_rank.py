"""``/rank``'s arithmetic and wording: the reference OS's rules, down to its rounding."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadstream.scoring.os_profiles import PROFILES, UnknownProfile
from leadstream.scoring.os_rank import KEYS, RANK_WEIGHTS, js_number, js_round, rank_entities

A = {"q_score": 80, "t_score": 70, "l_score": 60, "e_score": 50}
B = {"q_score": 60, "t_score": 90, "l_score": 40, "e_score": 30}


def test_the_reference_example_exactly() -> None:
    data = rank_entities([("A", A), ("B", B)], "banking_employee")
    first, second = data["ranked_entities"]
    assert (first["entity_id"], first["rank"], first["rank_score"]) == ("A", 1, 66.5)
    assert first["explanation"] == {
        "why_this_rank": ["Strong t-score (25 contribution)", "High quality data"],
        "comparison_to_next": "Slightly ahead of #2 by 6 points",
        "why_not_first": None,
    }
    assert (second["entity_id"], second["rank"], second["rank_score"]) == ("B", 2, 60.5)
    # 90 x 0.35 is 31.499999999999996 in doubles: the reference says 31, and so do we
    assert second["explanation"] == {
        "why_this_rank": ["Strong t-score (31 contribution)", "Optimal timing detected"],
        "comparison_to_next": None,
        "why_not_first": "Lower q-score than #1 (gap: 20)",
    }
    assert data["confidence"] == 97
    assert data["ranking_config"] == {
        "profile": "banking_employee",
        "weights": {"q_score": 0.25, "t_score": 0.35, "l_score": 0.2, "e_score": 0.2},
        "is_custom_weights": False,
    }
    assert (data["total_ranked"], data["total_input"]) == (2, 2)
    assert data["reason"] == "Ranked 2 entities using banking_employee profile"


def test_rank_weights_are_the_score_table_but_for_banking_employee() -> None:
    assert RANK_WEIGHTS["banking_employee"] == {"q_score": 0.25, "t_score": 0.35, "l_score": 0.20, "e_score": 0.20}
    assert RANK_WEIGHTS["default"] == {"q_score": 0.30, "t_score": 0.25, "l_score": 0.25, "e_score": 0.20}
    assert set(RANK_WEIGHTS) == set(PROFILES)
    assert all(abs(sum(w.values()) - 1) < 1e-9 for w in RANK_WEIGHTS.values())


def test_custom_weights_missing_keys_weigh_nothing() -> None:
    data = rank_entities([("A", A), ("B", B)], None, {"t_score": 1})
    assert [e["entity_id"] for e in data["ranked_entities"]] == ["B", "A"]
    assert data["ranking_config"]["is_custom_weights"] is True
    assert data["ranking_config"]["weights"] == {"q_score": 0, "t_score": 1, "l_score": 0, "e_score": 0}
    assert data["ranked_entities"][0]["rank_score"] == 90


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(UnknownProfile):
        rank_entities([("A", A)], "gold_plated")


def test_ties_keep_the_request_order_and_position_change_counts_moves() -> None:
    same = {"q_score": 50, "t_score": 50, "l_score": 50, "e_score": 50}
    data = rank_entities([("x", same), ("y", A), ("z", same)], "default")
    assert [e["entity_id"] for e in data["ranked_entities"]] == ["y", "x", "z"]
    assert [e["position_change"] for e in data["ranked_entities"]] == [1, -1, 0]


def test_limit_cuts_the_list_but_not_the_comparisons_or_confidence() -> None:
    low = {"q_score": 10, "t_score": 10, "l_score": 10, "e_score": 10}
    full = rank_entities([("A", A), ("low", low)], "default")
    cut = rank_entities([("A", A), ("low", low)], "default", limit=1)
    assert cut["total_ranked"] == 1 and cut["total_input"] == 2
    assert cut["confidence"] == full["confidence"]
    assert cut["ranked_entities"][0]["explanation"]["comparison_to_next"].startswith("Significantly ahead of #2 by ")


def test_explain_false_leaves_the_explanation_out() -> None:
    assert "explanation" not in rank_entities([("A", A)], "default", explain_ranks=False)["ranked_entities"][0]


def test_largest_contribution_ties_go_to_q_then_t() -> None:
    even = {"q_score": 40, "t_score": 40, "l_score": 40, "e_score": 40}
    why = rank_entities([("e", even)], None, {"q_score": 0.5, "t_score": 0.5})["ranked_entities"][0]
    assert why["explanation"]["why_this_rank"] == ["Strong q-score (20 contribution)"]


def test_javascript_rounding_and_printing() -> None:
    assert [js_round(x) for x in (2.5, 3.5, -2.5, 31.499999999999996, 24.5)] == [3, 4, -2, 31, 25]
    assert [js_number(x) for x in (20.0, 12.5, 20)] == ["20", "12.5", "20"]


scores = st.fixed_dictionaries({k: st.integers(0, 100) for k in KEYS})


@settings(deadline=None)  # behaviour, not the machine's speed
@given(st.lists(scores, min_size=1, max_size=30), st.sampled_from(PROFILES))
def test_any_scores_rank_in_order_with_a_bounded_confidence(entities: list[dict[str, int]], profile: str) -> None:
    data = rank_entities([(i, s) for i, s in enumerate(entities)], profile)
    ranked = data["ranked_entities"]
    assert [r["rank"] for r in ranked] == list(range(1, len(entities) + 1))
    assert all(a["rank_score"] >= b["rank_score"] for a, b in itertools.pairwise(ranked))
    assert sorted(r["entity_id"] for r in ranked) == list(range(len(entities)))
    assert 50 <= data["confidence"] <= 100
    assert all(r["explanation"]["why_this_rank"][0].startswith("Strong ") for r in ranked)
