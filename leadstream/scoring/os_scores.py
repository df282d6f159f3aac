"""Sales-OS scoring entry points (SPEC §3.5, §5.3, §5.4): pure, no I/O, no framework imports.

``score_entity`` returns the ``data`` object of the contract's ``/score`` response; the edge adds the
envelope. ``fallback_score_data`` is the VS6 fallback ``data``. The rules live in ``os_components``,
the labels in ``os_labels``, the sentences in ``os_explain``; this module composes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from leadstream.scoring.os_components import (
    ComponentScore,
    CompositeScore,
    composite_score,
    e_score,
    l_score,
    q_score,
    round_half_up,
    t_score,
)
from leadstream.scoring.os_entity import normalise_region
from leadstream.scoring.os_explain import explain_composite, explain_e, explain_l, explain_q, explain_t
from leadstream.scoring.os_labels import composite_grade, composite_tier, e_strength, l_tier, q_rating, t_category
from leadstream.scoring.os_profiles import PROFILES, UnknownProfile, profile_weights, resolve_profile
from leadstream.scoring.os_signals import Signal, normalise_signal, normalise_signals, parse_confidence, parse_date
from leadstream_client.fallbacks import FALLBACK_VALUE, fallback_score_data

SCORE_TYPES = ("q_score", "t_score", "l_score", "e_score", "composite")

__all__ = [
    "FALLBACK_VALUE",
    "PROFILES",
    "SCORE_TYPES",
    "ComponentScore",
    "CompositeScore",
    "Signal",
    "UnknownProfile",
    "UnknownScoreType",
    "composite_grade",
    "composite_score",
    "composite_tier",
    "e_score",
    "e_strength",
    "fallback_score_data",
    "l_score",
    "l_tier",
    "normalise_signal",
    "normalise_signals",
    "parse_confidence",
    "parse_date",
    "profile_weights",
    "q_rating",
    "q_score",
    "requested_scores",
    "resolve_profile",
    "round_half_up",
    "score_entity",
    "t_category",
    "t_score",
]


class UnknownScoreType(ValueError):
    """A ``score_types`` entry outside :data:`SCORE_TYPES`; the OS edge answers 400."""

    def __init__(self, unknown: list[object]) -> None:
        self.unknown = unknown
        super().__init__(f"Unknown score type(s): {unknown!r} (known: {', '.join(SCORE_TYPES)})")


def requested_scores(score_types: Iterable[str] | str | None) -> tuple[str, ...]:
    """The score objects to return, in contract order.

    None or empty means all five. ``composite`` needs all four components, so asking for it returns
    them too (as the reference does); components alone do not bring the composite.
    """
    if isinstance(score_types, str):
        score_types = [score_types]
    wanted = list(score_types or SCORE_TYPES)
    unknown = [t for t in wanted if t not in SCORE_TYPES]
    if unknown:
        raise UnknownScoreType(unknown)
    if "composite" in wanted:
        return SCORE_TYPES
    return tuple(t for t in SCORE_TYPES if t in wanted)


def _entity_id(entity: Mapping[str, Any], entity_id: object) -> object:
    if entity_id is not None:
        return entity_id
    return entity.get("entity_id", entity.get("id"))


def score_entity(
    entity: Mapping[str, Any],
    signals: Iterable[object] | None,
    profile: str | None,
    now: datetime,
    region: str = "UAE",
    *,
    score_types: Iterable[str] | str | None = None,
    include_breakdown: bool = True,
    include_explanation: bool = True,
    entity_id: object = None,
    entity_type: str = "company",
) -> dict[str, Any]:
    """Score one entity; the result is the contract's ``/score`` ``data`` object.

    Raises :class:`UnknownProfile` or :class:`UnknownScoreType` (both ``ValueError``) before scoring.
    ``entity_id`` defaults to the entity's own ``entity_id``/``id``.
    """
    profile = resolve_profile(profile)
    wanted = requested_scores(score_types)
    region = normalise_region(region)
    sigs = normalise_signals(signals)

    q = q_score(entity, sigs, now, region)
    t = t_score(sigs, now)
    lead = l_score(entity, sigs, profile)
    e = e_score(sigs)
    comp = composite_score(q.value, t.value, lead.value, e.value, profile)

    labels = {
        "q_score": {"rating": q_rating(q.value)},
        "t_score": {"category": t_category(t.value)},
        "l_score": {"tier": l_tier(lead.value)},
        "e_score": {"strength": e_strength(e.value)},
        "composite": {"tier": composite_tier(comp.value), "grade": composite_grade(comp.value)},
    }
    parts: dict[str, ComponentScore | CompositeScore] = {
        "q_score": q,
        "t_score": t,
        "l_score": lead,
        "e_score": e,
        "composite": comp,
    }
    scores: dict[str, dict[str, Any]] = {}
    for name in wanted:
        body: dict[str, Any] = {"value": parts[name].value, **labels[name]}
        if include_breakdown:
            body["breakdown"] = dict(parts[name].breakdown)
        scores[name] = body

    data: dict[str, Any] = {
        "entity_id": _entity_id(entity, entity_id),
        "entity_type": entity_type,
        "scores": scores,
    }
    if include_explanation:
        sentences = {
            "q_score": explain_q(q, labels["q_score"]["rating"], region),
            "t_score": explain_t(t, labels["t_score"]["category"]),
            "l_score": explain_l(lead, labels["l_score"]["tier"]),
            "e_score": explain_e(e, labels["e_score"]["strength"]),
            "composite": explain_composite(comp, labels["composite"]["tier"], labels["composite"]["grade"]),
        }
        data["explanations"] = {name: sentences[name] for name in wanted}
    data["scoring_profile"] = profile
    return data
