"""``POST /api/os/rank``: entities ranked by the Q/T/L/E scores they come with: pure, no I/O.

The reference OS's own ranking rules, numbers and strings, which the SaaS shows as they are:

* weights: ``options.weights`` as given (a missing key weighs 0), else the profile's row of
  :data:`RANK_WEIGHTS` (the ``/score`` table but for ``banking_employee``, which ranks with timing
  0.35 and likelihood 0.20);
* ``rank_score`` = q×wq + t×wt + l×wl + e×we, unrounded for sorting (stable, highest first) and
  shown to two decimals; ``rank`` counts from 1 and ``position_change`` is input index − new index;
* ``confidence`` = min(100, round(100 − population standard deviation of every rank score));
* the explanation's reasons, drawn from the scores (see :func:`explain`).

The arithmetic is the reference's: IEEE doubles and JavaScript's ``Math.round`` (halves up, as
``floor(x + 0.5)``), so 90 × 0.35 = 31.499999999999996 reads "31 contribution" exactly as the SaaS
sees it from the reference. That is why weights here are floats, unlike ``/score``'s hundredths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from leadstream.scoring.os_profiles import resolve_profile

KEYS = ("q_score", "t_score", "l_score", "e_score")
LETTERS = {"q_score": "q", "t_score": "t", "l_score": "l", "e_score": "e"}
MAX_ENTITIES = 100
DEFAULT_LIMIT = 100
OPTIMAL_TIMING = 80  # t at or above: "Optimal timing detected"
HIGH_QUALITY = 80  # q at or above: "High quality data"
SIGNIFICANT_LEAD = 10  # points ahead of the next one that count as "significantly"

_TABLE = {
    "default": (0.30, 0.25, 0.25, 0.20),
    "banking_employee": (0.25, 0.35, 0.20, 0.20),  # the reference's rank row (its /score has t .30, l .25)
    "banking_corporate": (0.35, 0.20, 0.25, 0.20),
    "banking_sme": (0.30, 0.30, 0.25, 0.15),  # not a reference profile: leadstream's /score row
    "insurance_individual": (0.20, 0.35, 0.30, 0.15),
    "recruitment_hiring": (0.20, 0.40, 0.20, 0.20),
    "saas_b2b": (0.30, 0.25, 0.30, 0.15),
}
RANK_WEIGHTS = MappingProxyType({p: dict(zip(KEYS, w, strict=True)) for p, w in _TABLE.items()})


def js_round(x: float) -> int:
    """JavaScript's ``Math.round``: halves toward +infinity (2.5 -> 3, -2.5 -> -2)."""
    return math.floor(x + 0.5)


def js_number(x: float) -> str:
    """A number as JavaScript's template strings print it: ``20``, ``12.5``."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True, slots=True)
class Ranked:
    entity_id: Any
    scores: Mapping[str, float]
    index: int  # position in the request
    rank_score: float  # unrounded

    def contribution(self, weights: Mapping[str, float], key: str) -> float:
        return float(self.scores[key]) * weights[key]


def rank_weights(profile: str | None, custom: Mapping[str, float] | None) -> tuple[str, dict[str, float], bool]:
    """``(profile, weights, is_custom)``; raises ``UnknownProfile`` for a profile not in the table."""
    name = resolve_profile(profile)
    if custom is not None:
        return name, {k: float(custom.get(k) or 0) for k in KEYS}, True
    return name, dict(RANK_WEIGHTS[name]), False


def rank_score(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    total = 0.0
    for key in KEYS:  # left to right, as the reference adds them
        total += float(scores[key]) * weights[key]
    return total


def population_sd(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _largest(values: Mapping[str, float]) -> str:
    """The key with the largest value; ties go to the first of q, t, l, e."""
    best = KEYS[0]
    for key in KEYS[1:]:
        if values[key] > values[best]:
            best = key
    return best


def explain(ordered: Sequence[Ranked], position: int, weights: Mapping[str, float]) -> dict[str, Any]:
    """Why ``ordered[position]`` is where it is: ``why_this_rank`` (its largest contribution, then
    optimal timing at t >= 80 and high quality at q >= 80), ``comparison_to_next`` (when the next one
    trails) and ``why_not_first`` (the score where #1 leads it most)."""
    me = ordered[position]
    contributions = {k: me.contribution(weights, k) for k in KEYS}
    top = _largest(contributions)
    why = [f"Strong {LETTERS[top]}-score ({js_round(contributions[top])} contribution)"]
    if float(me.scores["t_score"]) >= OPTIMAL_TIMING:
        why.append("Optimal timing detected")
    if float(me.scores["q_score"]) >= HIGH_QUALITY:
        why.append("High quality data")
    comparison = None
    if position + 1 < len(ordered):
        lead = me.rank_score - ordered[position + 1].rank_score
        if lead > 0:
            how = "Significantly" if lead > SIGNIFICANT_LEAD else "Slightly"
            comparison = f"{how} ahead of #{position + 2} by {js_round(lead)} points"
    why_not_first = None
    first = ordered[0]
    if position > 0 and first.rank_score - me.rank_score > 0:
        gaps = {k: float(first.scores[k]) - float(me.scores[k]) for k in KEYS}
        key = _largest(gaps)
        why_not_first = f"Lower {LETTERS[key]}-score than #1 (gap: {js_number(gaps[key])})"
    return {"why_this_rank": why, "comparison_to_next": comparison, "why_not_first": why_not_first}


def rank_entities(
    entities: Sequence[tuple[Any, Mapping[str, float]]],
    profile: str | None = None,
    weights: Mapping[str, float] | None = None,
    limit: int | None = None,
    explain_ranks: bool = True,
) -> dict[str, Any]:
    """The ``data`` of a ``/rank`` answer for ``(entity_id, scores)`` pairs, each with all four scores."""
    name, used, is_custom = rank_weights(profile, weights)
    items = [Ranked(eid, scores, i, rank_score(scores, used)) for i, (eid, scores) in enumerate(entities)]
    ordered = sorted(items, key=lambda r: -r.rank_score)  # stable: equal scores keep the request's order
    shown = ordered[: limit or DEFAULT_LIMIT]
    ranked = []
    for position, item in enumerate(shown):
        entry: dict[str, Any] = {
            "rank": position + 1,
            "entity_id": item.entity_id,
            "rank_score": math.floor(item.rank_score * 100 + 0.5) / 100,
            "scores": {k: item.scores[k] for k in KEYS},
            "position_change": item.index - position,
        }
        if explain_ranks:
            entry["explanation"] = explain(ordered, position, used)
        ranked.append(entry)
    sd = population_sd([r.rank_score for r in items])
    return {
        "ranked_entities": ranked,
        "total_ranked": len(ranked),
        "total_input": len(items),
        "ranking_config": {"profile": name, "weights": used, "is_custom_weights": is_custom},
        "confidence": min(100, js_round(100 - sd)),
        "reason": f"Ranked {len(ranked)} entities using {name} profile",
    }
