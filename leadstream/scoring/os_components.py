"""The four sales-OS component scores and the composite (SPEC §3.5), as pure functions.

Every function returns the value with a ``breakdown`` of named parts (points; for Q the raw parts
may sum past the cap) and ``facts``: the counts behind the parts, used by the explanations and
never sent on the wire.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from leadstream.scoring.os_entity import (
    DOMAIN_FIELDS,
    INDUSTRY_FIELDS,
    LINKEDIN_FIELDS,
    SIZE_FIELDS,
    has_any,
    has_region_presence,
)
from leadstream.scoring.os_profiles import COMPONENTS, DEFAULT_PROFILE, profile_weights, resolve_profile
from leadstream.scoring.os_signals import Signal, is_recent, normalise_signals

MAX_SCORE = 100
GROWTH = re.compile(r"hiring|expansion|funding|growth", re.IGNORECASE)
HIRING = re.compile(r"hiring", re.IGNORECASE)
STRONG_CONFIDENCE = Fraction(7, 10)
MISSING_CONFIDENCE = Fraction(1, 2)
NO_SIGNALS_EVIDENCE = 20
MARKET_TIMING = 20  # fixed allowance until a market-timing source exists


@dataclass(frozen=True, slots=True)
class ComponentScore:
    value: int
    breakdown: dict[str, int]
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompositeScore:
    value: int
    breakdown: dict[str, float]  # each component's contribution, value x weight
    weights: dict[str, int]  # hundredths
    values: dict[str, int]  # the component values it was built from
    profile: str


def round_half_up(number: float | int | Decimal | Fraction) -> int:
    """Round to the nearest integer, halves away from zero (16.5 -> 17, 2.5 -> 3, -2.5 -> -3).

    Floats are taken as written (their shortest repr), so 2.675 rounds like the decimal 2.675.
    """
    if isinstance(number, int):
        return number
    if isinstance(number, Fraction):
        whole = math.floor(abs(number) + Fraction(1, 2))
        return whole if number >= 0 else -whole
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError(f"cannot round {number!r}")
        number = Decimal(repr(number))
    return int(number.to_integral_value(rounding=ROUND_HALF_UP))


def _signals(signals: Iterable[object] | None) -> list[Signal]:
    return normalise_signals(signals)


def q_score(
    entity: Mapping[str, Any], signals: Iterable[object] | None, now: datetime, region: str = "UAE"
) -> ComponentScore:
    """Quality: web presence, LinkedIn, growth signals, presence in the active region, recency."""
    sigs = _signals(signals)
    growth = any(GROWTH.search(s.type) or any(GROWTH.search(t) for t in s.tags) for s in sigs)
    recent = sum(is_recent(s.when, now) for s in sigs)
    recency = (10 if sigs else 0) + (5 if recent else 0)
    breakdown = {
        "domain": 25 if has_any(entity, DOMAIN_FIELDS) else 0,
        "linkedin": 20 if has_any(entity, LINKEDIN_FIELDS) else 0,
        "signals": 20 if growth else 0,
        "uae_presence": 25 if has_region_presence(entity, region) else 0,
        "recency": recency,
    }
    facts = {"signal_count": len(sigs), "recent_count": recent}
    return ComponentScore(min(MAX_SCORE, sum(breakdown.values())), breakdown, facts)


def t_score(signals: Iterable[object] | None, now: datetime) -> ComponentScore:
    """Timing: how many signals are recent, how many are confident, plus a fixed market allowance."""
    sigs = _signals(signals)
    recent = sum(is_recent(s.when, now) for s in sigs)
    strong = sum(s.confidence is not None and s.confidence >= STRONG_CONFIDENCE for s in sigs)
    breakdown = {
        "recency": 40 if recent >= 3 else 25 if recent >= 1 else 10,
        "signal_strength": 30 if strong >= 2 else 20 if strong >= 1 else 10,
        "market_timing": MARKET_TIMING,
    }
    facts = {"signal_count": len(sigs), "recent_count": recent, "strong_count": strong}
    return ComponentScore(sum(breakdown.values()), breakdown, facts)


def l_score(entity: Mapping[str, Any], signals: Iterable[object] | None, profile: str | None) -> ComponentScore:
    """Likelihood: company fit, reachability, hiring-driven timing, and whether a profile was chosen."""
    profile = resolve_profile(profile)
    sigs = _signals(signals)
    industry, size = has_any(entity, INDUSTRY_FIELDS), has_any(entity, SIZE_FIELDS)
    linkedin, domain = has_any(entity, LINKEDIN_FIELDS), has_any(entity, DOMAIN_FIELDS)
    hiring = any(HIRING.search(s.type) or HIRING.search(s.title) for s in sigs)
    breakdown = {
        "company_fit": 15 * industry + 15 * size,
        "engagement_potential": 15 * linkedin + 10 * domain,
        "timing_alignment": 25 if hiring else 15 if sigs else 0,
        "profile_match": 10 if profile == DEFAULT_PROFILE else 20,
    }
    facts = {
        "industry": industry,
        "size": size,
        "linkedin": linkedin,
        "domain": domain,
        "hiring": hiring,
        "signal_count": len(sigs),
        "profile": profile,
    }
    return ComponentScore(min(MAX_SCORE, sum(breakdown.values())), breakdown, facts)


def e_score(signals: Iterable[object] | None) -> ComponentScore:
    """Evidence: how many signals, how confident on average (missing counts 0.5), how many sources."""
    sigs = _signals(signals)
    if not sigs:
        breakdown = {"signal_count": 0, "avg_confidence": 0, "source_diversity": 0}
        facts = {"signal_count": 0, "source_count": 0, "mean_confidence": None, "missing_confidence": 0}
        return ComponentScore(NO_SIGNALS_EVIDENCE, breakdown, facts)
    confidences = [MISSING_CONFIDENCE if s.confidence is None else s.confidence for s in sigs]
    mean = sum(confidences, Fraction(0)) / len(confidences)
    sources = len({s.source for s in sigs})  # a missing source is one more distinct source
    breakdown = {
        "signal_count": min(40, 10 * len(sigs)),
        "avg_confidence": round_half_up(30 * mean),
        "source_diversity": min(30, 10 * sources),
    }
    facts = {
        "signal_count": len(sigs),
        "source_count": sources,
        "mean_confidence": mean,
        "missing_confidence": sum(s.confidence is None for s in sigs),
    }
    return ComponentScore(sum(breakdown.values()), breakdown, facts)


def composite_score(q_value: int, t_value: int, l_value: int, e_value: int, profile: str | None) -> CompositeScore:
    """``round_half_up(Σ value × weight)`` with the profile's weights, in exact integer arithmetic."""
    profile = resolve_profile(profile)
    weights = profile_weights(profile)
    values = dict(zip(COMPONENTS, (q_value, t_value, l_value, e_value), strict=True))
    hundredths = {c: values[c] * weights[c] for c in COMPONENTS}
    value = round_half_up(Fraction(sum(hundredths.values())) / 100)
    breakdown = {c: h / 100 for c, h in hundredths.items()}
    return CompositeScore(value, breakdown, weights, values, profile)
