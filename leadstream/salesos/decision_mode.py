"""Decision Mode (``POST /api/os/intelligence/session``): one company to call first, and a short list: pure.

Given the leads the SaaS shows (the companies discovery returned) and what leadstream knows of them (the
tenant's company record and signals), each lead is scored by leadstream's own rules (``score_entity``
under the sales context's profile), moved by the user's feedback (:mod:`leadstream.salesos.preferences`,
bounded), and ordered by that score (ties: the unadjusted score, then the company id). The first
:data:`SHORTLIST_SIZE` make the shortlist; the first of those is the primary recommendation, with:

* ``why_now`` (at most 3): its newest signal read as hiring ("Hiring velocity spike"), expansion or an
  office opening ("Active expansion in your territory"), funding ("Fresh capital = budget for banking
  solutions") or else its title; 500+ employees ("Payroll-scale headcount (500+ employees)") or 100+
  ("Growing team (<n> employees)"); a tech industry ("Tech sector = digital-first banking fit"); and,
  when that makes fewer than two, "High opportunity score (<score>)" (the reference's wording);
* ``score_drivers`` (at most 3, ``{driver, detail, impact}``): the signals, the company's scale, the score
  part that contributes most to its composite, and the feedback adjustment when there is one;
* ``confidence`` = min(0.95, score / 100); ``next_action`` by sub-vertical.

Same leads, same records, same feedback: same answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadstream.salesos.preferences import Preferences
from leadstream.salesos.stages import domain_key
from leadstream.scoring.os_labels import composite_tier
from leadstream.scoring.os_scores import score_entity
from leadstream.scoring.os_signals import normalise_signal

SHORTLIST_SIZE = 5
MAX_REASONS = 3
MAX_DRIVERS = 3
MAX_CONFIDENCE = 0.95
SHOWN_SIGNALS = 5
_COMPONENT_NAMES = {"q_score": "quality", "t_score": "timing", "l_score": "likelihood", "e_score": "evidence"}
NEXT_ACTIONS = {
    "employee_banking": "Find HR decision-maker at {name}",
    "corporate_banking": "Find the CFO or treasury head at {name}",
    "sme_banking": "Find the owner or finance manager at {name}",
}
_NUMBER = re.compile(r"\d[\d,]*")
HEADCOUNT_FIELDS = ("headcount", "employee_count", "employees", "estimated_num_employees", "size", "size_range")


def lead_key(lead: Mapping[str, Any]) -> str | None:
    """A lead's company id: ``company_id``, else ``id`` (discovery's), else its domain, else its name."""
    for value in (lead.get("company_id"), lead.get("id")):
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    domain = domain_key(lead.get("domain"))
    if domain:
        return domain
    name = lead.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def headcount(entity: Mapping[str, Any]) -> int | None:
    """Employees, from the first field that holds a number (``"51-200"`` reads as its lower bound)."""
    for field in HEADCOUNT_FIELDS:
        value = entity.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return int(value)
        if isinstance(value, str) and (found := _NUMBER.search(value)):
            return int(found.group().replace(",", ""))
    return None


def size_bucket(entity: Mapping[str, Any]) -> str | None:
    given = entity.get("size_bucket")
    if isinstance(given, str) and given.strip():
        return given.strip()
    n = headcount(entity)
    if n is None:
        return None
    return "small" if n < 50 else "medium" if n < 250 else "large" if n < 1000 else "enterprise"


def _signal(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A lead's signal as scoring reads it: a 0..100 confidence (live discovery's) becomes 0..1."""
    signal = dict(raw)
    confidence = signal.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool) and 1 < confidence <= 100:
        signal["confidence"] = confidence / 100
    if not signal.get("evidence") and isinstance(signal.get("title"), str):
        signal["evidence"] = signal["title"]
    return signal


def _signal_key(signal: Mapping[str, Any]) -> tuple[str, str, str]:
    kind = str(signal.get("type") or signal.get("signal_type") or "").casefold()
    text = str(signal.get("evidence") or signal.get("title") or "").casefold()
    return kind, text, str(signal.get("date") or "")


def merged_signals(lead: Mapping[str, Any], stored: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The lead's own signals and the stored ones, each once, newest first (undated last)."""
    own = lead.get("signals")
    found = [_signal(s) for s in (own if isinstance(own, list) else []) if isinstance(s, Mapping)]
    found += [_signal(s) for s in stored]
    unique = list({_signal_key(s): s for s in reversed(found)}.values())[::-1]  # first copy wins

    def newest(signal: Mapping[str, Any]) -> tuple[bool, int]:
        when = normalise_signal(signal).when
        if when is None:
            return (True, 0)
        return (False, -(when.date() if isinstance(when, datetime) else when).toordinal())

    return sorted(unique, key=newest)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def why_now(signals: Sequence[Mapping[str, Any]], employees: int | None, industry: object, score: int) -> list[str]:
    reasons = []
    if signals:
        kind = _text(signals[0].get("type") or signals[0].get("signal_type")).casefold()
        title = _text(signals[0].get("title") or signals[0].get("evidence"))
        both = f"{kind} {title.casefold()}"
        if "hiring" in both:
            reasons.append("Hiring velocity spike")
        elif "expansion" in both or "office" in kind:
            reasons.append("Active expansion in your territory")
        elif "funding" in both:
            reasons.append("Fresh capital = budget for banking solutions")
        elif title or kind:
            reasons.append((title or kind)[:120])
    if employees is not None and employees >= 500:
        reasons.append("Payroll-scale headcount (500+ employees)")
    elif employees is not None and employees >= 100:
        reasons.append(f"Growing team ({employees} employees)")
    if "tech" in _text(industry).casefold():
        reasons.append("Tech sector = digital-first banking fit")
    if len(reasons) < 2:
        reasons.append(f"High opportunity score ({score})")
    return reasons[:MAX_REASONS]


def _impact(points: float, high: float, medium: float) -> str:
    return "high" if points >= high else "medium" if points >= medium else "low"


def score_drivers(
    signals: Sequence[Mapping[str, Any]],
    employees: int | None,
    scored: Mapping[str, Any],
    adjustment: int,
    reasons: Sequence[str],
) -> list[dict[str, Any]]:
    drivers: list[dict[str, Any]] = []
    if len(signals) >= 3:
        sources = {str(s.get("source") or "").casefold() for s in signals}
        detail = f"{len(signals)} signals from {len(sources)} source{'s' if len(sources) != 1 else ''}"
        drivers.append({"driver": "Multiple growth signals", "detail": detail, "impact": "high"})
    elif signals:
        first = signals[0]
        name = _text(first.get("title") or first.get("evidence")) or _text(first.get("type")) or "Signal"
        drivers.append(
            {"driver": name[:120], "detail": f"Source: {_text(first.get('source')) or 'unknown'}", "impact": "medium"}
        )
    if employees is not None and employees >= 500:
        drivers.append({"driver": "Enterprise scale", "detail": f"{employees} employees", "impact": "high"})
    elif employees is not None and employees >= 100:
        drivers.append({"driver": "Growth-stage company", "detail": f"{employees} employees", "impact": "medium"})
    parts = scored["scores"]["composite"].get("breakdown") or {}
    if parts:
        key = max(_COMPONENT_NAMES, key=lambda k: (parts.get(k, 0), -list(_COMPONENT_NAMES).index(k)))
        detail = scored.get("explanations", {}).get(key) or f"{parts[key]} points of the composite score"
        drivers.append(
            {"driver": f"Strong {_COMPONENT_NAMES[key]} score", "detail": detail, "impact": _impact(parts[key], 20, 12)}
        )
    if not adjustment:
        return drivers[:MAX_DRIVERS]
    personal = {
        "driver": "Matches your feedback" if adjustment > 0 else "Unlike the companies you preferred",
        "detail": f"{'; '.join(reasons)} ({adjustment:+d} points)",
        "impact": _impact(abs(adjustment), 10, 5),
        "personalized": True,
    }
    return [*drivers[: MAX_DRIVERS - 1], personal]


@dataclass(frozen=True, slots=True)
class Candidate:
    key: str
    lead: Mapping[str, Any]
    entity: Mapping[str, Any]
    signals: list[dict[str, Any]]
    scored: Mapping[str, Any]
    base: int
    adjustment: int
    reasons: list[str]

    @property
    def score(self) -> int:
        return max(0, min(100, self.base + self.adjustment))


def _entity(lead: Mapping[str, Any], known: Mapping[str, Any] | None) -> dict[str, Any]:
    """The lead's fields over the stored record's: the SaaS shows the lead as it was found."""
    given = {k: v for k, v in lead.items() if k != "signals" and v not in (None, "", [], {})}
    return {**{k: v for k, v in (known or {}).items() if v not in (None, "")}, **given}


def candidates(
    leads: Sequence[Mapping[str, Any]],
    known: Mapping[str, Mapping[str, Any]],
    stored_signals: Mapping[str, Sequence[Mapping[str, Any]]],
    preferences: Preferences,
    profile: str,
    region: str,
    now: datetime,
) -> list[Candidate]:
    """Every lead once (first by company id), scored and adjusted, best first. ``known`` maps company ids
    and domains to the tenant's records; ``stored_signals`` maps company ids to their signals."""
    seen: set[str] = set()
    out = []
    for lead in leads:
        key = lead_key(lead)
        if key is None or key in seen:
            continue
        seen.add(key)
        record = known.get(key) or known.get(domain_key(lead.get("domain")) or "")
        record_id = str(record.get("company_id")) if record else key
        entity = _entity(lead, record)
        signals = merged_signals(lead, stored_signals.get(record_id, []))
        scored = score_entity(entity, signals, profile, now, region, entity_id=key)
        base = int(scored["scores"]["composite"]["value"])
        adjustment, reasons = preferences.adjustment(key, entity.get("industry"))
        out.append(Candidate(key, lead, entity, signals, scored, base, adjustment, reasons))
    out.sort(key=lambda c: (-c.score, -c.base, c.key))
    return out


def _place(entity: Mapping[str, Any]) -> str | None:
    """Its city, else its location, as text (a list or object of places is not a city)."""
    for field in ("city", "location"):
        if text := _text(entity.get(field)):
            return text[:256]
    return None


def _shortlisted(c: Candidate, rank: int) -> dict[str, Any]:
    e = c.entity
    return {
        "rank": rank,
        "company_id": c.key,
        "id": c.lead.get("id", c.key),
        "name": _text(e.get("name")) or None,
        "industry": _text(e.get("industry")) or None,
        "domain": domain_key(e.get("domain")),
        "city": _place(e),
        "headcount": headcount(e),
        "size_bucket": size_bucket(e),
        "score": c.score,
        "base_score": c.base,
        "preference_boost": c.adjustment,
        "preference_boosted": c.adjustment != 0,
        "tier": composite_tier(c.score),
        "signals": [
            {"type": s.get("type") or s.get("signal_type"), "title": s.get("title") or s.get("evidence"),
             "source": s.get("source"), "date": s.get("date")}
            for s in c.signals[:SHOWN_SIGNALS]
        ],
    }  # fmt: skip


def recommendation(c: Candidate, sub_vertical: str) -> dict[str, Any]:
    name = _text(c.entity.get("name")) or c.key
    employees = headcount(c.entity)
    return {
        "company": name,
        "company_id": c.key,
        "industry": _text(c.entity.get("industry")) or None,
        "domain": domain_key(c.entity.get("domain")),
        "score": c.score,
        "base_score": c.base,
        "tier": composite_tier(c.score),
        "why_now": why_now(c.signals, employees, c.entity.get("industry"), c.score),
        "confidence": round(min(MAX_CONFIDENCE, c.score / 100), 2),
        "next_action": NEXT_ACTIONS.get(sub_vertical, NEXT_ACTIONS["employee_banking"]).format(name=name),
        "score_drivers": score_drivers(c.signals, employees, c.scored, c.adjustment, c.reasons),
    }


def decide(ranked: Sequence[Candidate], sub_vertical: str, profile: str) -> dict[str, Any]:
    """The session's answer (without its id) from the ranked candidates."""
    shortlist = [_shortlisted(c, i) for i, c in enumerate(ranked[:SHORTLIST_SIZE], start=1)]
    total = len(ranked)
    collapsed = total - len(shortlist)
    return {
        "primary_recommendation": recommendation(ranked[0], sub_vertical) if ranked else None,
        "shortlist": shortlist,
        "total_available": total,
        "collapsed_count": collapsed,
        "collapsed_message": f"{collapsed} more {'company' if collapsed == 1 else 'companies'} ranked below these"
        if collapsed
        else None,
        "has_more": collapsed > 0,
        "stats": {"shown": len(shortlist), "total": total, "collapsed": collapsed},
        "config": {"decision_mode": True, "shortlist_size": SHORTLIST_SIZE, "preference_learning": True,
                   "profile": profile},
    }  # fmt: skip
