import uuid
from datetime import UTC, date, datetime

import orjson
import pytest

from leadstream.schemas.event_view import read_record, view_of
from leadstream.schemas.tracking import EventRecord
from leadstream.streams.rows import EVENT_COLUMNS, dedup_token, event_row, ip_prefix


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("203.0.113.77", "203.0.113.0"), ("2001:db8:abcd:12::1", "2001:db8:abcd::"), (None, ""), ("junk", "")],
)
def test_ip_is_truncated_for_storage(ip: str | None, expected: str) -> None:
    assert ip_prefix(ip) == expected


def test_dedup_token_is_stable_and_names_offsets() -> None:
    assert dedup_token("t", {1: (5, 9), 0: (10, 12)}) == "t:0:10-12,1:5-9"


def test_event_row_matches_columns() -> None:
    record = EventRecord(
        event_id=uuid.uuid4(),
        received_at=datetime.now(UTC),
        site_id="s",
        session_id=uuid.uuid4(),
        session_month=date(2026, 11, 1),
        url="https://x",
        category="interaction",
        action="view",
        click_ids={"gclid": "G" * 12},
        score=35,
        ip_prefix="10.1.2.0",
        visitor_hash="ab" * 16,
    )
    row = dict(zip(EVENT_COLUMNS, event_row(view_of(record)), strict=True))
    assert row["gclid"] == "G" * 12 and row["wbraid"] == ""
    assert row["ip_prefix"] == "10.1.2.0" and row["visitor_hash"] == "ab" * 16
    assert row["label"] == "" and row["value"] is None


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("10.0.0.255", "10.0.0.0"), ("256.1.1.1", ""), ("1.2.3", ""), ("01.2.3.4", ""), ("::ffff:1.2.3.4", "::")],
)
def test_ipv4_fast_path_agrees_with_ipaddress(ip: str, expected: str) -> None:
    assert ip_prefix(ip) == expected


def test_a_whole_ip_is_stored_as_its_prefix_whichever_field_carries_it() -> None:
    base = {
        "event_id": str(uuid.uuid4()),
        "received_at": "2026-12-03T12:00:00Z",
        "site_id": "s",
        "session_id": str(uuid.uuid4()),
        "session_month": "2026-12-01",
        "url": "https://x",
        "category": "interaction",
        "action": "view",
        "score": 1,
    }
    legacy = read_record(orjson.dumps(base | {"ip": "10.1.2.3"}))  # a record from before the edge anonymised
    careless = read_record(orjson.dumps(base | {"ip_prefix": "10.1.2.3"}))  # a producer that wrote it whole
    for record in (legacy, careless):
        row = dict(zip(EVENT_COLUMNS, event_row(record), strict=True))
        assert row["ip_prefix"] == "10.1.2.0" and row["visitor_hash"] == ""
        assert "10.1.2.3" not in repr(row)


def test_unicode_digits_are_not_an_address() -> None:
    assert ip_prefix("1.2.3.\u00b2") == "" and ip_prefix("\u0661.2.3.4") == ""
