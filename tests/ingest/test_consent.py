"""Consent at the edge (SPEC §7): analytics decides whether an event is kept at all, marketing
whether its click ids and campaign parameters are."""

from __future__ import annotations

import httpx
import pytest

from leadstream.ingest.consent import without_marketing
from leadstream.schemas.sites import SiteRecord
from leadstream.schemas.tracking import EventRecord, parse_sync_payload
from leadstream.settings import Settings
from leadstream.sites.registry import publish_site
from tests.edge_fixtures import ORIGIN, EdgeFactory, read_topic, sync_event

AD_URL = "https://shop.example/p?gclid=Cj0KCQiA-1234567&utm_source=google&utm_campaign=spring&matchtype=e&page=2"
BOTH = ["Analytics", "MARKETING"]


def ad_event(**kw: object) -> dict[str, object]:
    meta = {"fp": "fp-1", "gclid": "Cj0KCQiA-1234567", "utm_medium": "cpc", "plan": "pro"}
    return sync_event(u=AD_URL, ec="conversion", meta=meta, **kw)


def test_without_marketing_strips_click_ids_and_campaign_parameters() -> None:
    [event], _ = parse_sync_payload(ad_event(consent_scopes=["analytics"]))
    kept = without_marketing(event)
    assert kept.u == "https://shop.example/p?page=2"
    assert kept.meta.click_ids() == {} and kept.meta.extra == {"plan": "pro"} and kept.meta.fp == "fp-1"
    assert event.consent_scopes == ["analytics"]


def test_without_marketing_strips_a_hash_routes_campaign_too() -> None:
    url = "https://shop.example/#/offer?utm_source=ads&gclid=x&step=2"
    [event], _ = parse_sync_payload(sync_event(u=url, consent_scopes=["analytics"]))
    assert without_marketing(event).u == "https://shop.example/#/offer?step=2"
    [plain], _ = parse_sync_payload(sync_event(u="https://shop.example/#top", consent_scopes=["analytics"]))
    assert without_marketing(plain).u == "https://shop.example/#top"


def test_scopes_are_lower_cased() -> None:
    [event], _ = parse_sync_payload(sync_event(consent_scopes=[" Analytics ", "MARKETING", "analytics"]))
    assert event.consent_scopes == ["analytics", "marketing"]


@pytest.mark.integration
async def test_single_event_without_analytics_is_204_and_not_published(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await client.post("/api/sync", json=ad_event(consent_scopes=["marketing"]), headers={"origin": ORIGIN})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["x-leadstream-consent-missing"] == "analytics"
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert await read_topic(settings, settings.topics.events, 1, max_s=2) == []


@pytest.mark.integration
async def test_batch_skips_events_without_analytics(client: httpx.AsyncClient, settings: Settings) -> None:
    events = [ad_event(consent_scopes=BOTH), ad_event(consent_scopes=[]), ad_event()]
    r = await client.post("/api/sync", json={"events": events})
    assert r.status_code == 200 and r.json()["count"] == 2  # one less: no scopes at all counts as consented
    assert len(await read_topic(settings, settings.topics.events, 3, max_s=3)) == 2

    none = await client.post("/api/sync", json={"events": [ad_event(consent_scopes=["marketing"])]})
    assert none.status_code == 200 and none.json() == {"ok": True, "score": 0, "status": "synced", "count": 0}


@pytest.mark.integration
async def test_without_marketing_consent_stored_without_click_ids(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await client.post("/api/sync", json=ad_event(consent_scopes=["analytics"]))
    assert r.status_code == 200 and r.json()["score"] == 50  # a conversion; the click id would have made it 75
    [raw] = await read_topic(settings, settings.topics.events, 1)
    record = EventRecord.model_validate_json(raw)
    assert record.click_ids == {} and "gclid" not in record.url and "utm_" not in record.url
    assert record.meta == {"plan": "pro"} and record.consent_scopes == ["analytics"]


@pytest.mark.integration
async def test_a_site_that_requires_consent_refuses_events_without_scopes(
    edge: EdgeFactory, settings: Settings
) -> None:
    await publish_site(settings, SiteRecord(public_id="strict", origins=[ORIGIN], require_consent=True))
    client = await edge()
    no_scopes = await client.post("/api/sync", json=sync_event(s="strict"))
    assert no_scopes.status_code == 204
    given = await client.post("/api/sync", json=sync_event(s="strict", consent_scopes=["analytics"]))
    assert given.status_code == 200


@pytest.mark.integration
async def test_bad_scopes_are_a_400(client: httpx.AsyncClient) -> None:
    for scopes in ["analytics", [1], ["x" * 65], ["a"] * 17]:
        r = await client.post("/api/sync", json=sync_event(consent_scopes=scopes))
        assert r.status_code == 400 and r.json()["message"].startswith("Invalid consent_scopes"), scopes
