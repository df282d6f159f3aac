"""The session scorer: each tracking event updates its session's state (a table kept in
memory, changelogged to Kafka); the new states go out as rows for the ``sessions`` table (the
``session-rows`` topic, stored by the warehouse writer), and every session with a fingerprint is
re-published keyed by ``<site>:<fingerprint>`` for the call matcher. Records that are not events
are dead-lettered (stage ``session-scorer``).

Exactly-once state under at-least-once delivery: each table entry remembers the offset of
the last event it applied, so events re-delivered after a crash are not applied twice.
A batch is applied in memory and each touched session written to the table once.
The most recently touched sessions stay decoded between batches (``DecodedSessions``):
decoding a table entry was the largest part of the scorer's own work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from cachetools import LRUCache
from pydantic import ValidationError

from leadstream.enrichment.campaign import CAMPAIGN_COLUMNS
from leadstream.observability.worker import count_entries
from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.schemas.event_view import EventView, read_event
from leadstream.schemas.tracking import EventRecord
from leadstream.scoring.dedup import DEDUP_WINDOW, counted_mark, duplicate_key, is_duplicate
from leadstream.scoring.session_score import SessionState, apply_event, confidence, session_score
from leadstream.settings import Settings
from leadstream.streams.leads import encode_lead, is_form_conversion, lead_from_event
from leadstream.streams.row_topics import encode_row
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.checkpoint import Outcome
from leadstream.streams.runtime.dead_letters import invalid_reason

log = logging.getLogger(__name__)

SESSION_COLUMNS = (
    "site_id",
    "session_id",
    "fingerprint",
    "first_seen",
    "last_seen",
    "events",
    "heartbeats",
    "conversions",
    "interactions",
    "highest_event_score",
    "score",
    "confidence",
    "has_click_id",
    "gclid",
    "wbraid",
    "gbraid",
    "source",
    "medium",
    "duration_sec",
    "device_type",
    "os",
    "os_version",
    "browser",
    "browser_version",
    "is_bot",
    "referrer_host",
    "consent_scopes",
    *CAMPAIGN_COLUMNS,
    "version",
)


NO_CAMPAIGN = [""] * len(CAMPAIGN_COLUMNS)


def session_row(state: SessionState, version: int) -> list[object]:
    clicks = state.click_ids
    return [
        state.site_id,
        state.session_id,
        state.fingerprint or "",
        state.first_seen,
        state.last_seen,
        state.event_count,
        state.heartbeats,
        state.counts.get("conversion", 0),
        state.counts.get("interaction", 0),
        state.highest_event_score,
        session_score(state),
        confidence(state, state.last_seen),
        int(state.has_click_id),
        clicks.get("gclid", ""),
        clicks.get("wbraid", ""),
        clicks.get("gbraid", ""),
        state.source,
        state.medium,
        state.duration_sec,
        state.device_type,
        state.os,
        state.os_version,
        state.browser,
        state.browser_version,
        int(state.is_bot),
        state.referrer_host,
        state.consent_scopes or [],
        *([state.campaign.get(column, "") for column in CAMPAIGN_COLUMNS] if state.campaign else NO_CAMPAIGN),
        version,
    ]


MAX_CLIENT_IDS = 256  # a session remembers this many of its latest tracker event ids
MIRROR_WAIT_S = 10.0


@dataclass
class Working:
    """A session's table entry while a batch is applied to it."""

    state: SessionState | None = None
    offset: int = -1  # the last event applied (exactly-once guard)
    marks: dict[str, datetime] = field(default_factory=dict)  # dedup key -> last counted at
    changed: bool = False
    # Tracker event ids applied (first 12 hex digits, in order): a re-send is not counted again.
    client_ids: dict[str, None] = field(default_factory=dict)

    @classmethod
    def load(cls, entry: dict[str, Any] | None) -> Working:
        if not entry:
            return cls()
        state = SessionState.from_dict(entry["state"]) if entry.get("state") else None
        marks = {k: datetime.fromisoformat(v) for k, v in entry.get("marks", {}).items()}
        return cls(state, entry.get("offset", -1), marks, client_ids=dict.fromkeys(entry.get("eids", ())))

    def dump(self) -> dict[str, Any]:
        # Marks older than the window (and a second's slack for out-of-order events) are dropped
        # here, once a batch, not at every event: a busy session can hold a thousand of them.
        horizon = max(self.marks.values(), default=None)
        if horizon is not None:
            horizon -= DEDUP_WINDOW + timedelta(seconds=1)
            self.marks = {k: v for k, v in self.marks.items() if v >= horizon}
        state = self.state.to_dict() if self.state else None
        entry = {"state": state, "offset": self.offset, "marks": {k: v.isoformat() for k, v in self.marks.items()}}
        if self.client_ids:
            if len(self.client_ids) > MAX_CLIENT_IDS:
                self.client_ids = dict.fromkeys(list(self.client_ids)[-MAX_CLIENT_IDS:])
            entry["eids"] = list(self.client_ids)
        return entry

    def apply(self, record: EventView | EventRecord, offset: int) -> bool:
        """Apply one event unless it was applied before (re-delivery), the tracker sent it
        again (same client event id), or it repeats within 5 s. True when it counts: applied now,
        or before a crash (what it made is made again)."""
        if offset <= self.offset:
            # Applied before a crash, but the row and update written for it may not have been:
            # emit the state again (both writes are idempotent), never apply the event twice.
            self.changed = True
            return True
        self.offset = offset
        if record.client_event_id is not None:
            client_id = record.client_event_id.hex[:12]
            if client_id in self.client_ids:
                return False
            self.client_ids[client_id] = None
        at = record.received_at
        key = duplicate_key(record.site_id, record.session_id, record.category, record.action, record.label, record.url)
        last = self.marks.get(key)
        if is_duplicate(last, at):
            return False
        self.marks[key] = counted_mark(last, at)
        self.state = apply_event(self.state, record)
        self.changed = True
        return True


def session_last_seen(entry: dict[str, Any]) -> datetime | None:
    """A table entry's last activity, for expiry."""
    state = entry.get("state")
    return datetime.fromisoformat(state["last_seen"]) if state else None


class DecodedSessions:
    """The decoded ``Working`` of recently written table entries, so that a session touched
    again in the next batches is not decoded again.

    A cached entry is used only while the table still holds the very entry it was written as
    (changelog recovery after a rebalance puts new objects there), and it is taken out while a
    batch works on it: a batch that fails midway leaves nothing half-applied behind."""

    def __init__(self, size: int) -> None:
        self._cache: LRUCache[str, tuple[dict[str, Any], Working]] = LRUCache(maxsize=size)

    def take(self, key: str, entry: dict[str, Any] | None) -> Working:
        cached = self._cache.pop(key, None)
        if cached is not None and cached[0] is entry:
            working = cached[1]
            working.changed = False
            return working
        return Working.load(entry)

    def written(self, key: str, entry: dict[str, Any], working: Working) -> None:
        self._cache[key] = (entry, working)


class SessionScorer:
    """Events -> session states (a changelog table), session rows and session updates.

    Runs on the stream runtime (``Runner``, group ``<worker_group>-sessions``): the runtime
    gives it the partitions its group assigns, recovers their table entries first, and makes
    what ``process`` returns durable before it commits the batch."""

    name, group, stage = "session scorer", "sessions", "session-scorer"

    def __init__(self, settings: Settings, forgotten: ForgottenVisitors | None = None) -> None:
        self._settings = settings
        self._topics = settings.topics
        self._forgotten = forgotten
        self._purged = -1  # the forgotten-visitors version the table was last purged at
        self.topics = [settings.topics.events]
        self.table = ChangelogTable.for_worker("sessions", settings.topics.sessions_changelog, settings)
        self._decoded = DecodedSessions(settings.session_cache_size)
        self.ttl = timedelta(days=settings.session_ttl_days)
        count_entries(self.table.name, lambda: len(self.table))

    last_active = staticmethod(session_last_seen)

    async def process(self, records: list[ConsumerRecord]) -> Outcome:
        """Apply a batch of event records to their sessions (every turn, first, the sessions of
        visitors erased since the last turn are dropped)."""
        outcome = Outcome(changed=await self.purge_forgotten())
        if not records:
            return outcome
        work: dict[str, Working] = {}
        partition_of: dict[str, int] = {}
        table, decoded, forgotten = self.table, self._decoded, self._forgotten
        leads_topic = self._topics.leads
        for msg in records:
            record = read_event(msg.value)
            if record is None:
                outcome.dead.append((msg, unreadable(msg.value)))
                continue
            if forgotten is not None and forgotten.forgets(record.site_id, record.session_id, record.fingerprint):
                continue
            sid = str(record.session_id)
            working = work.get(sid)
            if working is None:
                working = work[sid] = decoded.take(sid, table.get(sid))
                partition_of[sid] = msg.partition
            counted = working.apply(record, msg.offset)
            if counted and working.state and is_form_conversion(record.category, record.action):
                # a lead with its session as it is now; its id is stable, so made again it is the same lead
                key, value = encode_lead(lead_from_event(working.state, record.event_id, record.received_at))
                outcome.emit(leads_topic, key, key, value)
        rows_topic, updates_topic = self._topics.session_rows, self._topics.session_updates
        for sid, working in work.items():
            entry = working.dump()
            table.put(sid, entry, partition_of[sid])
            decoded.written(sid, entry, working)
            state = working.state
            if not working.changed or state is None:
                continue
            # The row, the update and the changelog record may land in any order, or some not at
            # all before a crash: an event delivered again after its session's changelog record
            # was written is not applied again, but its row and update are sent again.
            key = sid.encode()
            outcome.emit(rows_topic, key, key, encode_row(session_row(state, working.offset)))
            if state.fingerprint:
                match_key = f"{state.site_id}:{state.fingerprint}".encode()
                outcome.emit(updates_topic, match_key, match_key, orjson.dumps(entry["state"]))
        outcome.changed = [*outcome.changed, *work]  # one changelog record per session per batch
        return outcome

    async def assigned(self, partitions: set[int]) -> None:
        self._purged = -1  # what was recovered may hold forgotten visitors

    async def revoked(self, partitions: set[int] | None) -> None:
        return None

    async def purge_forgotten(self) -> list[str]:
        """Drop the sessions of visitors erased since the last purge; return their keys (the
        runtime tombstones them in the changelog)."""
        forgotten = self._forgotten
        if forgotten is None:
            return []
        if not forgotten.loaded:  # never score a record before knowing who is forgotten
            await forgotten.wait_loaded(MIRROR_WAIT_S)
        version = forgotten.version
        if version == self._purged:
            return []
        gone = []
        for key in self.table:  # a copy of the keys
            state = (self.table.get(key) or {}).get("state")
            if state and forgotten.forgets(state["site_id"], state["session_id"], state.get("fingerprint")):
                gone.append(key)
        for key in gone:
            self.table.delete(key)
        self._purged = version
        return gone


def unreadable(value: bytes | None) -> str:
    """Why an event record cannot be scored (the dead letter's reason)."""
    try:
        EventRecord.model_validate_json(value or b"")
    except ValidationError as exc:
        return invalid_reason(exc)
    return "unreadable event"
