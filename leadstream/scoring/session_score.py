"""Session state and session score (SPEC §3.2, §4): what the session scorer keeps per session.

``apply_event`` folds one tracking event into the state. Events of a session may arrive slightly
out of order, so every field is defined so that order matters as little as possible: first_seen
is a minimum, last_seen a maximum, first-touch attribution comes from the earliest event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from leadstream.enrichment.campaign import campaign_from, referrer_host
from leadstream.enrichment.device import describe
from leadstream.scoring.event_score import is_valid_click_id

CLICK_ID_KEYS = ("gclid", "wbraid", "gbraid")
HEARTBEAT = "heartbeat"

CONVERSION_POINTS = 20
INTERACTION_POINTS = 5
BONUS_CAP = 40
MAX_SCORE = 100

NO_CLICK_ID_PENALTY = 25
FAST_PENALTY = 20
SINGLE_EVENT_PENALTY = 10
FAST_SESSION = timedelta(seconds=30)
SUSPICIOUS_AGE = timedelta(seconds=120)
MIN_CONFIDENCE = 50

CallStatus = Literal["intent", "suspicious"]


class SessionEvent(Protocol):
    """The fields of a tracking event the scorer reads; ``EventRecord`` satisfies it."""

    @property
    def site_id(self) -> str: ...
    @property
    def session_id(self) -> UUID | str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def url(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def referrer(self) -> str | None: ...
    @property
    def fingerprint(self) -> str | None: ...
    @property
    def click_ids(self) -> Mapping[str, str]: ...
    @property
    def duration_sec(self) -> float | None: ...
    @property
    def meta(self) -> Mapping[str, str]: ...
    @property
    def score(self) -> int: ...
    @property
    def user_agent(self) -> str | None: ...
    @property
    def consent_scopes(self) -> list[str] | None: ...


@dataclass(slots=True, eq=True)
class SessionState:
    """Per-session state as plain data: ``apply_event`` updates it in place (a pydantic model
    copied per event was a third of the scorer's work). ``to_dict`` copies, so a table entry
    never changes under a state that goes on."""

    site_id: str
    session_id: str
    first_seen: datetime
    last_seen: datetime
    fingerprint: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # per category; heartbeats not counted
    heartbeats: int = 0
    highest_event_score: int = 0
    click_ids: dict[str, str] = field(default_factory=dict)
    source: str = "direct"
    medium: str = "(none)"
    duration_sec: float = 0.0
    # Device and browser of the first event with a user agent; a bot once seen, a bot for good.
    device_type: str = ""
    os: str = ""
    os_version: str = ""
    browser: str = ""
    browser_version: str = ""
    is_bot: bool = False
    referrer_host: str = ""  # of the landing (the earliest event)
    campaign: dict[str, str] = field(default_factory=dict)  # first event that carries any (enrichment.campaign)
    consent_scopes: list[str] | None = None  # the latest an event carried

    @property
    def event_count(self) -> int:
        """Scored events: everything except heartbeats."""
        return sum(self.counts.values())

    @property
    def events_total(self) -> int:
        return self.event_count + self.heartbeats

    @property
    def has_click_id(self) -> bool:
        return bool(self.click_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (datetimes as ISO 8601 strings) for a table entry or a Kafka record."""
        out = {name: getattr(self, name) for name in _FIELDS}
        out["first_seen"] = _iso(self.first_seen)
        out["last_seen"] = _iso(self.last_seen)
        for name in _CONTAINERS:
            value = out[name]
            if value is not None:
                out[name] = value.copy()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionState:
        """Read a ``to_dict`` (unknown keys ignored, missing ones defaulted); ValueError if broken."""
        try:
            known = {name: data[name] for name in _FIELDS if name in data}
            known["first_seen"] = _datetime(known["first_seen"])
            known["last_seen"] = _datetime(known["last_seen"])
            if not isinstance(known["site_id"], str) or not isinstance(known["session_id"], str):
                raise TypeError("site_id and session_id must be strings")
            for name in _CONTAINERS:
                if known.get(name) is not None:
                    known[name] = known[name].copy()
            return cls(**known)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a session state: {exc!r}") from exc


_FIELDS = tuple(f.name for f in fields(SessionState))
_CONTAINERS = ("counts", "click_ids", "campaign", "consent_scopes")


def _iso(at: datetime) -> str:
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text  # UTC as "Z", as pydantic writes it


def _datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"not a time: {value!r}")


def apply_event(state: SessionState | None, event: SessionEvent) -> SessionState:
    """Fold one (already de-duplicated) event into the session state, in place; returns it
    (a new state for a session's first event)."""
    at = event.received_at
    session_id = str(event.session_id)
    if state is None:
        state = SessionState(site_id=event.site_id, session_id=session_id, first_seen=at, last_seen=at)
        earliest = True
    else:
        if state.site_id != event.site_id or state.session_id != session_id:
            raise ValueError(f"event of {event.site_id}/{session_id} applied to {state.site_id}/{state.session_id}")
        earliest = at < state.first_seen
    latest = at >= state.last_seen

    if event.action == HEARTBEAT:
        state.heartbeats += 1
    else:
        counts = state.counts
        counts[event.category] = counts.get(event.category, 0) + 1
        if event.score > state.highest_event_score:
            state.highest_event_score = event.score

    event_click_ids = event.click_ids
    if event_click_ids:
        click_ids = state.click_ids
        for key in CLICK_ID_KEYS:
            value = event_click_ids.get(key)
            if key not in click_ids and value is not None and is_valid_click_id(value):
                click_ids[key] = value

    if earliest:
        state.first_seen = at
    if at > state.last_seen:
        state.last_seen = at
    state.source, state.medium = _attribution(state, event, state.click_ids, earliest)
    span = (state.last_seen - state.first_seen).total_seconds()
    state.duration_sec = max(state.duration_sec, span, event.duration_sec or 0.0)
    _enrich(state, event, earliest, latest)
    if not state.fingerprint and event.fingerprint:
        state.fingerprint = event.fingerprint
    return state


def session_score(state: SessionState) -> int:
    conversion_points = CONVERSION_POINTS * state.counts.get("conversion", 0)
    interaction_points = INTERACTION_POINTS * state.counts.get("interaction", 0)
    bonus = min(BONUS_CAP, max(0, state.highest_event_score))
    return min(MAX_SCORE, conversion_points + interaction_points + bonus)


def session_age(state: SessionState, at: datetime) -> timedelta:
    """Age at ``at``, from first_seen. Negative when the call precedes the session's first event."""
    return at - state.first_seen


def confidence(state: SessionState, at: datetime) -> int:
    value = 100
    if not state.has_click_id:
        value -= NO_CLICK_ID_PENALTY
    if session_age(state, at) < FAST_SESSION:
        value -= FAST_PENALTY
    if state.event_count <= 1:
        value -= SINGLE_EVENT_PENALTY
    return max(0, min(100, value))


def call_status(state: SessionState, at: datetime) -> CallStatus:
    return status_for(session_age(state, at), confidence(state, at))


def status_for(age: timedelta, confidence_score: int) -> CallStatus:
    """The §3.2 rule on its inputs. With today's penalties confidence < 50 implies age < 30 s."""
    if age < SUSPICIOUS_AGE or confidence_score < MIN_CONFIDENCE:
        return "suspicious"
    return "intent"


def _enrich(state: SessionState, event: SessionEvent, earliest: bool, latest: bool) -> None:
    """Device, bot flag, landing referrer, first-touch campaign and consent: each field is set
    once (or, for consent, by the latest event), so most events change none of them."""
    agent = event.user_agent
    if agent and (not state.device_type or not state.is_bot):
        device = describe(agent)
        if not state.device_type:
            state.device_type, state.os, state.os_version = device.device_type, device.os, device.os_version
            state.browser, state.browser_version = device.browser, device.browser_version
        if device.is_bot:
            state.is_bot = True
    if earliest:
        state.referrer_host = referrer_host(event.referrer)
    url = event.url
    if (not state.campaign or earliest) and ("?" in url or "#" in url or event.meta):
        campaign = campaign_from(event.meta, url)
        if campaign and (earliest or not state.campaign):
            state.campaign = campaign
    if event.consent_scopes is not None and latest:
        state.consent_scopes = list(event.consent_scopes)


# --- attribution -------------------------------------------------------------------------------

_DIRECT = ("direct", "(none)")


def _attribution(
    state: SessionState, event: SessionEvent, click_ids: Mapping[str, str], earliest: bool
) -> tuple[str, str]:
    """Click ids win whenever seen; otherwise first touch: the earliest event's UTM / referrer.

    On a tie in time (a batch shares one received_at) the first by arrival stays: batches are
    produced in the tracker's order, so that is the landing.
    """
    if click_ids:
        return "google", "cpc"
    if earliest:
        return _event_touch(event)
    return state.source, state.medium


def _event_touch(event: SessionEvent) -> tuple[str, str]:
    utm = _utm(event)
    if utm is not None:
        return utm
    host = _external_referrer_host(event.referrer, event.url)
    if host is None:
        return _DIRECT
    if "google." in host:
        return "google", "organic"
    return host.removeprefix("www."), "referral"


def _utm(event: SessionEvent) -> tuple[str, str] | None:
    """utm_source / utm_medium from the event meta, else from the page URL's query."""
    source, medium = _clean(event.meta.get("utm_source")), _clean(event.meta.get("utm_medium"))
    if source is None and medium is None:
        try:
            query = parse_qs(urlsplit(event.url).query)
        except ValueError:
            query = {}
        source = _clean(next(iter(query.get("utm_source", [])), None))
        medium = _clean(next(iter(query.get("utm_medium", [])), None))
    if source is None and medium is None:
        return None
    return source or "(not set)", medium or "(not set)"


def _clean(value: str | None) -> str | None:
    """Blank values and unexpanded ``{template}`` placeholders are not UTM values."""
    if not value or not value.strip() or "{" in value or "}" in value:
        return None
    return value.strip()


def _external_referrer_host(referrer: str | None, page_url: str) -> str | None:
    """The referrer's host, unless it is missing, not http(s), or the page's own site."""
    if not referrer:
        return None
    try:
        parts = urlsplit(referrer)
        host = parts.hostname
        page_host = urlsplit(page_url).hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if page_host and host.removeprefix("www.") == page_host.removeprefix("www."):
        return None
    return host
