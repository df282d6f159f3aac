"""The call matcher: calls and session updates, both keyed by ``<site>:<fingerprint>``, meet
in one agent (co-partitioned), which keeps the recent sessions of each key in a table.

A call with no candidate yet waits a short grace period (its session's first events may
still be in the scorer's batch); then it is matched, or answered ``unmatched``. The answer
goes to the ``calls`` table and, through Redis, to the edge waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import faust
import orjson
import redis.asyncio as aioredis
from pydantic import ValidationError

from leadstream.replies import post_reply
from leadstream.schemas.calls import CallAnswer, CallRecord
from leadstream.scoring.matching import MATCH_WINDOW, best_match, remember_session
from leadstream.scoring.session_score import SessionState, call_status, confidence, session_score
from leadstream.settings import Settings
from leadstream.streams.bulk import BulkProducer
from leadstream.streams.expiry import TableExpiry
from leadstream.streams.raw import raw_topic
from leadstream.streams.rows import ip_prefix
from leadstream.streams.sink import WarehouseSink
from leadstream.streams.tables import FaustTableState, keyed_table, write_changelog

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


@dataclass
class Pending:
    event: faust.EventT
    call: CallRecord
    deadline: float


def resolve(call: CallRecord, sessions: list[SessionState]) -> tuple[CallAnswer, list[object]]:
    """The answer for a call given its key's recent sessions, and its warehouse row."""
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
        ip_prefix(call.ip),
        version,
    ]
    return answer, row


def register_call_matcher(
    app: faust.App, updates: str, calls: str, sink: WarehouseSink, bulk: BulkProducer, settings: Settings
) -> faust.Table:
    table = keyed_table(app, "fingerprint_sessions", settings)
    state = FaustTableState(table)
    app.task(TableExpiry(state, bulk, latest_seen, SESSIONS_KEPT, settings.state_expiry_interval_s).run)
    channel = raw_topic(app, updates, calls)
    redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    pending: list[Pending] = []
    lock = asyncio.Lock()
    streams: list[faust.StreamT] = []

    def sessions_for(key: str) -> list[SessionState]:
        return [SessionState.from_dict(d) for d in table.get(key) or []]

    async def settle() -> None:
        """Answer the pending calls that now match, or whose grace has run out."""
        nonlocal pending
        now = time.monotonic()
        done: list[tuple[Pending, CallAnswer, list[object]]] = []
        waiting: list[Pending] = []
        for p in pending:
            answer, row = resolve(p.call, sessions_for(f"{p.call.site_id}:{p.call.fingerprint}"))
            if answer.status == "matched" or now >= p.deadline:
                done.append((p, answer, row))
            else:
                waiting.append(p)
        pending = waiting
        if not done:
            return
        token = "calls:" + ",".join(sorted(str(p.call.call_id) for p, _, _ in done))
        await sink.write("calls", CALL_COLUMNS, [row for _, _, row in done], token)
        for p, answer, _ in done:
            try:
                await post_reply(
                    redis, settings.topic_prefix, "call", str(p.call.call_id), answer.model_dump(mode="json")
                )
            except Exception as exc:  # the edge answers 'queued'; the row is stored all the same
                log.warning("could not post call reply: %r", exc)
            await streams[0].ack(p.event)

    @app.agent(channel, concurrency=1, name="match_calls")
    async def match_calls(stream: faust.StreamT) -> None:
        streams[:] = [stream]
        async for batch in stream.noack_take(settings.sink_batch_rows, within=0.1):
            async with lock:
                remembered, changed = [], set()
                for event in batch:
                    msg = event.message
                    if msg.topic == updates:
                        changed.update(remember(msg.key, msg.value))
                        remembered.append(event)
                        continue
                    try:
                        call = CallRecord.model_validate_json(msg.value)
                    except ValidationError:
                        log.error("skipping malformed call at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
                        await stream.ack(event)
                        continue
                    pending.append(Pending(event, call, time.monotonic() + settings.match_grace_s))
                if remembered:
                    await write_changelog(state, bulk, changed)  # the updates commit once the table has them
                    for event in remembered:
                        await stream.ack(event)
                await settle()

    def remember(key: bytes | None, value: bytes) -> list[str]:
        """Put the session update into the store; return the key changed (its changelog goes later)."""
        if not key:
            return []
        try:
            state = SessionState.from_dict(orjson.loads(value))
        except (ValueError, ValidationError):
            log.error("skipping malformed session update for %r", key)
            return []
        name = key.decode()
        table.data[name] = [s.to_dict() for s in remember_session(sessions_for(name), state)]
        return [name]

    @app.timer(interval=0.2)
    async def settle_waiting_calls() -> None:
        if pending:
            async with lock:
                await settle()

    return table
