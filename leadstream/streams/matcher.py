"""The call matcher: calls and session updates, both keyed by ``<site>:<fingerprint>``, meet
in one consumer (co-partitioned: the group assigns partition N of both topics to the same
member), which keeps the recent sessions of each key in a table recovered from its changelog.

A call with no candidate yet waits a short grace period (its session's first events may
still be in the scorer's batch); then it is matched, or answered ``unmatched``. The answer
goes out as a row for the ``calls`` table (the ``call-rows`` topic, stored by the warehouse
writer) and, once that row is durable, through Redis to the edge waiting for it.

A call's offset is committed only once it is answered and its row durable, so a call waiting
out its grace when the worker dies is read again by the next owner.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import orjson
import redis.asyncio as aioredis
from aiokafka import TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.observability.worker import count_entries
from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.redis.replies import post_reply
from leadstream.schemas.calls import CallAnswer, CallRecord
from leadstream.schemas.network import ip_prefix
from leadstream.scoring.matching import MATCH_WINDOW, SessionSummary, best_match, remember_session
from leadstream.scoring.session_score import SessionState, call_status, confidence, session_score
from leadstream.settings import Settings
from leadstream.streams.leads import encode_lead, lead_from_call
from leadstream.streams.row_topics import encode_row
from leadstream.streams.runtime.changelog_table import ChangelogTable
from leadstream.streams.runtime.checkpoint import Outcome
from leadstream.streams.runtime.dead_letters import invalid_reason

log = logging.getLogger(__name__)

CALL_COLUMNS = (
    "call_id",
    "event_id",
    "site_id",
    "fingerprint",
    "phone_number",
    "phone_raw",
    "action",
    "url",
    "gclid",
    "wbraid",
    "gbraid",
    "received_at",
    "status",
    "session_id",
    "lead_score",
    "confidence",
    "call_status",
    "ip_prefix",
    "version",
)


# A key's sessions are kept a day past the match window: no call can match them after that.
SESSIONS_KEPT = MATCH_WINDOW + timedelta(days=1)


def latest_seen(entry: list[dict[str, Any]]) -> datetime | None:
    """A fingerprint's last activity (its sessions' latest), for expiry."""
    return max((datetime.fromisoformat(s["last_seen"]) for s in entry), default=None)


# How long a poll gathers records: the longest a call waits before it is looked at.
POLL_S = 0.1
MIRROR_WAIT_S = 10.0


class _Stored:
    """A stored session as ``remember_session`` sees it: its id and last activity."""

    __slots__ = ("entry", "last_seen", "session_id")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.session_id = entry["session_id"]
        self.last_seen = datetime.fromisoformat(entry["last_seen"])


@dataclass
class Pending:
    source: tuple[str, int]  # the call's topic and partition
    offset: int
    call: CallRecord
    deadline: float


def resolve(call: CallRecord, sessions: list[SessionState]) -> tuple[CallAnswer, list[object]]:
    """The answer for a call given its key's recent sessions, and its warehouse row."""
    answer, row, _ = resolve_match(call, sessions)
    return answer, row


def resolve_match(
    call: CallRecord, sessions: list[SessionState]
) -> tuple[CallAnswer, list[object], SessionState | None]:
    """``resolve``, with the session matched (None: unmatched)."""
    match = best_match(sessions, site_id=call.site_id, fingerprint=call.fingerprint, at=call.received_at)
    if match is None:
        answer = CallAnswer(status="unmatched", call_id=call.call_id, session_id=None, lead_score=0)
        conf, status, version = 0, "", 1
    else:
        answer = CallAnswer(
            status="matched", call_id=call.call_id, session_id=match.session_id, lead_score=session_score(match)
        )
        conf, status, version = confidence(match, call.received_at), call_status(match, call.received_at), 2
    clicks = call.click_ids
    row = [
        call.call_id,
        call.event_id,
        call.site_id,
        call.fingerprint,
        call.phone_number,
        call.phone_raw,
        call.action,
        call.url or "",
        clicks.get("gclid", ""),
        clicks.get("wbraid", ""),
        clicks.get("gbraid", ""),
        call.received_at,
        answer.status,
        answer.session_id,
        answer.lead_score or 0,
        conf,
        status,
        ip_prefix(call.ip_prefix),
        version,
    ]
    return answer, row, match


class CallMatcher:
    """Session updates and calls -> the table of each key's recent sessions, call rows and the
    answers the edge waits for. Runs on the stream runtime (group ``<worker_group>-calls``,
    called every turn: a call whose grace runs out is answered without new records)."""

    name, group, stage = "call matcher", "calls", "call-matcher"
    last_active = staticmethod(latest_seen)
    ttl = SESSIONS_KEPT
    # Range assignment gives partition N of both topics to the same member: a key's calls and
    # session updates meet in one table.
    consumer_options: ClassVar[dict[str, object]] = {"partition_assignment_strategy": (RangePartitionAssignor,)}

    def __init__(self, settings: Settings, forgotten: ForgottenVisitors | None = None) -> None:
        self._settings = settings
        self._forgotten = forgotten
        self._purged = -1  # the forgotten-visitors version the table was last purged at
        self._updates = settings.topics.session_updates
        self.topics = [self._updates, settings.topics.calls]
        self.table = ChangelogTable.for_worker("fingerprint_sessions", settings.topics.matcher_changelog, settings)
        self._redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._pending: list[Pending] = []
        self._read: dict[tuple[str, int], int] = {}  # partition -> the next offset to read
        self._committed: dict[tuple[str, int], int] = {}
        count_entries(self.table.name, lambda: len(self.table))

    async def process(self, records: list[ConsumerRecord]) -> Outcome:
        outcome = Outcome()
        changed = await self.purge_forgotten()
        changed |= self.handle(records, outcome)
        outcome.changed = changed
        self.settle(outcome)
        # Committed once the outcome is durable; if that fails the member starts over (and
        # forgets these offsets, ``revoked(None)``), so they are never taken for committed.
        outcome.offsets = self._to_commit()
        self._committed.update({(tp.topic, tp.partition): o for tp, o in outcome.offsets.items()})
        return outcome

    def handle(self, records: list[ConsumerRecord], outcome: Outcome) -> set[str]:
        """Put session updates into the table, queue the calls and dead-letter the records that are
        neither; return the table keys changed."""
        changed: set[str] = set()
        grace = self._settings.match_grace_s
        for msg in records:
            source = (msg.topic, msg.partition)
            self._read[source] = msg.offset + 1
            try:
                if msg.topic == self._updates:
                    if name := self._remember(msg.key, msg.value, msg.partition):
                        changed.add(name)
                else:
                    call = CallRecord.model_validate_json(msg.value or b"")
                    self._pending.append(Pending(source, msg.offset, call, time.monotonic() + grace))
            except (ValueError, ValidationError) as exc:  # pydantic's ValidationError is a ValueError
                outcome.dead.append((msg, _reason(exc)))
        return changed

    def _remember(self, key: bytes | None, value: bytes | None, partition: int) -> str | None:
        """Put a session update into the table; return the key changed (its changelog goes later),
        None for a forgotten visitor's. Raises ValueError for an update that cannot be used.

        Entries stay the updates' JSON dicts: merging needs only each session's id and last
        activity, and decoding every session of the key into a model at every update cost more
        than the rest of the matcher. They are decoded when a call looks at them."""
        if not key:
            raise ValueError("session update without a key")
        update = orjson.loads(value or b"")
        summary = SessionSummary.model_validate(update)  # what matching reads is there and well-typed
        if self._forgets(summary.site_id, summary.session_id, summary.fingerprint):
            return None
        update["last_seen"] = summary.last_seen.isoformat()  # as _Stored reads it back
        name = key.decode()
        recent = [_Stored(entry) for entry in self.table.get(name) or []]
        self.table.put(name, [s.entry for s in remember_session(recent, _Stored(update))], partition)
        return name

    def _sessions(self, key: str) -> list[SessionState]:
        sessions = []
        for entry in self.table.get(key) or []:
            try:
                sessions.append(SessionState.from_dict(entry))
            except ValueError:
                log.error("skipping a malformed session of %r", key)
        return sessions

    def settle(self, outcome: Outcome) -> None:
        """Answer the pending calls that now match, or whose grace has run out: the row goes out
        with the outcome, the reply once it is durable."""
        if not self._pending:
            return
        now = time.monotonic()
        done: list[tuple[Pending, CallAnswer]] = []
        waiting: list[Pending] = []
        rows, leads = self._settings.topics.call_rows, self._settings.topics.leads
        for p in self._pending:
            answer, row, match = resolve_match(p.call, self._sessions(f"{p.call.site_id}:{p.call.fingerprint}"))
            if answer.status == "matched" or now >= p.deadline:
                done.append((p, answer))
                if not self._forgets(p.call.site_id, None, p.call.fingerprint):
                    key = str(p.call.call_id).encode()
                    outcome.emit(rows, key, key, encode_row(row))
                    if match is not None:  # a matched call is a lead (its id stable: the call's)
                        lead_key, lead = encode_lead(lead_from_call(p.call, match, answer.lead_score or 0))
                        outcome.emit(leads, lead_key, lead_key, lead)
            else:
                waiting.append(p)
        if not done:
            return
        self._pending = waiting
        outcome.then.append(lambda: self._reply(done))

    async def _reply(self, done: list[tuple[Pending, CallAnswer]]) -> None:
        prefix = self._settings.topic_prefix
        for p, answer in done:
            try:
                await post_reply(self._redis, prefix, "call", str(p.call.call_id), answer.model_dump(mode="json"))
            except Exception as exc:  # the edge answers 'queued'; the row is stored all the same
                log.warning("could not post call reply: %r", exc)

    def _to_commit(self) -> dict[TopicPartition, int]:
        """Offsets past everything done: on a calls partition, up to its first call still waiting."""
        first_waiting: dict[tuple[str, int], int] = {}
        for p in self._pending:
            first_waiting[p.source] = min(p.offset, first_waiting.get(p.source, p.offset))
        offsets = {}
        for source, offset in self._read.items():
            offset = min(offset, first_waiting.get(source, offset))
            if self._committed.get(source) != offset:
                offsets[TopicPartition(*source)] = offset
        return offsets

    async def assigned(self, partitions: set[int]) -> None:
        self._purged = -1  # what was recovered may hold forgotten visitors

    async def revoked(self, partitions: set[int] | None) -> None:
        """Forget the waiting calls and offsets of ``partitions`` (None: all). The calls are not
        committed, so their next owner reads and answers them."""
        self._pending = [p for p in self._pending if partitions is not None and p.source[1] not in partitions]
        for offsets in (self._read, self._committed):
            for source in [s for s in offsets if partitions is None or s[1] in partitions]:
                del offsets[source]

    def _forgets(self, site_id: str, session_id: str | None, fingerprint: str | None) -> bool:
        return self._forgotten is not None and self._forgotten.forgets(site_id, session_id, fingerprint)

    async def purge_forgotten(self) -> set[str]:
        """Drop the sessions (and whole keys) of visitors erased since the last purge; return the
        keys changed or removed (the runtime writes their changelog records or tombstones)."""
        forgotten = self._forgotten
        if forgotten is None:
            return set()
        if not forgotten.loaded:  # never match before knowing who is forgotten
            await forgotten.wait_loaded(MIRROR_WAIT_S)
        version = forgotten.version
        if version == self._purged:
            return set()
        changed = set()
        for key in self.table:  # a copy of the keys
            site_id, _, fingerprint = key.partition(":")
            sessions = self.table.get(key) or []
            kept = [s for s in sessions if not forgotten.forgets(site_id, s.get("session_id"), fingerprint)]
            if not kept:
                self.table.delete(key)
                changed.add(key)
            elif len(kept) < len(sessions):
                self.table.put(key, kept, self.table.partition_of(key))
                changed.add(key)
        self._purged = version
        return changed


def _reason(exc: ValueError) -> str:
    return invalid_reason(exc) if isinstance(exc, ValidationError) else f"invalid record: {exc}"
