"""Erasure reaches beyond the visitor's own rows: the answers the edge keeps in Redis for the
visitor's calls, the call matcher's state (its changelog) and the Stats API's per-visit rows go
too. On the real stack: edge and worker processes, Kafka, Redis, chDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis

from leadstream.privacy.erasure import ErasureExecutor
from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.redis.replies import answer_key
from leadstream.schemas.privacy import ErasureRequest, subject
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from tests.privacy.test_privacy_e2e import _tombstones, eventually, rows
from tests.processes import edge_and_worker, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SITE = "erasure-site"


@pytest.fixture(scope="module")
def running(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, httpx.Client]]:
    with edge_and_worker(
        tmp_path_factory.mktemp("erasure"), lambda s: run_cli(s, "sites", "add", SITE), match_grace_s=1.0
    ) as running:
        yield running


def test_erasure_removes_call_answers_and_the_matchers_state(running: tuple[Settings, httpx.Client]) -> None:
    settings, http = running
    fp, sid = f"fp-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = {"s": SITE, "u": "https://shop.example/", "sid": sid, "meta": {"fp": fp}}
    assert http.post("/api/sync", json=body).status_code == 200
    call = {"site_id": SITE, "phone_number": "+971501234567", "fingerprint": fp, "event_id": str(uuid.uuid4())}
    first = http.post("/api/call-event", json=call)
    assert first.status_code in (200, 202), first.text
    mine = f"site_id = '{SITE}' AND fingerprint = '{fp}'"
    [found] = eventually(lambda: rows(settings, f"SELECT toString(call_id) AS id FROM calls_v WHERE {mine}"))
    store = redis.Redis.from_url(settings.redis_url)
    key = answer_key(settings.topic_prefix, "call", found["id"])
    eventually(lambda: store.exists(key) == 1)  # the edge answers a repeat from it

    run_cli(settings, "privacy", "erase", "--site", SITE, "--fingerprint", fp)

    assert store.exists(key) == 0
    # a repeat of the same request no longer finds the visitor's answer
    again = http.post("/api/call-event", json=call)
    assert again.status_code in (200, 202) and again.json().get("session_id") in (None, "")
    # the matcher dropped the visitor's sessions from its table: a tombstone in its changelog
    tombstones = asyncio.run(_tombstones(settings, settings.topics.matcher_changelog))
    assert any(fp in key for key in tombstones), tombstones


async def test_erasure_removes_the_visitors_stats_rows(settings: Settings, warehouse: Warehouse) -> None:
    """The Stats API's per-visit rows (session id, visitor hash) go with the visitor's sessions."""
    site, fp, mine, other = "stats-erase", "fp-stats", uuid.uuid4(), uuid.uuid4()
    hour = datetime(2026, 12, 1, 10, tzinfo=UTC)

    def seed(client: Any) -> None:
        for session, fingerprint in ((mine, fp), (other, "fp-someone-else")):
            client.insert(
                "sessions",
                [[site, session, fingerprint, hour, hour]],
                column_names=["site_id", "session_id", "fingerprint", "first_seen", "last_seen"],
            )
            client.insert(
                "stats_visits",
                [[site, hour, session, 42, hour, hour]],
                column_names=["site_id", "hour", "session_id", "visitor_hash", "start", "refreshed_at"],
            )

    warehouse.sync(seed)
    executor = ErasureExecutor(settings, warehouse, ForgottenVisitors(settings))
    executor._settle_s = 0
    request = ErasureRequest(site_id=site, scope="fingerprint", subject=subject(site, "fingerprint", fp))
    await executor.execute(request)

    left = warehouse.sync(lambda c: c.query("SELECT session_id FROM stats_visits").result_rows)
    assert left == [(other,)]
