"""The worker on the real stack: session scores and call matching (SPEC §3.2, §3.3, §4).

One edge and one worker process serve the whole module; each test uses its own sessions and
fingerprints. Answers come back through the real reply path (Kafka -> matcher -> Redis -> edge).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from tests.processes import edge_and_worker, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
GCLID = "Cj0KCQiA-worker-1"


@pytest.fixture(scope="module")
def running(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, httpx.Client]]:
    def add_sites(settings: Settings) -> None:
        run_cli(settings, "sites", "add", "site-a")
        run_cli(settings, "sites", "add", "site-b")

    with edge_and_worker(
        tmp_path_factory.mktemp("worker"),
        add_sites,
        call_reply_timeout_s=5.0,
        match_grace_s=2.0,
        state_expiry_interval_s=1.0,
    ) as running:
        yield running


def query(settings: Settings, sql: str) -> list[dict[str, object]]:
    return orjson.loads(run_cli(settings, "query", "--format", "json", sql))


def eventually(settings: Settings, sql: str, predicate: object, timeout_s: float = 30) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout_s
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        rows = query(settings, sql)
        if predicate(rows):  # type: ignore[operator]
            return rows
        time.sleep(0.5)
    raise AssertionError(f"condition not met; last rows: {rows}")


def track(
    http: httpx.Client, site: str, sid: str, fp: str, headers: dict[str, str] | None = None, **kw: object
) -> None:
    body = {"s": site, "u": "https://shop.example/", "sid": sid, "meta": {"fp": fp, **kw.pop("meta", {})}, **kw}
    assert http.post("/api/sync", json=body, headers=headers).status_code == 200


def call(http: httpx.Client, site: str, fp: str) -> httpx.Response:
    return http.post("/api/call-event", json={"site_id": site, "phone_number": "+15550100", "fingerprint": fp})


def test_session_scores_and_matched_call(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid, fp = str(uuid.uuid4()), f"fp-{uuid.uuid4().hex[:8]}"
    track(http, "site-a", sid, fp, ec="conversion", ea="form_submit", meta={"gclid": GCLID})  # event score 75
    track(http, "site-a", sid, fp, ec="interaction", ea="view")  # event score 10
    track(http, "site-a", sid, fp, ec="interaction", ea="view")  # same event within 5 s: counts once
    # session: 20 (one conversion) + 5 (one interaction, the repeat suppressed) + min(40, 75) = 65
    [row] = eventually(
        settings,
        f"SELECT score, events, conversions, interactions, has_click_id, source, medium "
        f"FROM sessions_v WHERE session_id = '{sid}'",
        lambda rows: rows and rows[0]["events"] == 2,
    )
    assert row == {
        "score": 65,
        "events": 2,
        "conversions": 1,
        "interactions": 1,
        "has_click_id": 1,
        "source": "google",
        "medium": "cpc",
    }

    r = call(http, "site-a", fp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "matched" and body["session_id"] == sid and body["lead_score"] == 65
    [stored] = eventually(
        settings,
        f"SELECT status, session_id, lead_score, call_status FROM calls_v WHERE call_id = '{body['call_id']}'",
        bool,
    )
    assert stored["status"] == "matched" and stored["lead_score"] == 65
    assert stored["call_status"] == "suspicious"  # the session is younger than 120 s


def test_call_arriving_before_its_session_is_processed_still_matches(running: tuple[Settings, httpx.Client]) -> None:
    _, http = running
    sid, fp = str(uuid.uuid4()), f"fp-{uuid.uuid4().hex[:8]}"
    track(http, "site-a", sid, fp, ec="conversion", ea="phone_call")
    r = call(http, "site-a", fp)  # at once: the scorer has not flushed the event yet
    assert r.status_code == 200 and r.json()["status"] == "matched" and r.json()["session_id"] == sid


def test_never_matches_another_sites_session(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid, fp = str(uuid.uuid4()), f"fp-{uuid.uuid4().hex[:8]}"
    track(http, "site-a", sid, fp, ec="conversion")
    eventually(settings, f"SELECT 1 FROM sessions_v WHERE session_id = '{sid}'", bool)
    r = call(http, "site-b", fp)  # same fingerprint, other site
    assert r.status_code == 200 and r.json() | {"call_id": None} == {
        "status": "unmatched",
        "call_id": None,
        "session_id": None,
        "lead_score": 0,
    }


def test_click_id_session_preferred(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    fp = f"fp-{uuid.uuid4().hex[:8]}"
    with_click, without = str(uuid.uuid4()), str(uuid.uuid4())
    track(http, "site-a", with_click, fp, meta={"gclid": GCLID})
    track(http, "site-a", without, fp, ec="conversion")  # more recent, but no click id
    eventually(
        settings, f"SELECT count() AS n FROM sessions_v WHERE fingerprint = '{fp}'", lambda rows: rows[0]["n"] == 2
    )
    r = call(http, "site-a", fp)
    assert r.json()["status"] == "matched" and r.json()["session_id"] == with_click


def test_poison_record_is_dead_lettered_and_the_stream_goes_on(running: tuple[Settings, httpx.Client]) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer

    settings, http = running

    async def produce_poison() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            meta = await producer.send_and_wait(settings.topics.events, b'{"not": "an event"}', key=b"poison-key")
        finally:
            await producer.stop()
        return int(meta.offset)

    offset = asyncio.run(produce_poison())
    sid = str(uuid.uuid4())
    track(http, "site-a", sid, "fp-after-poison")  # an ordinary event after it
    # every processor that reads it says so: the events sink and the session scorer
    dead = eventually(
        settings,
        "SELECT stage, source_offset, reason, key FROM dead_letters_v WHERE key = 'poison-key' ORDER BY stage",
        lambda rows: len(rows) == 2,
    )
    assert [d["stage"] for d in dead] == ["events", "session-scorer"]
    assert all(d["source_offset"] == offset and "invalid" in str(d["reason"]) for d in dead)
    eventually(settings, f"SELECT 1 FROM events_v WHERE session_id = '{sid}'", bool)  # the stream went on

    listed = orjson.loads(run_cli(settings, "dlq", "list", "--stage", "events", "--format", "json"))
    assert any(row["source_offset"] == offset for row in listed)
    assert "replayed 1" in run_cli(settings, "dlq", "replay", "--stage", "events")
    # still poison: it comes back as new dead letters (one a stage) from its new offset
    eventually(
        settings, "SELECT count() AS n FROM dead_letters_v WHERE key = 'poison-key'", lambda rows: rows[0]["n"] == 4
    )


def test_a_malformed_sales_os_run_is_dead_lettered_like_any_poison_record(
    running: tuple[Settings, httpx.Client],
) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer

    settings, _ = running

    async def produce_poison() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            topic = settings.topics.os_stage("discovery")
            meta = await producer.send_and_wait(topic, b'{"run_id": 7}', key=b"poison-run")
        finally:
            await producer.stop()
        return int(meta.offset)

    offset = asyncio.run(produce_poison())
    [dead] = eventually(
        settings, "SELECT stage, source_offset, reason FROM dead_letters_v WHERE key = 'poison-run'", bool
    )
    assert dead["stage"] == "os-discovery" and dead["source_offset"] == offset and "invalid" in str(dead["reason"])


def test_a_session_idle_past_the_ttl_is_tombstoned_in_the_changelog(running: tuple[Settings, httpx.Client]) -> None:
    import asyncio
    from datetime import UTC, date, datetime, timedelta

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    settings, http = running
    old_sid = uuid.uuid4()
    at = datetime.now(UTC) - timedelta(days=settings.session_ttl_days + 1)
    old = EventRecord(
        event_id=uuid.uuid4(),
        received_at=at,
        site_id="site-expiry",
        session_id=old_sid,
        session_month=date(at.year, at.month, 1),
        url="https://shop.example/long-ago",
        category="acquisition",
        action="view",
        score=1,
    )

    async def produce_then_find_tombstone() -> bool:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            record = old.model_dump_json().encode()
            await producer.send_and_wait(settings.topics.events, record, key=str(old_sid).encode())
        finally:
            await producer.stop()
        track(http, "site-a", str(uuid.uuid4()), "fp-expiry-now")  # the table's newest activity: now
        consumer = AIOKafkaConsumer(
            f"{settings.worker_group}-sessions-changelog",
            bootstrap_servers=settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            group_id=None,
        )
        await consumer.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    if any(r.key == orjson.dumps(str(old_sid)) and r.value is None for r in records):
                        return True
        finally:
            await consumer.stop()
        return False

    assert asyncio.run(produce_then_find_tombstone())


def test_daily_site_stats(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid, fp = str(uuid.uuid4()), f"fp-{uuid.uuid4().hex[:8]}"
    before = query(
        settings, "SELECT sum(events) AS e, sum(conversions) AS c FROM daily_site_stats_v WHERE site_id = 'site-b'"
    )[0]
    track(http, "site-b", sid, fp, ec="conversion", ea="form_submit")
    track(http, "site-b", sid, fp, ea="click")
    [row] = eventually(
        settings,
        "SELECT sum(events) AS e, sum(conversions) AS c FROM daily_site_stats_v WHERE site_id = 'site-b'",
        lambda rows: rows[0]["e"] == (before["e"] or 0) + 2,
    )
    assert row["c"] == (before["c"] or 0) + 1
    assert "through the worker" in run_cli(settings, "stats", "refresh")  # the worker owns the warehouse
    columns = "day, events, sessions, conversions, calls, matched_calls, avg_score"
    exact, materialised = (
        query(settings, f"SELECT {columns} FROM {view} WHERE site_id = 'site-b' ORDER BY day")
        for view in ("daily_site_stats_v", "daily_site_stats_mat_v")
    )
    assert materialised == exact


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
AD_LANDING = (
    "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=winter&adgroup=boots&matchtype=e&network=g"
)


def test_the_analysts_queries_run_on_real_data(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    sid, fp = str(uuid.uuid4()), f"fp-{uuid.uuid4().hex[:8]}"
    track(http, "site-a", sid, fp, u=AD_LANDING, headers={"user-agent": IPHONE}, meta={"gclid": GCLID})
    track(http, "site-a", sid, fp, ec="conversion", ea="form_submit", headers={"user-agent": IPHONE})
    eventually(settings, f"SELECT 1 FROM sessions_v WHERE session_id = '{sid}'", bool)
    assert call(http, "site-a", fp).json()["status"] == "matched"
    eventually(settings, "SELECT count() AS n FROM calls_v WHERE site_id = 'site-a'", lambda r: r[0]["n"] > 0)
    run_cli(settings, "stats", "refresh")  # the daily statistics without waiting for the worker's next refresh

    doc = (Path(__file__).resolve().parents[2] / "docs" / "analysts.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", doc, re.S)
    assert len(queries) == 12
    for sql in queries:
        rows = query(settings, sql.replace("'demo'", "'site-a'"))
        assert rows, f"no rows for:\n{sql}"
