"""Call -> session matching (SPEC §3.3) and the bounded per-(site, fingerprint) session list.

Eligibility of a session for a call at time ``at``:
- same site (never another site) and same, non-empty fingerprint;
- last activity at or after ``at - 14 days`` (the edge is inclusive). Activity after the call
  has no upper bound: the session may have gone on while the call waited to be processed;
- started no later than ``at + MAX_START_AFTER_CALL``. A session can look as if it started a
  little after the call (the tracker flushed its batch after the call-event, or both arrived at
  the same moment on different edge processes), and it must still match. A session that started
  long after the call (a call replayed from a backlog) is another visit and must not.

Any object with the ``MatchCandidate`` attributes works: ``SessionSummary`` or ``SessionState``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

MATCH_WINDOW = timedelta(days=14)
MAX_START_AFTER_CALL = timedelta(minutes=5)
RECENT_SESSIONS_LIMIT = 50


class MatchCandidate(Protocol):
    @property
    def site_id(self) -> str: ...
    @property
    def session_id(self) -> UUID | str: ...
    @property
    def fingerprint(self) -> str | None: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def has_click_id(self) -> bool: ...


C = TypeVar("C", bound=MatchCandidate)


class SessionSummary(BaseModel):
    """What the matcher needs to know about a session."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    site_id: str
    session_id: str
    fingerprint: str | None
    first_seen: datetime
    last_seen: datetime
    has_click_id: bool = False


def is_eligible(
    session: MatchCandidate,
    *,
    site_id: str,
    fingerprint: str,
    at: datetime,
    window: timedelta = MATCH_WINDOW,
    max_start_after_call: timedelta = MAX_START_AFTER_CALL,
) -> bool:
    return (
        bool(fingerprint)
        and session.site_id == site_id
        and session.fingerprint == fingerprint
        and session.last_seen >= at - window
        and session.first_seen <= at + max_start_after_call
    )


def rank_candidates(
    sessions: Iterable[C],
    *,
    site_id: str,
    fingerprint: str,
    at: datetime,
    window: timedelta = MATCH_WINDOW,
    max_start_after_call: timedelta = MAX_START_AFTER_CALL,
) -> list[C]:
    """Eligible sessions, best first.

    Click-id sessions first, the one whose start is closest to the call leading; then the rest,
    most recently active first; ties by session id descending.
    """
    eligible = [
        s
        for s in sessions
        if is_eligible(
            s, site_id=site_id, fingerprint=fingerprint, at=at, window=window, max_start_after_call=max_start_after_call
        )
    ]
    # Sorts are stable: order by the final tie-break first, then by the main key.
    eligible.sort(key=lambda s: str(s.session_id), reverse=True)
    clicked = sorted((s for s in eligible if s.has_click_id), key=lambda s: abs(s.first_seen - at))
    others = sorted((s for s in eligible if not s.has_click_id), key=lambda s: s.last_seen, reverse=True)
    return clicked + others


def best_match(
    sessions: Iterable[C],
    *,
    site_id: str,
    fingerprint: str,
    at: datetime,
    window: timedelta = MATCH_WINDOW,
    max_start_after_call: timedelta = MAX_START_AFTER_CALL,
) -> C | None:
    ranked = rank_candidates(
        sessions,
        site_id=site_id,
        fingerprint=fingerprint,
        at=at,
        window=window,
        max_start_after_call=max_start_after_call,
    )
    return ranked[0] if ranked else None


def remember_session(recent: Sequence[C], session: C, *, limit: int = RECENT_SESSIONS_LIMIT) -> list[C]:
    """Merge ``session`` into a (site, fingerprint)'s recent list: most recently active first, at most ``limit``.

    An existing entry for the same session id is replaced, unless it is newer (a re-delivered
    older update, with an earlier last_seen, is ignored). Equal last_seen replaces: an
    out-of-order earlier event changes counts and first_seen but not last_seen.
    """
    session_id = str(session.session_id)
    kept: list[C] = []
    for entry in recent:
        if str(entry.session_id) != session_id:
            kept.append(entry)
        elif entry.last_seen > session.last_seen:
            return _bounded(list(recent), limit)
    kept.append(session)
    return _bounded(kept, limit)


def _bounded(entries: list[C], limit: int) -> list[C]:
    entries.sort(key=lambda s: str(s.session_id), reverse=True)
    entries.sort(key=lambda s: s.last_seen, reverse=True)
    return entries[:limit]
