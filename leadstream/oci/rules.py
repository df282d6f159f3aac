"""The offline-conversion queue's rules, pure: which (lead, stage) a lead contributes, what is
excluded and why, the item's fields and time format, ack and ack-failed transitions, backoff.

Each lead contributes one item for its current stage when the site exports it and no item of
that stage or a higher one exists for the lead: so a (lead, stage) pair is queued once, a
later, higher stage is queued when it comes, and a lower stage after a higher one never is.
A queued lower item not yet uploaded is voided by a higher one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from leadstream.schemas.conversions import STAGE_RANK
from leadstream.schemas.sites import SiteRecord

QUEUED, RETRY, PROCESSING = "QUEUED", "RETRY", "PROCESSING"
UPLOADED, COMPLETED = "UPLOADED", "COMPLETED"
FAILED, QUARANTINE, VOIDED, EXCLUDED = "FAILED", "DEAD_LETTER_QUARANTINE", "VOIDED", "EXCLUDED"
DONE = frozenset({UPLOADED, COMPLETED})
TERMINAL = frozenset({UPLOADED, COMPLETED, FAILED, QUARANTINE, VOIDED, EXCLUDED})
ErrorCategory = Literal["VALIDATION", "TRANSIENT", "AUTH", "RATE_LIMIT", "UNKNOWN"]

CLICK_WINDOW = timedelta(days=90)  # Google Ads takes no conversion for an older click
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=24)
MAX_ATTEMPTS = 5
NO_CLICK_ID, CLICK_TOO_OLD, NO_VALUE = "no_click_id", "click_too_old", "no_value"


@dataclass(frozen=True)
class Candidate:
    """A lead with its current stage, as the warehouse has them."""

    lead_id: uuid.UUID
    stage: str
    value: float | None  # the stage change's own (the sale amount), else the site's default
    currency: str
    gclid: str
    wbraid: str
    gbraid: str
    created_at: datetime
    clicked_at: datetime | None
    session_id: uuid.UUID | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class Item:
    item_id: str
    site_id: str
    lead_id: uuid.UUID
    stage: str
    order_id: str
    status: str
    conversion_name: str
    conversion_time: datetime
    conversion_value: float
    currency: str
    gclid: str = ""
    wbraid: str = ""
    gbraid: str = ""
    attempts: int = 0
    reason: str = ""
    error_code: str = ""
    error_message: str = ""
    error_category: str = ""
    run_id: str = ""
    claimed_until: datetime | None = None
    next_at: datetime | None = None
    session_id: uuid.UUID | None = None
    fingerprint: str = ""
    created_at: datetime | None = None


def item_id(lead_id: uuid.UUID, stage: str) -> str:
    """The ack id the Script sends back: stable for a (lead, stage)."""
    return f"seal_{uuid.uuid5(lead_id, stage)}"


def order_id(site_id: str, lead_id: uuid.UUID, stage: str) -> str:
    """Stable across runs (Google Ads drops a re-upload with the same order id); 44 characters,
    within the 64 the Script keeps."""
    digest = hashlib.sha256(f"{site_id}:{lead_id}".encode()).hexdigest()[:32]
    return f"ls_{digest}_{stage[:8]}"


def exclusion(candidate: Candidate, value: float, now: datetime) -> str:
    """Why this conversion cannot go to Google Ads ('' when it can)."""
    if not (candidate.gclid or candidate.wbraid or candidate.gbraid):
        return NO_CLICK_ID
    clicked = candidate.clicked_at or candidate.created_at
    if now - clicked > CLICK_WINDOW or candidate.created_at - clicked > CLICK_WINDOW:
        return CLICK_TOO_OLD
    return NO_VALUE if value <= 0 else ""


def plan(
    site: SiteRecord, candidates: list[Candidate], items: dict[str, Item], now: datetime
) -> tuple[list[Item], list[Item]]:
    """New items (queued or excluded) the candidates make, and the lower items they void."""
    by_lead: dict[uuid.UUID, list[Item]] = {}
    for item in items.values():
        by_lead.setdefault(item.lead_id, []).append(item)
    created: list[Item] = []
    voided: list[Item] = []
    for c in candidates:
        conversion = site.conversions.conversion(c.stage)
        if conversion is None:
            continue
        rank = STAGE_RANK[c.stage]
        known = by_lead.get(c.lead_id, [])
        if any(STAGE_RANK.get(i.stage, 0) >= rank for i in known):
            continue  # this stage or a higher one was queued before
        value = conversion.value if c.value is None else c.value
        reason = exclusion(c, value, now)
        created.append(
            Item(
                item_id=item_id(c.lead_id, c.stage),
                site_id=site.public_id,
                lead_id=c.lead_id,
                stage=c.stage,
                order_id=order_id(site.public_id, c.lead_id, c.stage),
                status=EXCLUDED if reason else QUEUED,
                conversion_name=conversion.name,
                conversion_time=c.created_at,  # pinned to when the lead came (OpsMantik's policy)
                conversion_value=round(value, 2),
                currency=(c.currency or site.currency).upper(),
                gclid=c.gclid,
                wbraid=c.wbraid,
                gbraid=c.gbraid,
                reason=reason,
                next_at=now,
                session_id=c.session_id,
                fingerprint=c.fingerprint,
                created_at=now,
            )
        )
        if not reason:
            voided += [replace(i, status=VOIDED) for i in known if i.status in (QUEUED, RETRY, PROCESSING)]
    return created, voided


def due(item: Item, now: datetime) -> bool:
    """Is the item handed out by an export now (a claim never acked comes back when it expires)?"""
    if item.status == QUEUED:
        return True
    if item.status == RETRY:
        return item.next_at is None or item.next_at <= now
    return item.status == PROCESSING and item.claimed_until is not None and item.claimed_until <= now


def claimed(item: Item, run_id: str, until: datetime) -> Item:
    return replace(item, status=PROCESSING, run_id=run_id, claimed_until=until)


def acked(item: Item, pending_confirmation: bool) -> Item | None:
    """The item after an ack (None: already terminal, nothing changes)."""
    if item.status in TERMINAL:
        return None
    return replace(item, status=UPLOADED if pending_confirmation else COMPLETED, claimed_until=None)


def backoff(attempts: int, jitter_s: float) -> timedelta:
    """min(5 min * 2^attempts, 24 h) plus 0-60 s of jitter."""
    base = BACKOFF_CAP if attempts >= 9 else min(BACKOFF_BASE * (2**attempts), BACKOFF_CAP)
    return base + timedelta(seconds=min(max(jitter_s, 0.0), 60.0))


def failed(item: Item, category: str, code: str, message: str, now: datetime, jitter_s: float) -> Item | None:
    """The item after an ack-failed (None: already done or terminal; success is never downgraded)."""
    if item.status in TERMINAL:
        return None
    attempts = item.attempts + 1
    common = {"attempts": attempts, "error_code": code, "error_message": message, "error_category": category}
    if attempts >= MAX_ATTEMPTS:
        return replace(item, status=QUARANTINE, claimed_until=None, **common)
    if category == "TRANSIENT":
        return replace(item, status=RETRY, claimed_until=None, next_at=now + backoff(item.attempts, jitter_s), **common)
    return replace(item, status=FAILED, claimed_until=None, **common)


def conversion_time(at: datetime, timezone: str) -> str:
    """``yyyy-MM-dd HH:mm:ss+HHMM`` in the site's zone (no T, no milliseconds, no colon)."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S%z")


def script_item(item: Item, timezone: str) -> dict[str, object]:
    """An item as OpsMantik's Script reads it."""
    return {
        "id": item.item_id,
        "orderId": item.order_id,
        "gclid": item.gclid,
        "wbraid": item.wbraid,
        "gbraid": item.gbraid,
        "conversionName": item.conversion_name,
        "conversionTime": conversion_time(item.conversion_time, timezone),
        "conversionValue": item.conversion_value,
        "conversionCurrency": item.currency,
    }
