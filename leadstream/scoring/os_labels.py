"""Label ladders for the sales-OS scores (SPEC §3.5), one per label, used everywhere (fallbacks too).

Each ladder is a list of (minimum, label) from the top; the first minimum the value reaches wins.
"""

from __future__ import annotations

_Ladder = tuple[tuple[int, str], ...]

Q_RATING: _Ladder = ((80, "HIGH"), (60, "GOOD"), (40, "FAIR"))
E_STRENGTH: _Ladder = ((80, "STRONG"), (60, "MODERATE"), (40, "FAIR"))
T_CATEGORY: _Ladder = ((70, "NOW"), (50, "SOON"), (30, "LATER"))
L_TIER: _Ladder = ((65, "HOT"), (50, "WARM"), (35, "COOL"))
COMPOSITE_TIER: _Ladder = ((75, "HOT"), (60, "WARM"), (40, "COOL"))
COMPOSITE_GRADE: _Ladder = ((85, "A"), (70, "B"), (50, "C"), (35, "D"))


def _climb(value: float, ladder: _Ladder, below: str) -> str:
    for minimum, label in ladder:
        if value >= minimum:
            return label
    return below


def q_rating(value: float) -> str:
    return _climb(value, Q_RATING, "LOW")


def e_strength(value: float) -> str:
    return _climb(value, E_STRENGTH, "WEAK")


def t_category(value: float) -> str:
    return _climb(value, T_CATEGORY, "COLD")


def l_tier(value: float) -> str:
    return _climb(value, L_TIER, "COLD")


def composite_tier(value: float) -> str:
    return _climb(value, COMPOSITE_TIER, "COLD")


def composite_grade(value: float) -> str:
    return _climb(value, COMPOSITE_GRADE, "F")
