import uuid
from datetime import UTC, date, datetime

import orjson
import pytest

from leadstream.schemas.errors import PayloadError
from leadstream.schemas.tracking import (
    MAX_BATCH,
    MAX_META_EXTRA_KEYS,
    EventRecord,
    encode_event_record,
    parse_sync_payload,
)

SID = str(uuid.uuid4())
OK = {"s": "site-1", "u": "https://shop.example/p?q=1", "sid": SID}


def message(body: object) -> str:
    with pytest.raises(PayloadError) as exc:
        parse_sync_payload(body)
    return exc.value.message


def test_minimal_event_gets_defaults() -> None:
    [event], is_batch = parse_sync_payload(OK)
    assert not is_batch
    assert (event.ec, event.ea, event.el, event.ev) == ("interaction", "view", None, None)
    today = datetime.now(UTC).date()
    assert event.month == date(today.year, today.month, 1)


def test_unknown_top_level_keys_are_ignored() -> None:
    [event], _ = parse_sync_payload({**OK, "zzz": [1, 2, 3]})
    assert event.s == "site-1"


def test_meta_known_and_extra_keys() -> None:
    [event], _ = parse_sync_payload(
        {
            **OK,
            "meta": {
                "fp": "f",
                "gclid": "G" * 12,
                "utm_source": "x",
                "n": 3,
                "b": False,
                "nothing": None,
                "duration_sec": 12.5,
            },
        }
    )
    assert event.meta.fp == "f"
    assert event.meta.click_ids() == {"gclid": "G" * 12}
    assert event.meta.extra == {"utm_source": "x", "n": "3", "b": "false"}
    assert event.meta.duration_sec == 12.5


def test_meta_keys_past_the_limit_are_dropped_and_counted_never_refused() -> None:
    # OpsMantik's ad landing pages send 32 extra keys, and one option more tipped the old limit.
    extra = {f"k{i}": "v" for i in range(MAX_META_EXTRA_KEYS + 7)}
    meta = {"fp": "f", **extra, "utm_source": "ads", "gclid": "G" * 12, "too_late": "x" * 600}
    [event], _ = parse_sync_payload({**OK, "meta": meta})
    kept = {f"k{i}" for i in range(MAX_META_EXTRA_KEYS)}
    assert set(event.meta.extra) == kept | {"utm_source"}  # the first 64 others, and UTM keys always
    assert event.meta.dropped == 8  # k64..k70 and too_late (dropped, so its length is not judged)
    assert event.meta.fp == "f" and event.meta.click_ids() == {"gclid": "G" * 12}


def test_meta_value_limit_stays_for_kept_keys() -> None:
    assert message({**OK, "meta": {"k": "v" * 513}}).startswith("Invalid meta:")


def test_client_event_id_gives_a_stable_server_id() -> None:
    eid = str(uuid.uuid4())
    [a], _ = parse_sync_payload({**OK, "eid": eid})
    [b], _ = parse_sync_payload({**OK, "eid": eid, "rt": 1, "ea": "other"})
    assert a.event_id("fresh") == b.event_id("other") != "fresh" and b.rt and not a.rt
    [c], _ = parse_sync_payload({**OK, "eid": eid, "s": "site-2"})
    assert c.event_id("x") != a.event_id("x")  # scoped by site (and session)
    [plain], _ = parse_sync_payload(OK)
    assert plain.event_id("fresh") == "fresh"
    assert message({**OK, "eid": "not-a-uuid"}).startswith("Invalid eid:")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([OK], "Invalid body: must be a JSON object"),
        ({**OK, "s": ""}, "Invalid s:"),
        ({**OK, "s": "x" * 129}, "Invalid s:"),
        ({**OK, "s": 5}, "Invalid s:"),
        ({k: v for k, v in OK.items() if k != "u"}, "Invalid u: Field required"),
        ({**OK, "u": "/relative"}, "Invalid u: must be an absolute http(s) URL"),
        ({**OK, "u": "javascript:alert(1)"}, "Invalid u:"),
        ({**OK, "u": "https://x/" + "a" * 4096}, "Invalid u:"),
        ({**OK, "sid": "not-a-uuid"}, "Invalid sid:"),
        ({**OK, "sid": 12}, "Invalid sid:"),
        ({**OK, "sm": "2026-02-15"}, "Invalid sm: must be YYYY-MM-01"),
        ({**OK, "sm": "2026-13-01"}, "Invalid sm:"),
        ({**OK, "ec": "purchase"}, "Invalid ec:"),
        ({**OK, "ea": "a" * 65}, "Invalid ea:"),
        ({**OK, "el": "a" * 513}, "Invalid el:"),
        ({**OK, "ev": "12"}, "Invalid ev:"),
        ({**OK, "ev": True}, "Invalid ev:"),
        ({**OK, "r": "a" * 2049}, "Invalid r:"),
        ({**OK, "meta": "x"}, "Invalid meta:"),
        ({**OK, "meta": {"fp": "x" * 129}}, "Invalid meta.fp:"),
        ({**OK, "meta": {"duration_sec": -1}}, "Invalid meta.duration_sec:"),
        ({**OK, "meta": {"nested": {"a": 1}}}, "Invalid meta:"),
        ({**OK, "meta": {"k": "v" * 513}}, "Invalid meta:"),
        ({"events": []}, "Invalid events: must hold 1..100"),
        ({"events": [OK] * (MAX_BATCH + 1)}, "Invalid events: must hold 1..100"),
        ({"events": "x"}, "Invalid events: must be an array"),
        ({"events": [OK, {**OK, "s": "other"}]}, "Invalid events[1].s: must name the same site"),
        ({"events": [OK, {**OK, "sid": "x"}]}, "Invalid events[1].sid:"),
        ({"events": [OK, 3]}, "Invalid events[1]:"),
    ],
)
def test_errors_name_the_first_offending_field(body: object, expected: str) -> None:
    assert message(body).startswith(expected)


def test_batch() -> None:
    events, is_batch = parse_sync_payload({"events": [OK, {**OK, "ea": "click"}]})
    assert is_batch and [e.ea for e in events] == ["view", "click"]


def test_record_from_event_uses_full_names() -> None:
    [event], _ = parse_sync_payload(
        {
            **OK,
            "ec": "conversion",
            "el": "lbl",
            "ev": 3,
            "r": "https://g.co",
            "meta": {"fp": "fp1", "wbraid": "W" * 12, "utm_source": "ads"},
        }
    )
    now = datetime.now(UTC)
    event_id = uuid.uuid4()
    raw = encode_event_record(
        event,
        event_id=str(event_id),
        received_at=now,
        score=50,
        ip_prefix="1.2.3.0",
        visitor_hash="ab" * 16,
        user_agent="ua" * 400,
    )
    record = EventRecord.model_validate_json(raw)
    assert record.event_id == event_id and record.received_at == now and record.score == 50
    assert record.site_id == "site-1" and str(record.session_id) == SID and record.url == event.u
    assert record.category == "conversion" and record.action == event.ea and record.label == "lbl"
    assert record.value == 3 and record.referrer == "https://g.co" and record.session_month == event.month
    assert record.fingerprint == "fp1" and record.click_ids == {"wbraid": "W" * 12}
    assert record.meta == {"utm_source": "ads"}
    assert record.ip_prefix == "1.2.3.0" and record.visitor_hash == "ab" * 16
    assert record.meta_dropped == 0 and record.client_event_id is None and not record.resent
    assert len(record.user_agent or "") == 512
    # the same JSON pydantic would write for that record
    assert orjson.loads(raw) == orjson.loads(record.model_dump_json())
