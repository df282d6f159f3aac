"""The session scorer: each tracking event updates its session's state (a Faust table,
changelogged), the new states go to the ``sessions`` table, and every session with a
fingerprint is re-published keyed by ``<site>:<fingerprint>`` for the call matcher.

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

import faust
import orjson
from cachetools import LRUCache
from pydantic import ValidationError

from leadstream.schemas.tracking import EventRecord
from leadstream.scoring.dedup import DEDUP_WINDOW, counted_mark, duplicate_key, is_duplicate
from leadstream.scoring.session_score import SessionState, apply_event, confidence, session_score
from leadstream.settings import Settings
from leadstream.streams.bulk import BulkProducer
from leadstream.streams.expiry import TableExpiry
from leadstream.streams.rows import dedup_token
from leadstream.streams.sink import WarehouseSink
from leadstream.streams.tables import keyed_table, write_changelog

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
    "version",
)


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
        version,
    ]


@dataclass
class Working:
    """A session's table entry while a batch is applied to it."""

    state: SessionState | None = None
    offset: int = -1  # the last event applied (exactly-once guard)
    marks: dict[str, datetime] = field(default_factory=dict)  # dedup key -> last counted at
    changed: bool = False

    @classmethod
    def load(cls, entry: dict[str, Any] | None) -> Working:
        if not entry:
            return cls()
        state = SessionState.from_dict(entry["state"]) if entry.get("state") else None
        marks = {k: datetime.fromisoformat(v) for k, v in entry.get("marks", {}).items()}
        return cls(state, entry.get("offset", -1), marks)

    def dump(self) -> dict[str, Any]:
        # Marks older than the window (and a second's slack for out-of-order events) are dropped
        # here, once a batch, not at every event: a busy session can hold a thousand of them.
        horizon = max(self.marks.values(), default=None)
        if horizon is not None:
            horizon -= DEDUP_WINDOW + timedelta(seconds=1)
            self.marks = {k: v for k, v in self.marks.items() if v >= horizon}
        state = self.state.to_dict() if self.state else None
        return {"state": state, "offset": self.offset, "marks": {k: v.isoformat() for k, v in self.marks.items()}}

    def apply(self, record: EventRecord, offset: int) -> None:
        """Apply one event unless it was applied before (re-delivery) or repeats within 5 s."""
        if offset <= self.offset:
            # Applied before a crash, but the row and update written for it may not have been:
            # emit the state again (both writes are idempotent), never apply the event twice.
            self.changed = True
            return
        self.offset = offset
        at = record.received_at
        key = duplicate_key(record.site_id, record.session_id, record.category, record.action, record.label, record.url)
        last = self.marks.get(key)
        if is_duplicate(last, at):
            return
        self.marks[key] = counted_mark(last, at)
        self.state = apply_event(self.state, record)
        self.changed = True


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


def register_session_scorer(
    app: faust.App,
    events: faust.TopicT,
    updates: faust.TopicT,
    sink: WarehouseSink,
    bulk: BulkProducer,
    settings: Settings,
) -> faust.Table:
    table = keyed_table(app, "sessions", settings)
    decoded = DecodedSessions(settings.session_cache_size)
    ttl = timedelta(days=settings.session_ttl_days)
    app.task(TableExpiry(table, bulk, session_last_seen, ttl, settings.state_expiry_interval_s).run)

    @app.agent(events, concurrency=1, name="score_sessions")
    async def score_sessions(stream: faust.StreamT) -> None:
        async for batch in stream.noack_take(settings.sink_batch_rows, within=settings.sink_flush_s):
            work: dict[str, Working] = {}
            spans: dict[int, tuple[int, int]] = {}
            for event in batch:
                msg = event.message
                lo, hi = spans.get(msg.partition, (msg.offset, msg.offset))
                spans[msg.partition] = (min(lo, msg.offset), max(hi, msg.offset))
                try:
                    record = EventRecord.model_validate_json(msg.value)
                except ValidationError:
                    continue  # store_events reports malformed records
                sid = str(record.session_id)
                if sid not in work:
                    work[sid] = decoded.take(sid, table.data.get(sid))
                work[sid].apply(record, msg.offset)
            touched = {sid: w.state for sid, w in work.items() if w.changed and w.state is not None}
            entries = {sid: w.dump() for sid, w in work.items()}  # into the store once the batch is written
            if touched:
                rows = [session_row(state, work[sid].offset) for sid, state in touched.items()]
                await sink.write("sessions", SESSION_COLUMNS, rows, dedup_token(events.get_topic_name(), spans))
                updates_out = []
                for sid, state in touched.items():
                    if state.fingerprint:
                        key = f"{state.site_id}:{state.fingerprint}".encode()
                        updates_out.append((key, key, orjson.dumps(entries[sid]["state"])))  # dumped once
                await bulk.send(updates.get_topic_name(), updates_out)  # before these offsets commit
            for sid, working in work.items():
                entry = table.data[sid] = entries[sid]
                decoded.written(sid, entry, working)
            await write_changelog(table, bulk, work)  # one record per session per batch
            for event in batch:
                await stream.ack(event)

    return table
