"""Leads from what the scorer and the matcher already know: a conversion event that is not a
phone or WhatsApp click (the scorer), a matched call (the matcher). Each goes out on the
``leads`` topic keyed by its stable id, with its session's click ids, first-touch campaign and
score at that moment; the stage processor and the ``leads`` table take it from there.

Phone and WhatsApp clicks arrive twice (a ``conversion`` event and a call-event): they become a
lead when the call is matched, so the event is left out here.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from leadstream.enrichment.campaign import CAMPAIGN_COLUMNS
from leadstream.schemas.calls import CallRecord
from leadstream.schemas.leads import LeadKind, LeadRecord, LeadStageEvent, lead_id_for
from leadstream.scoring.session_score import SessionState, session_score
from leadstream.storage.tables import LEAD_STAGES, LEADS
from leadstream.streams.runtime.dead_letters import invalid_reason
from leadstream.streams.runtime.sink import Poison

CALL_CLICK_ACTIONS = frozenset({"phone_call", "phone", "call", "tel", "phone_click", "whatsapp", "whatsapp_click"})


def is_form_conversion(category: str, action: str) -> bool:
    return category.lower() == "conversion" and action.lower() not in CALL_CLICK_ACTIONS


def _session_id(state: SessionState) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(state.session_id))
    except ValueError:
        return None


def lead_from_event(state: SessionState, event_id: uuid.UUID | str, at: datetime) -> LeadRecord:
    """The lead a conversion event makes, given its session after the event."""
    clicks = state.click_ids
    return LeadRecord(
        lead_id=lead_id_for("event", event_id),
        site_id=state.site_id,
        session_id=_session_id(state),
        fingerprint=state.fingerprint or "",
        kind="form",
        source_id=uuid.UUID(str(event_id)),
        gclid=clicks.get("gclid", ""),
        wbraid=clicks.get("wbraid", ""),
        gbraid=clicks.get("gbraid", ""),
        campaign=dict(state.campaign or {}),
        score=session_score(state),
        created_at=at,
        clicked_at=state.first_seen,
    )


def lead_from_call(call: CallRecord, session: SessionState, score: int) -> LeadRecord:
    """The lead a matched call makes: the session's click ids (the call's own when it has none)."""
    clicks = session.click_ids or call.click_ids
    kind: LeadKind = "whatsapp" if call.action == "whatsapp" else "call"
    return LeadRecord(
        lead_id=lead_id_for("call", call.call_id),
        site_id=call.site_id,
        session_id=_session_id(session),
        fingerprint=call.fingerprint,
        kind=kind,
        source_id=call.call_id,
        gclid=clicks.get("gclid", ""),
        wbraid=clicks.get("wbraid", ""),
        gbraid=clicks.get("gbraid", ""),
        campaign=dict(session.campaign or {}),
        score=max(0, min(100, score)),
        phone_number=call.phone_number,
        created_at=call.received_at,
        clicked_at=session.first_seen,
    )


def encode_lead(lead: LeadRecord) -> tuple[bytes, bytes]:
    """Key and value on the leads topic."""
    return str(lead.lead_id).encode(), lead.model_dump_json().encode()


def lead_row(lead: LeadRecord) -> list[object]:
    """The lead as the ``leads`` table takes it (columns: ``tables.LEADS``)."""
    values = lead.model_dump()
    values.update({column: lead.campaign.get(column, "") for column in CAMPAIGN_COLUMNS})
    return [values[column] for column in LEADS.names]


def stage_row(event: LeadStageEvent) -> list[object]:
    """A stage change as the ``lead_stages`` table takes it (columns: ``tables.LEAD_STAGES``)."""
    values = event.model_dump()
    values["changed_at"] = event.at
    return [values[column] for column in LEAD_STAGES.names]


def lead_from_record(record: ConsumerRecord) -> list[object]:
    try:
        return lead_row(LeadRecord.model_validate_json(record.value or b""))
    except ValidationError as exc:
        raise Poison(invalid_reason(exc)) from None


def stage_from_record(record: ConsumerRecord) -> list[object]:
    try:
        return stage_row(LeadStageEvent.model_validate_json(record.value or b""))
    except ValidationError as exc:
        raise Poison(invalid_reason(exc)) from None
