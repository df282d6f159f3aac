"""Scoring profiles and their composite weights (SPEC §3.5).

Weights are integers in hundredths so that the weighted sum is exact and half-up rounding of the
composite can never be flipped by float error.
"""

from __future__ import annotations

from types import MappingProxyType

DEFAULT_PROFILE = "default"
COMPONENTS = ("q_score", "t_score", "l_score", "e_score")

# profile -> (q, t, l, e) in hundredths; each row sums to 100.
_WEIGHTS = {
    "default": (30, 25, 25, 20),
    "banking_employee": (25, 30, 25, 20),
    "banking_corporate": (35, 20, 25, 20),
    "banking_sme": (30, 30, 25, 15),
    "insurance_individual": (20, 35, 30, 15),
    "recruitment_hiring": (20, 40, 20, 20),
    "saas_b2b": (30, 25, 30, 15),
}
PROFILE_WEIGHTS = MappingProxyType({p: dict(zip(COMPONENTS, w, strict=True)) for p, w in _WEIGHTS.items()})
PROFILES = tuple(_WEIGHTS)


class UnknownProfile(ValueError):
    """A scoring profile not in the table; the OS edge answers 400."""

    def __init__(self, profile: object) -> None:
        self.profile = profile
        super().__init__(f"Unknown scoring profile: {profile!r} (known: {', '.join(PROFILES)})")


def resolve_profile(profile: str | None) -> str:
    """Canonical profile name: None or blank -> ``default``; case and surrounding space ignored."""
    if profile is None:
        return DEFAULT_PROFILE
    if not isinstance(profile, str):
        raise UnknownProfile(profile)
    name = profile.strip().casefold() or DEFAULT_PROFILE
    if name not in _WEIGHTS:
        raise UnknownProfile(profile)
    return name


def profile_weights(profile: str | None) -> dict[str, int]:
    """``{"q_score": 30, ...}`` in hundredths for a profile; raises :class:`UnknownProfile`."""
    return dict(PROFILE_WEIGHTS[resolve_profile(profile)])
