"""What a user's feedback on Decision Mode companies does to their next shortlists: pure, no I/O.

Feedback (``POST /api/os/intelligence/feedback``) is kept for good (Kafka topic, warehouse table);
the last :data:`WINDOW_DAYS` days of a user's feedback move that user's later shortlists:

* each action weighs :data:`ACTION_WEIGHTS` (LIKE +3, SAVE +5, DISLIKE -2, DISMISS -3, the reference's);
* a lead's **industry points** are 2 x the summed weights of the feedback on companies of the same
  industry (as :func:`~leadstream.salesos.enrich_lookup.normalise_industry` reads it), capped at
  +-:data:`INDUSTRY_CAP`;
* its **company points** are 2 x the summed weights of the feedback on that very company, capped at
  +-:data:`COMPANY_CAP`;
* the lead's score moves by their sum, capped at +-:data:`MAX_ADJUSTMENT` and kept within 0..100.

So no amount of feedback moves a company more than 15 points, and a company never leaves the list:
it moves up or down it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadstream.salesos.enrich_lookup import normalise_industry

ACTION_WEIGHTS: Mapping[str, int] = {"LIKE": 3, "SAVE": 5, "DISLIKE": -2, "DISMISS": -3}
ACTIONS = tuple(ACTION_WEIGHTS)
WINDOW_DAYS = 90
POINTS_PER_WEIGHT = 2
INDUSTRY_CAP = 10
COMPANY_CAP = 10
MAX_ADJUSTMENT = 15


class UnknownAction(ValueError):
    def __init__(self, action: object) -> None:
        super().__init__(f"Invalid action: must be one of {', '.join(ACTIONS)}")


def normalise_action(action: object) -> str:
    """``like`` -> ``LIKE``; anything not in :data:`ACTIONS` raises :class:`UnknownAction`."""
    name = action.strip().upper() if isinstance(action, str) else ""
    if name not in ACTION_WEIGHTS:
        raise UnknownAction(action)
    return name


def _clamp(value: int, cap: int) -> int:
    return max(-cap, min(cap, value))


@dataclass(frozen=True, slots=True)
class Feedback:
    """One remembered action: on which company, of which industry."""

    company_id: str
    action: str
    industry: str | None

    @property
    def weight(self) -> int:
        return ACTION_WEIGHTS.get(self.action, 0)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Feedback:
        return cls(
            str(row.get("company_id") or ""), str(row.get("action") or ""), normalise_industry(row.get("industry"))
        )


@dataclass(frozen=True, slots=True)
class Preferences:
    """A user's summed feedback weights per industry and per company."""

    industries: Mapping[str, int]
    companies: Mapping[str, int]

    @classmethod
    def of(cls, feedback: Iterable[Feedback]) -> Preferences:
        industries: dict[str, int] = {}
        companies: dict[str, int] = {}
        for f in feedback:
            if f.industry:
                industries[f.industry] = industries.get(f.industry, 0) + f.weight
            companies[f.company_id] = companies.get(f.company_id, 0) + f.weight
        return cls(industries, companies)

    def industry_points(self, industry: object) -> int:
        name = normalise_industry(industry)
        return _clamp(POINTS_PER_WEIGHT * self.industries.get(name, 0), INDUSTRY_CAP) if name else 0

    def company_points(self, company_id: str) -> int:
        return _clamp(POINTS_PER_WEIGHT * self.companies.get(company_id, 0), COMPANY_CAP)

    def adjustment(self, company_id: str, industry: object) -> tuple[int, list[str]]:
        """Points to add to a lead's score, and why (one phrase per part that is not zero)."""
        by_industry = self.industry_points(industry)
        by_company = self.company_points(company_id)
        reasons = []
        if by_industry:
            reasons.append(f"{by_industry:+d} for {normalise_industry(industry)}, from your feedback on its companies")
        if by_company:
            reasons.append(f"{by_company:+d} from your feedback on this company")
        return _clamp(by_industry + by_company, MAX_ADJUSTMENT), reasons


def what_changed(earlier: Iterable[Feedback], new: Feedback, company_name: str | None) -> dict[str, Any]:
    """How one more action moves the user's next shortlists: industry and company points before and after."""
    earlier = list(earlier)
    before, after = Preferences.of(earlier), Preferences.of([*earlier, new])
    name = company_name or new.company_id
    company = {
        "company_id": new.company_id,
        "points_before": before.company_points(new.company_id),
        "points_after": after.company_points(new.company_id),
    }
    industry = None
    parts = [f"{name} now moves {company['points_after']:+d} points in your next shortlists"]
    if new.industry:
        industry = {
            "industry": new.industry,
            "points_before": before.industry_points(new.industry),
            "points_after": after.industry_points(new.industry),
        }
        parts.append(f"{new.industry} companies {industry['points_after']:+d}")
    return {
        "summary": "; ".join(parts) + f" (each capped; at most {MAX_ADJUSTMENT} points in all).",
        "company": company,
        "industry": industry,
        "applies_to": "next_shortlist",
        "window_days": WINDOW_DAYS,
    }
