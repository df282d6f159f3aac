"""Privacy on the real stack: edge and worker processes, Kafka, chDB. Bots flagged and kept out
of the analyst views and daily statistics, devices and campaigns enriched, marketing fields
left out without consent, erasure that re-delivery cannot undo, retention as TTLs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from leadstream.settings import Settings
from leadstream.storage.analyst import analyst_query
from leadstream.storage.retention import apply_retention
from leadstream.storage.warehouse import Warehouse
from tests.enrichment.test_campaign import ADS_LANDING
from tests.enrichment.test_device import GOOGLEBOT, IPHONE_SAFARI
from tests.processes import edge_and_worker, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SITE = "privacy-site"


@pytest.fixture(scope="module")
def running(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, httpx.Client]]:
    with edge_and_worker(
        tmp_path_factory.mktemp("privacy"), lambda s: run_cli(s, "sites", "add", SITE), match_grace_s=1.0
    ) as running:
        yield running


def rows(settings: Settings, sql: str) -> list[dict[str, Any]]:
    result = analyst_query(settings, sql)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def eventually(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while (result := check()) is None or result is False or result == []:
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout_s}s; last: {result!r}")
        time.sleep(0.5)
    return result


def track(http: httpx.Client, sid: str, fp: str, user_agent: str = "", **kw: Any) -> None:
    body = {"s": SITE, "u": "https://shop.example/", "sid": sid, "meta": {"fp": fp}, **kw}
    r = http.post("/api/sync", json=body, headers={"user-agent": user_agent} if user_agent else {})
    assert r.status_code == 200, r.text


def test_bots_are_flagged_and_kept_out_of_views_and_daily_stats(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    human, bot = str(uuid.uuid4()), str(uuid.uuid4())
    track(http, human, "fp-human", IPHONE_SAFARI)
    track(http, bot, "fp-bot", GOOGLEBOT)

    both = f"session_id IN ('{human}', '{bot}')"
    stored = eventually(lambda: (r := rows(settings, f"SELECT * FROM events_all_v WHERE {both}")) and len(r) == 2 and r)
    by_session = {r["session_id"]: r for r in stored}
    phone, crawler = by_session[human], by_session[bot]
    assert (phone["device_type"], phone["os"], phone["browser"], phone["is_bot"]) == ("mobile", "iOS", "Safari", 0)
    assert (crawler["device_type"], crawler["browser"], crawler["is_bot"]) == ("bot", "Googlebot", 1)
    assert [r["session_id"] for r in rows(settings, f"SELECT session_id FROM events_v WHERE {both}")] == [human]
    sessions = eventually(lambda: (r := rows(settings, f"SELECT * FROM sessions_all_v WHERE {both}")) and len(r) == 2)
    assert sessions
    assert [r["session_id"] for r in rows(settings, f"SELECT session_id FROM sessions_v WHERE {both}")] == [human]

    run_cli(settings, "stats", "refresh")
    for view in ("daily_site_stats_v", "daily_site_stats_mat_v"):
        [day] = rows(settings, f"SELECT sum(events) AS events FROM {view} WHERE site_id = '{SITE}'")
        [exact] = rows(settings, f"SELECT count() AS events FROM events_v WHERE site_id = '{SITE}'")
        assert day["events"] == exact["events"], view  # the bot's event is not counted


def test_campaign_device_and_consent_land_on_the_session(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid = str(uuid.uuid4())
    track(
        http,
        sid,
        "fp-ads",
        IPHONE_SAFARI,
        u=ADS_LANDING,
        meta={"fp": "fp-ads", "gclid": "Cj0KCQiA-1234567"},  # trackers carry the landing's click id in meta
        r="https://www.google.com/",
        consent_scopes=["Analytics", "marketing"],
    )
    track(
        http,
        sid,
        "fp-ads",
        IPHONE_SAFARI,
        u="https://shop.example/pricing?utm_campaign=later",
        consent_scopes=["analytics", "marketing"],
    )
    [session] = eventually(
        lambda: rows(settings, f"SELECT * FROM sessions_v WHERE session_id = '{sid}' AND events = 2")
    )
    assert {k: session[k] for k in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_adgroup")} == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "spring",
        "utm_term": "plumber",
        "utm_adgroup": "leaks",
    }
    assert (session["matchtype"], session["network"], session["adposition"], session["target_id"]) == (
        "e",
        "g",
        "1t1",
        "kwd-123",
    )
    assert (session["feed_item_id"], session["loc_interest_ms"], session["loc_physical_ms"]) == (
        "55",
        "9041082",
        "1000002",
    )
    assert session["ads_device_model"] == "" and session["placement"] == ""  # placeholders left out
    assert (session["device_type"], session["os"], session["browser"]) == ("mobile", "iOS", "Safari")
    assert session["referrer_host"] == "google.com" and session["consent_scopes"] == ["analytics", "marketing"]
    assert session["gclid"] == "Cj0KCQiA-1234567"


def test_without_marketing_consent_no_click_ids_or_campaigns_are_stored(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid = str(uuid.uuid4())
    track(
        http,
        sid,
        "fp-private",
        u=ADS_LANDING,
        consent_scopes=["analytics"],
        meta={"fp": "fp-private", "gclid": "Cj0KCQiA-7654321", "utm_source": "x"},
    )
    [event] = eventually(
        lambda: rows(settings, f"SELECT url, gclid, meta, consent_scopes FROM events_v WHERE session_id = '{sid}'")
    )
    assert event["url"] == "https://shop.example/landing" and event["gclid"] == "" and event["meta"] == {}
    assert event["consent_scopes"] == ["analytics"]
    [session] = eventually(
        lambda: rows(settings, f"SELECT gclid, utm_campaign, source FROM sessions_v WHERE session_id = '{sid}'")
    )
    assert session == {"gclid": "", "utm_campaign": "", "source": "direct"}


async def _records(settings: Settings, topic: str, wanted: Callable[[bytes], bool]) -> list[tuple[bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found = []
    try:
        while batches := await consumer.getmany(timeout_ms=1500):
            found += [
                (r.key, r.value) for rs in batches.values() for r in rs if r.value is not None and wanted(r.value)
            ]
    finally:
        await consumer.stop()
    return found


async def _publish(settings: Settings, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def test_erasure_removes_the_visitor_and_redelivery_does_not_bring_it_back(
    running: tuple[Settings, httpx.Client],
) -> None:
    settings, http = running
    fp = f"fp-erase-{uuid.uuid4().hex[:6]}"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    track(http, first, fp, ec="conversion", ea="form_submit", meta={"fp": fp, "gclid": "Cj0KCQiA-erase-01"})
    track(http, second, fp)
    assert http.post(
        "/api/call-event", json={"site_id": SITE, "phone_number": "+971501234567", "fingerprint": fp}
    ).status_code in (200, 202)
    mine = f"site_id = '{SITE}' AND fingerprint = '{fp}'"
    eventually(lambda: rows(settings, f"SELECT count() AS n FROM sessions_v WHERE {mine}")[0]["n"] == 2)
    eventually(lambda: rows(settings, f"SELECT count() AS n FROM calls_v WHERE {mine}")[0]["n"] == 1)

    dry = run_cli(settings, "privacy", "erase", "--site", SITE, "--fingerprint", fp, "--dry-run")
    assert "would remove" in dry and "2" in dry
    done = run_cli(settings, "privacy", "erase", "--site", SITE, "--fingerprint", fp)
    assert "removed" in done

    for table in ("events_all_v", "sessions_all_v", "calls_v"):
        assert rows(settings, f"SELECT count() AS n FROM {table} WHERE {mine}")[0]["n"] == 0, table
    [erasure] = rows(settings, f"SELECT * FROM erasures WHERE site_id = '{SITE}'")
    assert (erasure["scope"], erasure["events"], erasure["sessions"], erasure["calls"]) == ("fingerprint", 2, 2, 1)
    assert fp not in str(erasure)  # the request is recorded without naming the visitor

    # The scorer's table entries are gone too: tombstones in its changelog.
    changelog = f"{settings.worker_group}-sessions-changelog"
    tombstones = asyncio.run(_tombstones(settings, changelog))
    assert {first, second} <= tombstones

    # Re-delivered (the same records published again) and new events: the visitor stays out.
    events = asyncio.run(_records(settings, settings.topics.events, lambda v: fp.encode() in v))
    calls = asyncio.run(_records(settings, settings.topics.calls, lambda v: fp.encode() in v))
    assert len(events) == 2 and len(calls) == 1
    asyncio.run(_publish(settings, settings.topics.events, events))
    asyncio.run(_publish(settings, settings.topics.calls, calls))
    track(http, first, fp)
    marker = str(uuid.uuid4())
    track(http, marker, "fp-someone-else")  # published after all of them
    eventually(lambda: rows(settings, f"SELECT 1 FROM sessions_v WHERE session_id = '{marker}'"))
    time.sleep(2)
    for table in ("events_all_v", "sessions_all_v", "calls_v"):
        assert rows(settings, f"SELECT count() AS n FROM {table} WHERE {mine}")[0]["n"] == 0, table


async def _tombstones(settings: Settings, topic: str) -> set[str]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: set[str] = set()
    try:
        while batches := await consumer.getmany(timeout_ms=1500):
            found |= {r.key.decode().strip('"') for rs in batches.values() for r in rs if r.value is None and r.key}
    finally:
        await consumer.stop()
    return found


def test_retention_is_a_ttl_on_each_table(warehouse: Warehouse, settings: Settings) -> None:
    # what the worker does at start (streams.app.prepare); the DDL is read on the writer's handle, since
    # analysts' SQL is SELECT only
    warehouse.sync(lambda c: apply_retention(c, settings))
    for table, clause in [
        ("events", "TTL toDateTime(received_at) + toIntervalDay(395)"),
        ("sessions", "TTL toDateTime(last_seen) + toIntervalDay(395)"),
        ("calls", "TTL toDateTime(received_at) + toIntervalDay(730)"),
        ("dead_letters", "TTL toDateTime(failed_at) + toIntervalDay(30)"),
    ]:
        [create] = warehouse.sync(lambda c, t=table: c.query(f"SHOW CREATE TABLE {t}").result_rows)
        assert clause in create[0], table
