"""What makes a lead and what it carries: a conversion event that is not a phone or WhatsApp click
(those become leads when their call is matched), a matched call; the session's click ids,
first-touch campaign and score; ids stable, so a record processed again makes the same lead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from leadstream.schemas.calls import CallRecord
from leadstream.schemas.leads import LeadStageEvent
from leadstream.scoring.session_score import SessionState
from leadstream.storage.tables import LEAD_STAGES, LEADS
from leadstream.streams.leads import is_form_conversion, lead_from_call, lead_from_event, lead_row, stage_row

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def session(**kw: object) -> SessionState:
    values: dict[str, object] = {
        "site_id": "shop",
        "session_id": str(uuid.uuid4()),
        "first_seen": AT - timedelta(minutes=3),
        "last_seen": AT,
        "fingerprint": "fp-1",
        "click_ids": {"gclid": "Cj0KCQiA-1234"},
        "campaign": {"utm_source": "google", "utm_campaign": "spring"},
        "counts": {"conversion": 1, "interaction": 2},
    }
    return SessionState(**{**values, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("category", "action", "lead"),
    [
        ("conversion", "form_submit", True),
        ("Conversion", "quote", True),
        ("conversion", "phone_call", False),
        ("conversion", "whatsapp", False),
        ("interaction", "view", False),
    ],
)
def test_which_events_are_leads(category: str, action: str, lead: bool) -> None:
    assert is_form_conversion(category, action) is lead


def test_a_conversion_event_lead_carries_its_session() -> None:
    state, event_id = session(), uuid.uuid4()
    lead = lead_from_event(state, event_id, AT)
    assert lead == lead_from_event(state, event_id, AT)  # made again: the same lead
    assert (lead.kind, lead.gclid, lead.campaign["utm_campaign"], lead.clicked_at) == (
        "form",
        "Cj0KCQiA-1234",
        "spring",
        state.first_seen,
    )
    assert lead.lead_id != lead_from_event(state, uuid.uuid4(), AT).lead_id


def test_a_matched_call_lead_uses_the_sessions_click_ids_else_the_calls() -> None:
    call = CallRecord(
        call_id=uuid.uuid4(),
        site_id="shop",
        fingerprint="fp-1",
        phone_number="+905321234567",
        phone_raw="0532 123 45 67",
        action="whatsapp",
        click_ids={"gbraid": "gb-call-1"},
        received_at=AT,
    )
    with_click = lead_from_call(call, session(), 80)
    assert (with_click.kind, with_click.gclid, with_click.gbraid, with_click.score) == (
        "whatsapp",
        "Cj0KCQiA-1234",
        "",
        80,
    )
    without = lead_from_call(call, session(click_ids={}), 80)
    assert (without.gclid, without.gbraid, without.phone_number) == ("", "gb-call-1", "+905321234567")
    assert with_click.lead_id == without.lead_id  # the call's id makes it


def test_rows_follow_the_declared_tables() -> None:
    lead = lead_from_event(session(), uuid.uuid4(), AT)
    row = lead_row(lead)
    assert len(row) == len(LEADS.columns) and row[LEADS.index("utm_source")] == "google"
    event = LeadStageEvent(
        lead_id=lead.lead_id, site_id="shop", stage="won", who="key:x", at=AT, version=1, command_id=uuid.uuid4()
    )
    assert len(stage_row(event)) == len(LEAD_STAGES.columns) and stage_row(event)[LEAD_STAGES.index("changed_at")] == AT
