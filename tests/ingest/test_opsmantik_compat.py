"""OpsMantik's tracker as it ships, at the HTTP level: ``text/plain`` bodies, calls posted to
``/api/call-event/v2`` (signed mode sends ``X-Ops-Site-Id``), and ad landing pages whose
events carry more meta keys than the old limit (reference/opsmantik-behaviour.md)."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import pytest

from leadstream.ingest.signing import sign
from leadstream.schemas.calls import CallRecord
from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from tests.edge_fixtures import ORIGIN, SECRET, read_topic
from tests.ingest.test_call_event import responder  # noqa: F401  (fixture: answers the calls)

pytestmark = pytest.mark.integration
TEXT = {"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN}


def ops_call(site_id: str = "site-1", **kw: object) -> dict[str, object]:
    """The body its ``sendCallEvent`` builds: intent fields, ads context, a null click id."""
    return {
        "event_id": str(uuid.uuid4()),
        "site_id": site_id,
        "phone_number": "tel:+905321234567",
        "fingerprint": "fp-match",
        "action": "phone",
        "intent_action": "phone",
        "intent_target": "tel:+905321234567",
        "intent_stamp": "1733150000000-ab12-tel-3f2a1c",
        "intent_page_url": "https://shop.example/landing",
        "url": "https://shop.example/landing",
        "ua": "Mozilla/5.0",
        "gclid": None,
        "wbraid": None,
        "gbraid": None,
        "ads_context": {"keyword": "plumber", "campaign_id": 123},
        **kw,
    }


def ops_event(n_extra: int) -> dict[str, object]:
    """A conversion from an ad landing page: the Google Ads template, engagement keys, consent scopes."""
    meta: dict[str, object] = {"fp": "fp-ads", "gclid": "Cj0KCQiA-ads-123", "om_tracker_version": "core-2026-11"}
    meta |= {f"ads_{i}": f"v{i}" for i in range(n_extra - 1)}
    return {
        "s": "site-1",
        "u": "https://shop.example/landing?gclid=Cj0KCQiA-ads-123",
        "sid": str(uuid.uuid4()),
        "sm": "2026-12-01",
        "ec": "conversion",
        "ea": "phone_call",
        "el": "tel:+905321234567",
        "r": "",
        "meta": meta,
        "consent_scopes": ["analytics", "marketing"],
    }


async def test_text_plain_bodies_are_taken_on_sync(client: httpx.AsyncClient, settings: Settings) -> None:
    body = orjson.dumps({"events": [ops_event(3), ops_event(3)]})
    r = await client.post("/api/sync", content=body, headers=TEXT)
    assert r.status_code == 200 and r.json()["count"] == 2
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert len(await read_topic(settings, settings.topics.events, 2)) == 2


async def test_forty_meta_keys_are_kept(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.post("/api/sync", content=orjson.dumps(ops_event(40)), headers=TEXT)
    assert r.status_code == 200, r.text
    [raw] = await read_topic(settings, settings.topics.events, 1)
    record = EventRecord.model_validate_json(raw)
    assert len(record.meta) == 40 and record.meta_dropped == 0  # om_tracker_version + 39 ad keys


async def test_past_sixty_four_extra_keys_the_rest_are_dropped_and_counted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await client.post("/api/sync", content=orjson.dumps(ops_event(70)), headers=TEXT)
    assert r.status_code == 200, r.text
    [raw] = await read_topic(settings, settings.topics.events, 1)
    record = EventRecord.model_validate_json(raw)
    assert len(record.meta) == 64 and record.meta_dropped == 6


async def test_preflight_allows_x_ops_site_id(client: httpx.AsyncClient) -> None:
    asked = "content-type,x-ops-site-id,x-ops-ts,x-ops-signature"
    r = await client.options(
        "/api/call-event/v2",
        headers={"origin": ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": asked},
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert set(asked.split(",")) <= allowed


async def test_v2_call_is_served_like_the_first(client: httpx.AsyncClient, responder: list[CallRecord]) -> None:  # noqa: F811
    r = await client.post("/api/call-event/v2", content=orjson.dumps(ops_call()), headers=TEXT)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "matched" and r.headers["access-control-allow-origin"] == ORIGIN
    [record] = responder
    assert record.phone_number == "+905321234567" and record.click_ids == {}


async def test_signed_v2_call_with_its_site_header(client: httpx.AsyncClient, responder: list[CallRecord]) -> None:  # noqa: F811
    body = orjson.dumps(ops_call("signed"))
    ts = str(int(time.time()))
    headers = {**TEXT, "x-ops-site-id": "signed", "x-ops-ts": ts, "x-ops-signature": sign(SECRET, ts, body)}
    r = await client.post("/api/call-event/v2", content=body, headers=headers)
    assert r.status_code == 200, r.text

    unsigned = await client.post("/api/call-event/v2", content=body, headers={**TEXT, "x-ops-site-id": "signed"})
    assert unsigned.status_code == 401 and unsigned.json()["status"] == "error"


@pytest.mark.parametrize("path", ["/api/call-event", "/api/call-event/v2"])
async def test_site_header_must_name_the_body_site(
    client: httpx.AsyncClient,
    responder: list[CallRecord],  # noqa: F811
    path: str,
) -> None:
    r = await client.post(path, content=orjson.dumps(ops_call()), headers={**TEXT, "x-ops-site-id": "site-2"})
    assert r.status_code == 401
    assert r.json() == {"status": "error", "message": "X-Ops-Site-Id does not match site_id"}
    assert responder == []  # nothing published


async def test_retry_after_is_readable_cross_origin(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/sync", content=orjson.dumps(ops_event(1)), headers=TEXT)
    assert "retry-after" in r.headers["access-control-expose-headers"].lower()
