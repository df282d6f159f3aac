"""The scorer's and the events sink's reading of event records agrees with ``EventRecord`` on what
is valid and on every field."""

import json
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadstream.schemas.event_view import read_event, read_record
from leadstream.schemas.tracking import EventRecord
from tests.json_strategies import json_values

RECORD = {
    "event_id": str(uuid.uuid4()),
    "received_at": datetime(2026, 12, 3, 12, tzinfo=UTC).isoformat(),
    "site_id": "s",
    "session_id": str(uuid.uuid4()),
    "session_month": "2026-12-01",
    "url": "https://shop.example/?utm_source=x",
    "category": "conversion",
    "action": "form_submit",
    "label": "hero",
    "referrer": "https://google.com/",
    "fingerprint": "fp-1",
    "click_ids": {"gclid": "Cj0KCQiA-1234567"},
    "duration_sec": 12,
    "meta": {"plan": "pro"},
    "consent_scopes": ["analytics"],
    "client_event_id": str(uuid.uuid4()),
    "score": 40,
    "user_agent": "Mozilla/5.0",
    "value": 49,
    "meta_dropped": 2,
    "resent": True,
    "ip_prefix": "203.0.113.0",
    "visitor_hash": "9f2c4e1a7b3d5f60a1b2c3d4e5f60718",
}


def same(raw: bytes) -> None:
    view = read_event(raw)
    record = EventRecord.model_validate_json(raw)
    assert view is not None
    same_fields = (
        *("site_id", "received_at", "url", "category", "action", "label", "referrer", "fingerprint", "click_ids"),
        *("meta", "score", "consent_scopes", "client_event_id", "duration_sec", "session_month", "value"),
        *("meta_dropped", "resent", "ip_prefix", "visitor_hash"),
    )
    for name in same_fields:
        assert getattr(view, name) == getattr(record, name), name
    assert view.session_id == str(record.session_id) and view.event_id == str(record.event_id)
    assert type(view.value) is type(record.value)


def test_a_record_as_the_edge_writes_it() -> None:
    same(orjson.dumps(RECORD))


def test_optional_fields_left_out() -> None:
    left_out = ("label", "value", "meta_dropped", "resent", "ip_prefix", "visitor_hash", "client_event_id")
    left_out += ("consent_scopes",)
    same(orjson.dumps({k: v for k, v in RECORD.items() if k not in left_out}))


def test_a_record_from_before_the_edge_anonymised_is_read_with_its_prefix_only() -> None:
    """Records still in Kafka from older edges carry the whole ``ip``: neither reader keeps it."""
    old = {k: v for k, v in RECORD.items() if k not in ("ip_prefix", "visitor_hash")} | {"ip": "203.0.113.77"}
    raw = orjson.dumps(old)
    same(raw)
    view = read_record(raw)
    assert (view.ip_prefix, view.ip, view.visitor_hash) == ("203.0.113.0", None, None)
    assert "ip" not in EventRecord.model_validate_json(raw).model_dump()
    upper = old | {"session_id": RECORD["session_id"].upper(), "ip": "2001:db8:abcd:12::1"}  # through the model
    assert read_record(orjson.dumps(upper)).ip_prefix == "2001:db8:abcd::"


def test_records_it_cannot_read_directly_go_through_the_model() -> None:
    upper = RECORD | {"session_id": RECORD["session_id"].upper(), "received_at": "2026-12-03T12:00:00Z"}
    same(orjson.dumps(upper))


@pytest.mark.parametrize(
    "broken",
    [
        b"not json",
        b"[]",
        orjson.dumps({k: v for k, v in RECORD.items() if k != "event_id"}),
        orjson.dumps(RECORD | {"category": "nonsense"}),
        orjson.dumps(RECORD | {"score": "high"}),
        orjson.dumps(RECORD | {"meta": {"n": 1}}),
        orjson.dumps(RECORD | {"client_event_id": 7}),
        orjson.dumps(RECORD | {"session_id": "not-a-session"}),
        orjson.dumps(RECORD | {"event_id": "e-1"}),
        orjson.dumps(RECORD | {"session_month": "December"}),
        orjson.dumps(RECORD | {"meta_dropped": None}),
        orjson.dumps(RECORD | {"value": "much"}),
    ],
)
def test_what_the_model_refuses_is_not_read(broken: bytes) -> None:
    assert read_event(broken) is None
    with pytest.raises(ValidationError):  # the events sink's reason for the dead letter
        read_record(broken)


# Values a field may be given: any JSON, and near-misses of the edge's own spellings.
NEAR_MISSES = st.sampled_from(
    [
        "2026-12-03T12:00:00",  # no zone
        "2026-12-03 12:00:00+00:00",
        "2026-12-03T12:00:00Z",
        "20261201",
        "2026-12-01T00:00:00Z",
        str(uuid.uuid4()).upper(),
        uuid.uuid4().hex,
        "interaction",
        "conversion",
        10.0,
        True,
        {"k": 1},
        {"k": "v"},
        ["a", 1],
        [],
    ]
)


@given(field=st.sampled_from(sorted(RECORD)), value=json_values | NEAR_MISSES, drop=st.booleans())
def test_the_view_and_the_model_agree_on_any_field_value(field: str, value: object, drop: bool) -> None:
    record = {k: v for k, v in RECORD.items() if k != field} if drop else RECORD | {field: value}
    raw = json.dumps(record).encode()  # stdlib: any integer, as a producer might write it
    try:
        EventRecord.model_validate_json(raw)
    except ValidationError:
        assert read_event(raw) is None
        return
    same(raw)
