"""The warehouse writer's copies of the leads and their stage changes. Both tables hold
versioned rows (a lead is the same row made again; a stage change is one row per lead and
version), so a record stored again after a crash replaces itself; a forgotten visitor's rows
published before the erasure are left out."""

from __future__ import annotations

from collections.abc import Callable

from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.settings import Settings
from leadstream.storage.tables import LEAD_STAGES, LEADS, Table
from leadstream.streams.leads import lead_from_record, stage_from_record
from leadstream.streams.runtime.sink import LeaveOut, TableSinkSpec

Visitor = tuple[str, object, str | None]


def _visitor_of(table: Table) -> Callable[[list[object]], Visitor]:
    site, session, fingerprint = (table.index(c) for c in ("site_id", "session_id", "fingerprint"))
    return lambda row: (str(row[site]), row[session], str(row[fingerprint] or "") or None)


def _forgotten(forgotten: ForgottenVisitors | None, table: Table) -> LeaveOut:
    from leadstream.streams.copies import forgotten_leave_out  # the writer's own rule, shared

    return forgotten_leave_out(forgotten, _visitor_of(table))


def lead_copies(settings: Settings, forgotten: ForgottenVisitors | None) -> list[TableSinkSpec]:
    t = settings.topics
    return [
        TableSinkSpec(
            "leads",
            t.leads,
            LEADS.name,
            LEADS.names,
            lead_from_record,
            _forgotten(forgotten, LEADS),
            offsets=False,
            json_rows=True,
        ),
        TableSinkSpec(
            "lead-stage-history",  # not "lead-stages": the stage processor's group has that name
            t.lead_stages,
            LEAD_STAGES.name,
            LEAD_STAGES.names,
            stage_from_record,
            _forgotten(forgotten, LEAD_STAGES),
            offsets=False,
            json_rows=True,
        ),
    ]
