"""Every label ladder at, and just below, each threshold (SPEC §3.5)."""

import pytest

from leadstream.scoring.os_labels import composite_grade, composite_tier, e_strength, l_tier, q_rating, t_category


def ladder_cases(thresholds: list[tuple[int, str]], below: str) -> list[tuple[float, str]]:
    """(value, label) at each threshold, one below it, fractionally below it, and the extremes."""
    cases: list[tuple[float, str]] = [(100, thresholds[0][1]), (0, below)]
    labels = [label for _, label in thresholds] + [below]
    for i, (minimum, label) in enumerate(thresholds):
        cases += [(minimum, label), (minimum - 1, labels[i + 1]), (minimum - 0.5, labels[i + 1])]
    return cases


@pytest.mark.parametrize(("value", "label"), ladder_cases([(80, "HIGH"), (60, "GOOD"), (40, "FAIR")], "LOW"))
def test_q_rating(value: float, label: str) -> None:
    assert q_rating(value) == label


@pytest.mark.parametrize(("value", "label"), ladder_cases([(80, "STRONG"), (60, "MODERATE"), (40, "FAIR")], "WEAK"))
def test_e_strength(value: float, label: str) -> None:
    assert e_strength(value) == label


@pytest.mark.parametrize(("value", "label"), ladder_cases([(70, "NOW"), (50, "SOON"), (30, "LATER")], "COLD"))
def test_t_category(value: float, label: str) -> None:
    assert t_category(value) == label


@pytest.mark.parametrize(("value", "label"), ladder_cases([(65, "HOT"), (50, "WARM"), (35, "COOL")], "COLD"))
def test_l_tier(value: float, label: str) -> None:
    assert l_tier(value) == label


@pytest.mark.parametrize(("value", "label"), ladder_cases([(75, "HOT"), (60, "WARM"), (40, "COOL")], "COLD"))
def test_composite_tier(value: float, label: str) -> None:
    assert composite_tier(value) == label


@pytest.mark.parametrize(("value", "label"), ladder_cases([(85, "A"), (70, "B"), (50, "C"), (35, "D")], "F"))
def test_composite_grade(value: float, label: str) -> None:
    assert composite_grade(value) == label


def test_explicit_boundaries_read_like_the_spec() -> None:
    # The generated cases above, spelled out once for the reader.
    assert [q_rating(v) for v in (79, 80, 59, 60, 39, 40)] == ["GOOD", "HIGH", "FAIR", "GOOD", "LOW", "FAIR"]
    assert [t_category(v) for v in (69, 70, 49, 50, 29, 30)] == ["SOON", "NOW", "LATER", "SOON", "COLD", "LATER"]
    assert [l_tier(v) for v in (64, 65, 49, 50, 34, 35)] == ["WARM", "HOT", "COOL", "WARM", "COLD", "COOL"]
    assert [composite_grade(v) for v in (84, 85, 69, 70, 49, 50, 34, 35)] == ["B", "A", "C", "B", "D", "C", "F", "D"]
