"""Duplicate suppression (SPEC §4): the same event seen again within 5 s counts once.

"The same event" is (site, session, category, action, label, URL). The caller keeps, per key, the
time of the last occurrence it *counted* and asks ``is_duplicate`` for each new one. Suppressed
repeats must not move that time: a sliding window would swallow a click repeated every 4 s forever.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from uuid import UUID

import orjson

DEDUP_WINDOW = timedelta(seconds=5)


def duplicate_key(site_id: str, session_id: UUID | str, category: str, action: str, label: str | None, url: str) -> str:
    """A fixed-size key (SHA-256 hex); URLs can be 4 KiB. A missing label equals an empty one."""
    parts = [site_id, str(session_id), category, action, label or "", url]
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()  # a JSON array: parts cannot bleed into each other


def is_duplicate(last_counted_at: datetime | None, at: datetime, window: timedelta = DEDUP_WINDOW) -> bool:
    """True when ``at`` is within ``window`` (inclusive) of the last counted occurrence, either side.

    Either side, because events can arrive slightly out of order.
    """
    return last_counted_at is not None and abs(at - last_counted_at) <= window


def counted_mark(last_counted_at: datetime | None, at: datetime) -> datetime:
    """The time to keep for the key after counting an occurrence at ``at`` (the later of the two)."""
    return at if last_counted_at is None else max(last_counted_at, at)
