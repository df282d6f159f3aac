"""Template explanations for the sales-OS scores (SPEC §5.3): one deterministic sentence per score,
naming its main drivers, built from the breakdown and the counts behind it."""

from __future__ import annotations

from leadstream.scoring.os_components import ComponentScore, CompositeScore, round_half_up
from leadstream.scoring.os_signals import RECENT_DAYS

COMPONENT_NAMES = {"q_score": "quality", "t_score": "timing", "l_score": "likelihood", "e_score": "evidence"}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _by_weight(parts: dict[str, int], phrases: dict[str, str]) -> list[str]:
    """Phrases of the parts that scored, biggest first (ties keep breakdown order)."""
    scored = [name for name in parts if parts[name] > 0 and name in phrases]
    return [phrases[name] for name in sorted(scored, key=lambda name: -parts[name])]


def _decimal(hundredths: int) -> str:
    """21.6 not 21.60, exactly, from an integer count of hundredths."""
    whole, frac = divmod(hundredths, 100)
    return f"{whole}.{frac:02d}".rstrip("0").rstrip(".")


def explain_q(score: ComponentScore, rating: str, region: str = "UAE") -> str:
    parts = score.breakdown
    phrases = {
        "domain": "a web domain",
        "linkedin": "a LinkedIn profile",
        "signals": "growth signals",
        "uae_presence": f"presence in {region}",
        "recency": "recent signals" if parts["recency"] > 10 else "signals on record",
    }
    drivers = _by_weight(parts, phrases)
    if not drivers:
        return f"Quality {rating} ({score.value}/100): no domain, LinkedIn profile, signals or {region} presence found."
    return f"Quality {rating} ({score.value}/100), driven by {_join(drivers)}."


def explain_t(score: ComponentScore, category: str) -> str:
    recent, strong = score.facts["recent_count"], score.facts["strong_count"]
    return (
        f"Timing {category} ({score.value}/100): {_n(recent, 'signal')} dated within {RECENT_DAYS} days "
        f"and {_n(strong, 'high-confidence signal')}, plus {score.breakdown['market_timing']} for market timing."
    )


def explain_l(score: ComponentScore, tier: str) -> str:
    f = score.facts
    fit = [name for name, known in (("industry", f["industry"]), ("size", f["size"])) if known]
    reach = [name for name, known in (("LinkedIn", f["linkedin"]), ("a web domain", f["domain"])) if known]
    phrases = {
        "company_fit": f"known {' and '.join(fit)}",
        "engagement_potential": f"reachable via {' and '.join(reach)}",
        "timing_alignment": "a hiring signal" if f["hiring"] else "signals on record",
        "profile_match": f"the {f['profile']} profile",
    }
    return f"Likelihood {tier} ({score.value}/100), driven by {_join(_by_weight(score.breakdown, phrases))}."


def explain_e(score: ComponentScore, strength: str) -> str:
    f = score.facts
    if not f["signal_count"]:
        return f"Evidence {strength} ({score.value}/100): no signals, so the base score applies."
    mean = round_half_up(f["mean_confidence"] * 100)  # hundredths, rounded half up like everything else
    missing = f" ({f['missing_confidence']} without confidence, counted as 0.5)" if f["missing_confidence"] else ""
    return (
        f"Evidence {strength} ({score.value}/100): {_n(f['signal_count'], 'signal')} from "
        f"{_n(f['source_count'], 'source')} with average confidence {mean // 100}.{mean % 100:02d}{missing}."
    )


def explain_composite(score: CompositeScore, tier: str, grade: str) -> str:
    hundredths = {c: score.values[c] * score.weights[c] for c in score.values}
    top = sorted(hundredths, key=lambda c: -hundredths[c])[:2]
    drivers = [f"{COMPONENT_NAMES[c]} ({_decimal(hundredths[c])})" for c in top]
    return (
        f"Composite {score.value}/100 ({tier}, grade {grade}) with {score.profile} weights; "
        f"largest contributions from {_join(drivers)}."
    )
