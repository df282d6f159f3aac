"""Event lead score (SPEC §3.1): computed from one event alone, so the edge stays stateless."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

MAX_SCORE = 100
SCROLL_ACTIONS = frozenset({"scroll", "scroll_depth"})


def is_valid_click_id(value: object) -> bool:
    """A click id counts when it is a string of at least 10 chars with no template braces.

    Trackers on misconfigured sites send literal ``{gclid}`` placeholders; those are not ids.
    """
    return isinstance(value, str) and len(value) >= 10 and "{" not in value and "}" not in value


@lru_cache(maxsize=4096)  # referrers repeat (browsers send the origin only), and parsing one is ~3 µs
def _is_google_referrer(referrer: str | None) -> bool:
    if not referrer:
        return False
    try:
        host = urlsplit(referrer).hostname or ""
    except ValueError:
        return False
    return "google." in host


def event_lead_score(
    *,
    category: str,
    action: str,
    value: float | None = None,
    referrer: str | None = None,
    click_ids: Iterable[object] = (),
) -> int:
    """Score one event 0..100. Categories are never rewritten because a click id is present."""
    if action == "heartbeat":
        return 0
    score = 0
    if category == "conversion":
        score += 50
    elif category == "interaction":
        score += 10
    if action in SCROLL_ACTIONS and value is not None:
        if value >= 50:
            score += 10
        if value >= 90:
            score += 20
    if action == "hover_intent":
        score += 15
    if _is_google_referrer(referrer):
        score += 5
    if any(is_valid_click_id(c) for c in click_ids):
        score += 25
    return min(score, MAX_SCORE)
