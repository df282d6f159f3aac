"""The warehouse writer's copies: which topic goes to which table, and how a record becomes a
row (or a dead letter). The scorer's and matcher's rows come as published rows (``row_topics``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.schemas.event_view import read_record
from leadstream.schemas.os import OSCompany, OSSignal
from leadstream.schemas.os_more import OSFeedback
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.lead_copies import lead_copies
from leadstream.streams.matcher import CALL_COLUMNS
from leadstream.streams.row_topics import RowReader
from leadstream.streams.rows import EVENT_COLUMNS, event_row
from leadstream.streams.runtime.dead_letters import invalid_reason
from leadstream.streams.runtime.sink import LeaveOut, Poison, TableSinkSpec
from leadstream.streams.sessions import SESSION_COLUMNS

OFFSETS = ("kafka_partition", "kafka_offset")
DEAD_LETTER_COLUMNS = (
    "source_topic",
    "source_partition",
    "source_offset",
    "stage",
    "reason",
    "key",
    "value",
    "failed_at",
)
SITE_COLUMNS = ("public_id", "name", "origins", "signed", "require_consent", "active", "updated_at")
COMPANY_COLUMNS = (
    "tenant_id",
    "company_id",
    "name",
    "domain",
    "industry",
    "size",
    "linkedin_url",
    "location",
    "data",
    "loaded_at",
)
SIGNAL_COLUMNS = (
    "tenant_id",
    "signal_id",
    "company_id",
    "type",
    "source",
    "evidence",
    "confidence",
    "date",
    "data",
    "loaded_at",
)
RUN_COLUMNS = (
    "run_id",
    "tenant_id",
    "enterprise_id",
    "user_id",
    "request_id",
    "client",
    "endpoint",
    "mode",
    "status",
    "inputs",
    "outputs",
    "started_at",
    "finished_at",
    "execution_ms",
)
FEEDBACK_COLUMNS = tuple(OSFeedback.model_fields)


def _poison(exc: ValidationError) -> Poison:
    return Poison(invalid_reason(exc))


def event_from(record: ConsumerRecord) -> list[object]:
    try:
        return event_row(read_record(record.value))
    except ValidationError as exc:
        raise _poison(exc) from None


RESENT_LOOKBACK = timedelta(days=8)  # the tracker keeps an unsent event for as long as a week or so
MIRROR_WAIT_S = 10.0


async def events_stored_before(
    warehouse: Warehouse, records: list[ConsumerRecord], rows: list[list[object]]
) -> set[int]:
    """The rows of re-sent tracker events (``resent``) whose event id is already stored.

    A re-send has the event id of the first send (derived from the tracker's ``eid``), so the
    two usually collapse in ``events_v`` anyway; this catches the copy that lands on another
    day, which ReplacingMergeTree would keep (the day is in the sorting key). Only re-sends
    are looked up, so ordinary traffic costs nothing; a copy earlier in the same batch counts.
    """
    resent = [i for i, record in enumerate(records) if b'"resent":true' in (record.value or b"")]
    if not resent:
        return set()
    first_at = {}
    for i, row in enumerate(rows):
        first_at.setdefault(row[0], i)
    ids = [rows[i][0] for i in resent]
    since = min(rows[i][1] for i in resent) - RESENT_LOOKBACK  # type: ignore[operator]
    sql = (
        "SELECT DISTINCT event_id FROM events "
        "WHERE received_at >= {since:DateTime64(3)} AND event_id IN {ids:Array(UUID)}"
    )
    result = await warehouse.read(sql, {"since": since, "ids": ids})
    stored = {str(row[0]) for row in result.rows}  # the rows' ids are strings, as the edge writes them
    return {i for i in resent if rows[i][0] in stored or first_at[rows[i][0]] < i}


Visitor = tuple[str, object, str | None]  # site, session id, fingerprint
_EVENT_SITE, _EVENT_SESSION, _EVENT_FP = (EVENT_COLUMNS.index(c) for c in ("site_id", "session_id", "fingerprint"))
_DEAD_VALUE = DEAD_LETTER_COLUMNS.index("value")


async def forgotten_positions(
    forgotten: ForgottenVisitors | None, rows: list[list[object]], visitor: Callable[[list[object]], Visitor]
) -> set[int]:
    """The rows of visitors erased before (waiting, at start, for the list of them to be read)."""
    if forgotten is None:
        return set()
    if not forgotten.loaded:
        await forgotten.wait_loaded(MIRROR_WAIT_S)
    if not forgotten.subjects:
        return set()
    return {i for i, row in enumerate(rows) if forgotten.forgets(*visitor(row))}


def _event_visitor(row: list[object]) -> Visitor:
    return str(row[_EVENT_SITE]), row[_EVENT_SESSION], str(row[_EVENT_FP]) or None


def _dead_letter_visitor(row: list[object]) -> Visitor:
    try:
        value = orjson.loads(str(row[_DEAD_VALUE]))
    except orjson.JSONDecodeError:
        return "", None, None
    if not isinstance(value, dict):
        return "", None, None
    return str(value.get("site_id") or ""), value.get("session_id"), value.get("fingerprint")


_SESSION_VISITOR = tuple(SESSION_COLUMNS.index(c) for c in ("site_id", "session_id", "fingerprint"))
_CALL_VISITOR = tuple(CALL_COLUMNS.index(c) for c in ("site_id", "session_id", "fingerprint"))


def _columns_visitor(at: tuple[int, int, int]) -> Callable[[list[object]], Visitor]:
    site, session, fingerprint = at
    return lambda row: (str(row[site]), row[session], str(row[fingerprint] or "") or None)


def forgotten_leave_out(forgotten: ForgottenVisitors | None, visitor: Callable[[list[object]], Visitor]) -> LeaveOut:
    """Rows of visitors erased before: a row published before the erasure may be stored after it."""

    async def leave_out(_: Warehouse, __: list[ConsumerRecord], rows: list[list[object]]) -> set[int]:
        return await forgotten_positions(forgotten, rows, visitor)

    return leave_out


def events_leave_out(forgotten: ForgottenVisitors | None) -> LeaveOut:
    async def leave_out(warehouse: Warehouse, records: list[ConsumerRecord], rows: list[list[object]]) -> set[int]:
        gone = await forgotten_positions(forgotten, rows, _event_visitor)
        return gone | await events_stored_before(warehouse, records, rows)

    return leave_out


def dead_letter_from(record: ConsumerRecord) -> list[object]:
    h = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
    return [
        h.get("source_topic", ""),
        int(h.get("source_partition", 0)),
        int(h.get("source_offset", 0)),
        h.get("stage", ""),
        h.get("reason", ""),
        (record.key or b"").decode("utf-8", "replace"),
        (record.value or b"").decode("utf-8", "replace"),
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
    ]


def site_from(record: ConsumerRecord) -> list[object]:
    try:
        site = SiteRecord.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise _poison(exc) from None
    # The signing secret stays in the registry topic; analysts only see whether one is set.
    flags = [int(site.signed), int(site.require_consent), int(site.active)]
    return [site.public_id, site.name, site.origins, *flags, site.updated_at]


def _json_record(record: ConsumerRecord) -> dict[str, Any]:
    try:
        value = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        raise Poison(f"not JSON: {exc}") from None
    if not isinstance(value, dict) or not value.get("tenant_id"):
        raise Poison("expected an object with tenant_id")
    return value


def _split(item: dict[str, Any], known: tuple[str, ...]) -> tuple[list[object], str]:
    extra = {k: v for k, v in item.items() if k not in known}
    return [item.get(k) for k in known], orjson.dumps(extra).decode()


def company_from(record: ConsumerRecord) -> list[object]:
    value = _json_record(record)
    try:
        company = OSCompany.model_validate(value.get("company")).model_dump()
    except ValidationError as exc:
        raise _poison(exc) from None
    known = ("company_id", "name", "domain", "industry", "size", "linkedin_url", "location")
    fields, extra = _split(company, known)
    return [
        value["tenant_id"],
        *("" if f is None else str(f) for f in fields),
        extra,
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
    ]


def signal_from(record: ConsumerRecord) -> list[object]:
    value = _json_record(record)
    try:
        signal = OSSignal.model_validate(value.get("signal")).model_dump()
    except ValidationError as exc:
        raise _poison(exc) from None
    signal_id = signal.get("signal_id") or f"{signal['company_id']}:{signal['type']}:{signal.get('date') or ''}"
    known = ("company_id", "type", "source", "evidence", "confidence", "date")
    fields, extra = _split({k: v for k, v in signal.items() if k != "signal_id"}, known)
    company_id, kind, source, evidence, confidence, when = fields
    return [
        value["tenant_id"],
        signal_id,
        company_id,
        kind or "",
        source or "",
        evidence or "",
        confidence,
        when or "",
        extra,
        datetime.fromtimestamp(record.timestamp / 1000, UTC),
    ]


def run_from(record: ConsumerRecord) -> list[object]:
    run = _json_record(record)
    answer = run.get("answer") or {}
    started = datetime.fromisoformat(run["started_at"])
    finished = datetime.fromisoformat(run["finished_at"])
    return [
        run["run_id"],
        run["tenant_id"],
        run.get("enterprise_id") or "",
        run.get("user_id") or "",
        run.get("request_id") or "",
        run.get("client") or "",
        run.get("endpoint") or "",
        run.get("mode") or "",
        "completed" if answer.get("status") == 200 else "failed",
        orjson.dumps(run.get("request")).decode(),
        orjson.dumps(answer).decode(),
        started,
        finished,
        max(0, int((finished - started).total_seconds() * 1000)),
    ]


def feedback_from(record: ConsumerRecord) -> list[object]:
    try:
        feedback = OSFeedback.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise _poison(exc) from None
    return [getattr(feedback, column) for column in FEEDBACK_COLUMNS]


def copy_specs(settings: Settings, forgotten: ForgottenVisitors | None = None) -> list[TableSinkSpec]:
    t = settings.topics
    events = events_leave_out(forgotten)
    dead = forgotten_leave_out(forgotten, _dead_letter_visitor)
    session_rows = RowReader(SESSION_COLUMNS, ("first_seen", "last_seen"))
    call_rows = RowReader(CALL_COLUMNS, ("received_at",))
    sessions_gone = forgotten_leave_out(forgotten, _columns_visitor(_SESSION_VISITOR))
    calls_gone = forgotten_leave_out(forgotten, _columns_visitor(_CALL_VISITOR))
    return [
        # versioned rows (ReplacingMergeTree): no offset columns, a row stored again replaces itself.
        # The three busiest tables' rows are JSON values and date-times: inserted as JSON.
        TableSinkSpec(
            "session-rows",
            t.session_rows,
            "sessions",
            SESSION_COLUMNS,
            session_rows,
            sessions_gone,
            offsets=False,
            json_rows=True,
        ),
        TableSinkSpec(
            "call-rows", t.call_rows, "calls", CALL_COLUMNS, call_rows, calls_gone, offsets=False, json_rows=True
        ),
        TableSinkSpec("events", t.events, "events", (*EVENT_COLUMNS, *OFFSETS), event_from, events, json_rows=True),
        TableSinkSpec(
            "dead-letters", t.dead_letters, "dead_letters", (*DEAD_LETTER_COLUMNS, *OFFSETS), dead_letter_from, dead
        ),
        TableSinkSpec("sites", t.sites, "sites", (*SITE_COLUMNS, *OFFSETS), site_from),
        TableSinkSpec("os-companies", t.os_companies, "os_companies", (*COMPANY_COLUMNS, *OFFSETS), company_from),
        TableSinkSpec("os-signals", t.os_signals, "os_signals", (*SIGNAL_COLUMNS, *OFFSETS), signal_from),
        TableSinkSpec("os-runs", t.os_runs, "os_runs", (*RUN_COLUMNS, *OFFSETS), run_from, flush_s=1.0),
        TableSinkSpec("os-feedback", t.os_feedback, "os_feedback", (*FEEDBACK_COLUMNS, *OFFSETS), feedback_from),
        *lead_copies(settings, forgotten),
    ]
