import pytest

from leadstream.scoring import event_lead_score, is_valid_click_id

GCLID = "Cj0KCQiA-abcdef"


def score(**kw: object) -> int:
    base = {"category": "interaction", "action": "view"}
    return event_lead_score(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({}, 10),
        ({"category": "conversion"}, 50),
        ({"category": "acquisition"}, 0),
        ({"category": "system"}, 0),
        ({"action": "scroll_depth", "value": 49}, 10),
        ({"action": "scroll_depth", "value": 50}, 20),
        ({"action": "scroll", "value": 89.9}, 20),
        ({"action": "scroll_depth", "value": 90}, 40),
        ({"action": "scroll_depth", "value": None}, 10),
        ({"action": "click", "value": 95}, 10),
        ({"action": "hover_intent"}, 25),
        ({"referrer": "https://www.google.com/search?q=x"}, 15),
        ({"referrer": "https://google.co.uk/"}, 15),
        ({"referrer": "https://example.com/?q=google.com"}, 10),
        ({"referrer": "not a url"}, 10),
        ({"click_ids": [GCLID]}, 35),
        ({"click_ids": ["short"]}, 10),
        ({"click_ids": ["{gclid}-template"]}, 10),
        ({"category": "conversion", "click_ids": [GCLID]}, 75),
    ],
)
def test_rules(kw: dict[str, object], expected: int) -> None:
    assert score(**kw) == expected


def test_capped_at_100() -> None:
    assert (
        score(category="conversion", action="scroll_depth", value=95, referrer="https://google.com", click_ids=[GCLID])
        == 100
    )


def test_heartbeat_scores_zero_whatever_else() -> None:
    assert score(category="conversion", action="heartbeat", click_ids=[GCLID]) == 0


def test_click_id_keeps_category_points() -> None:
    # The reference rewrote the category when a click id was present and lost the +50.
    assert score(category="conversion", click_ids=[GCLID]) == 50 + 25


@pytest.mark.parametrize(
    ("value", "ok"),
    [(GCLID, True), ("a" * 10, True), ("a" * 9, False), ("{x}" * 5, False), (None, False), (1234567890123, False)],
)
def test_click_id_validity(value: object, ok: bool) -> None:
    assert is_valid_click_id(value) is ok
