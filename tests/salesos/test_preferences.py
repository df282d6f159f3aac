"""Feedback's effect on later shortlists: the documented weights and bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadstream.salesos.preferences import (
    ACTIONS,
    MAX_ADJUSTMENT,
    Feedback,
    Preferences,
    UnknownAction,
    normalise_action,
    what_changed,
)


def test_actions_are_read_case_insensitively_and_others_refused() -> None:
    assert normalise_action(" like ") == "LIKE" and normalise_action("Save") == "SAVE"
    for bad in ("LOVE", "", None, 3):
        with pytest.raises(UnknownAction, match="must be one of LIKE, SAVE, DISLIKE, DISMISS"):
            normalise_action(bad)


def test_industry_and_company_points() -> None:
    prefs = Preferences.of(
        [Feedback("c-1", "LIKE", "Retail & E-commerce"), Feedback("c-9", "SAVE", "Retail & E-commerce")]
    )
    # retail: 2 x (3 + 5) = 16, capped at 10; c-1 itself: 2 x 3
    assert prefs.adjustment("c-1", "retail") == (
        15,
        ["+10 for Retail & E-commerce, from your feedback on its companies", "+6 from your feedback on this company"],
    )
    assert prefs.adjustment("c-2", "retail")[0] == 10
    assert prefs.adjustment("c-3", "banking") == (0, [])


def test_dislikes_push_down() -> None:
    prefs = Preferences.of([Feedback("c-1", "DISLIKE", "Banking & Financial Services")])
    assert prefs.adjustment("c-1", "banking")[0] == -8
    assert prefs.adjustment("c-2", "Banking & Financial Services")[0] == -4


feedback = st.builds(
    Feedback, st.sampled_from(["a", "b", "c"]), st.sampled_from(ACTIONS), st.sampled_from(["X", "Y", None])
)


@settings(deadline=None)  # behaviour, not the machine's speed
@given(st.lists(feedback, max_size=60), st.sampled_from(["a", "b", "z"]), st.sampled_from(["X", "Y", "Z"]))
def test_no_amount_of_feedback_moves_a_company_more_than_the_bound(
    given_feedback: list[Feedback], company: str, industry: str
) -> None:
    points, _ = Preferences.of(given_feedback).adjustment(company, industry)
    assert -MAX_ADJUSTMENT <= points <= MAX_ADJUSTMENT


def test_what_changed_says_before_and_after() -> None:
    earlier = [Feedback("c-1", "LIKE", "Retail & E-commerce")]
    change = what_changed(earlier, Feedback("c-1", "SAVE", "Retail & E-commerce"), "Small Co")
    assert change["company"] == {"company_id": "c-1", "points_before": 6, "points_after": 10}
    assert change["industry"] == {"industry": "Retail & E-commerce", "points_before": 6, "points_after": 10}
    assert change["summary"].startswith("Small Co now moves +10 points in your next shortlists")
    assert change["applies_to"] == "next_shortlist" and change["window_days"] == 90
