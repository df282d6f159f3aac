"""Invalid requests cost their sender: each tracking request answered 400, 401, 404 or 413 counts
against its client IP's own per-minute budget (``LEADSTREAM_RATE_INVALID_PER_MIN``), and past it
every tracking request from that IP is answered 429 until the window turns, before its body is
read. Malformed bodies, unknown sites, bad signatures and oversized bodies are what probing and
flooding look like; a working tracker sends almost none."""

from __future__ import annotations

from leadstream.ingest.ratelimit import Decision, RateLimiter

COUNTED = frozenset({400, 401, 404, 413})
SCOPE = "invalid"


def refused(limiter: RateLimiter, client_key: str, budget: int) -> Decision | None:
    """The 429 verdict when this client has spent its budget, else None."""
    decision = limiter.spent(SCOPE, client_key, budget)
    return None if decision.allowed else decision


def count(limiter: RateLimiter, client_key: str, budget: int, status: int) -> None:
    if status in COUNTED:
        limiter.hit(SCOPE, client_key, budget)
