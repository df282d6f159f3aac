"""Properties of the offline-conversion rules: each lead exports its highest stage not yet
exported, never the same (lead, stage) twice and never a lower stage after a higher one; ack is
idempotent; failures back off, growing and capped, and quarantine after five attempts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leadstream.oci import rules
from leadstream.oci.rules import Candidate
from leadstream.schemas.conversions import STAGE_RANK, STAGES
from leadstream.schemas.sites import SiteRecord

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
SITE = SiteRecord(public_id="shop")


def candidate(lead_id: uuid.UUID, stage: str, **kw: object) -> Candidate:
    values: dict[str, object] = {
        "lead_id": lead_id,
        "stage": stage,
        "value": None,
        "currency": "",
        "gclid": "Cj0KCQiA-1234",
        "wbraid": "",
        "gbraid": "",
        "created_at": NOW - timedelta(days=1),
        "clicked_at": NOW - timedelta(days=1, minutes=5),
    }
    return Candidate(**{**values, **kw})  # type: ignore[arg-type]


def export_and_ack(items: dict[str, rules.Item], candidates: list[Candidate]) -> list[rules.Item]:
    """One Script run: queue what the stages make, take what is due, ack it all."""
    created, voided = rules.plan(SITE, candidates, items, NOW)
    items.update({i.item_id: i for i in [*created, *voided]})
    taken = [i for i in items.values() if rules.due(i, NOW)]
    for item in taken:
        done = rules.acked(rules.claimed(item, "run", NOW + timedelta(minutes=15)), True)
        assert done is not None
        items[item.item_id] = done
    return taken


@settings(deadline=None, max_examples=200)
@given(st.lists(st.lists(st.sampled_from(STAGES), max_size=4), min_size=1, max_size=6))
def test_each_lead_exports_its_highest_stage_once_and_never_a_lower_one(runs: list[list[str]]) -> None:
    lead = uuid.uuid4()
    items: dict[str, rules.Item] = {}
    exported: list[str] = []
    current = "new"
    for changes in runs:  # stage changes between two Script runs
        for stage in changes:
            current = stage
        before = max((STAGE_RANK[s] for s in exported), default=-1)
        taken = export_and_ack(items, [candidate(lead, current)])
        assert len(taken) <= 1
        expected = current if current != "new" and STAGE_RANK[current] > before else None
        assert [i.stage for i in taken] == ([expected] if expected else [])
        exported += [i.stage for i in taken]
    ranks = [STAGE_RANK[s] for s in exported]
    assert ranks == sorted(set(ranks))  # strictly higher each time: no pair twice, no lower after higher


def test_contacted_offered_won_together_export_one_won() -> None:
    lead = uuid.uuid4()
    taken = export_and_ack({}, [candidate(lead, "won", value=1250.0)])
    assert [(i.stage, i.conversion_name, i.conversion_value) for i in taken] == [("won", "OpsMantik_Won", 1250.0)]


def test_a_higher_stage_voids_a_lower_one_not_yet_uploaded() -> None:
    lead = uuid.uuid4()
    items: dict[str, rules.Item] = {}
    created, _ = rules.plan(SITE, [candidate(lead, "contacted")], items, NOW)
    items.update({i.item_id: i for i in created})
    created, voided = rules.plan(SITE, [candidate(lead, "won")], items, NOW)
    assert [i.stage for i in created] == ["won"] and [(i.stage, i.status) for i in voided] == [("contacted", "VOIDED")]


def test_exclusions_are_counted_with_their_reason() -> None:
    old = NOW - timedelta(days=91)
    cases = {
        rules.NO_CLICK_ID: candidate(uuid.uuid4(), "won", gclid=""),
        rules.CLICK_TOO_OLD: candidate(uuid.uuid4(), "won", created_at=old, clicked_at=old),
        rules.NO_VALUE: candidate(uuid.uuid4(), "won", value=0.0),
    }
    created, _ = rules.plan(SITE, list(cases.values()), {}, NOW)
    assert {i.reason: i.status for i in created} == {reason: "EXCLUDED" for reason in cases}
    wbraid_only = candidate(uuid.uuid4(), "won", gclid="", wbraid="wb-123")
    assert rules.plan(SITE, [wbraid_only], {}, NOW)[0][0].status == "QUEUED"


def test_stages_a_site_does_not_export_are_not_queued() -> None:
    site = SiteRecord.model_validate({"public_id": "shop", "conversions": {"exported": ["won"]}})
    assert rules.plan(site, [candidate(uuid.uuid4(), "offered")], {}, NOW) == ([], [])


@given(st.sampled_from(sorted(rules.TERMINAL | {rules.QUEUED, rules.RETRY, rules.PROCESSING})), st.booleans())
def test_ack_is_idempotent_and_never_downgrades(status: str, pending: bool) -> None:
    item = rules.plan(SITE, [candidate(uuid.uuid4(), "won")], {}, NOW)[0][0]
    item = rules.Item(**{**item.__dict__, "status": status})
    once = rules.acked(item, pending)
    if status in rules.TERMINAL:
        assert once is None
        assert rules.failed(item, "TRANSIENT", "X", "x", NOW, 0) is None
    else:
        assert once is not None and once.status in rules.DONE
        assert rules.acked(once, pending) is None  # again: nothing changes
        assert rules.failed(once, "TRANSIENT", "X", "x", NOW, 0) is None  # success is never downgraded


@given(st.integers(min_value=0, max_value=60), st.floats(min_value=-10, max_value=100))
def test_backoff_grows_and_is_capped(attempts: int, jitter: float) -> None:
    this, following = rules.backoff(attempts, jitter), rules.backoff(attempts + 1, jitter)
    assert timedelta(minutes=5) <= this <= timedelta(hours=24, seconds=60)
    assert following >= this
    assert this - rules.backoff(attempts, 0) <= timedelta(seconds=60)
    assert rules.backoff(20, 0) == timedelta(hours=24)


def test_transient_failures_retry_then_quarantine_other_categories_fail() -> None:
    item = rules.plan(SITE, [candidate(uuid.uuid4(), "won")], {}, NOW)[0][0]
    waits = []
    for attempt in range(1, 5):
        item = rules.failed(item, "TRANSIENT", "UPLOAD_EXCEPTION", "boom", NOW, 0)  # type: ignore[assignment]
        assert item.status == "RETRY" and item.attempts == attempt and not rules.due(item, NOW)
        waits.append(item.next_at - NOW)  # type: ignore[operator]
        assert rules.due(item, item.next_at)  # type: ignore[arg-type]
    assert waits == [timedelta(minutes=5 * 2**n) for n in range(4)]
    assert rules.failed(item, "TRANSIENT", "X", "x", NOW, 0).status == "DEAD_LETTER_QUARANTINE"  # type: ignore[union-attr]
    fresh = rules.plan(SITE, [candidate(uuid.uuid4(), "won")], {}, NOW)[0][0]
    assert rules.failed(fresh, "VALIDATION", "MISSING_CLICK_ID", "x", NOW, 0).status == "FAILED"  # type: ignore[union-attr]


def test_an_expired_claim_is_due_again() -> None:
    item = rules.plan(SITE, [candidate(uuid.uuid4(), "won")], {}, NOW)[0][0]
    claimed = rules.claimed(item, "run", NOW + timedelta(minutes=15))
    assert not rules.due(claimed, NOW) and rules.due(claimed, NOW + timedelta(minutes=15))


def test_time_and_ids_have_the_scripts_format() -> None:
    at = datetime(2026, 3, 1, 21, 30, 5, 123000, tzinfo=UTC)
    assert rules.conversion_time(at, "Europe/Istanbul") == "2026-03-02 00:30:05+0300"
    assert rules.conversion_time(at, "America/New_York") == "2026-03-01 16:30:05-0500"
    lead = uuid.uuid4()
    assert rules.order_id("shop", lead, "won") == rules.order_id("shop", lead, "won")
    assert len(rules.order_id("shop", lead, "contacted")) <= 64
    assert re.fullmatch(r"seal_[0-9a-f-]{36}", rules.item_id(lead, "won"))
