"""Erasure reaches beyond the warehouse: the answers the edge keeps in Redis for a visitor's calls
and the call matcher's state (its changelog) go too. On the real stack: edge and worker processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from leadstream.redis.replies import answer_key
from leadstream.settings import Settings
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
