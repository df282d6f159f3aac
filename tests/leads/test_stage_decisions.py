"""The stage processor's decisions, pure: another site's lead is not found, a stale version is
refused, each accepted change is the next version, and a command read again makes the same event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from leadstream.schemas.conversions import STAGES
from leadstream.schemas.leads import LeadRecord, StageChange, StageCommand
from leadstream.streams.lead_stages import applied, decide, new_entry

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def lead() -> LeadRecord:
    return LeadRecord(
        lead_id=uuid.uuid4(), site_id="shop", kind="form", source_id=uuid.uuid4(), score=50, created_at=NOW
    )


def command(lead_id: uuid.UUID, stage: str, version: int | None = None, site: str = "shop") -> StageCommand:
    change = StageChange.model_validate({"stage": stage, "version": version})
    return StageCommand(command_id=uuid.uuid4(), lead_id=lead_id, site_id=site, change=change, who="key:x", at=NOW)


def test_another_sites_lead_and_an_unknown_lead_are_not_found() -> None:
    one = lead()
    entry = new_entry(one)
    assert decide(entry, command(one.lead_id, "won", site="other"))[0].status == "not_found"
    assert decide(None, command(one.lead_id, "won"))[0].status == "not_found"


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STAGES), st.booleans(), st.integers(0, 6)), min_size=1, max_size=12))
def test_versions_follow_each_accepted_change(steps: list[tuple[str, bool, int]]) -> None:
    one = lead()
    entry = new_entry(one)
    for stage, send_version, guess in steps:
        cmd = command(one.lead_id, stage, guess if send_version else None)
        answer, event = decide(entry, cmd)
        if send_version and guess != entry["version"]:
            assert answer.status == "stale" and event is None and answer.version == entry["version"]
            continue
        assert answer.status == "accepted" and event is not None and event.version == entry["version"] + 1
        entry = applied(entry, event)
        assert (entry["stage"], entry["version"]) == (stage, answer.version)
        again, same = decide(entry, cmd)  # read again after a crash: the same event, not a second change
        assert (again.status, same) == ("accepted", event)
