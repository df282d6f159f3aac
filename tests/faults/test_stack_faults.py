"""Services failing under load, with the edge and worker running as processes. Each scenario
prints its accounting: sent, acknowledged, stored (as analysts see it), duplicates."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.settings import REPO_ROOT, Settings
from tests.faults.conftest import stack_owned, start_kafka_and_wait
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.faults]
STACK = str(REPO_ROOT / "dev" / "stack.sh")


def count(settings: Settings, sql: str) -> int:
    return int(orjson.loads(run_cli(settings, "query", "--format", "json", sql))[0]["n"])


class Load:
    """Batches of 20 events, back to back, from a thread; remembers what was acknowledged."""

    def __init__(self, edge_url: str, site: str) -> None:
        self.edge_url, self.site = edge_url, site
        self.sent = self.acked_batches = 0
        self.acked: list[str] = []
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.edge_url, timeout=10) as http:
            i = 0
            while not self._stop.is_set():
                urls = [f"https://x.example/{uuid.uuid4().hex}" for _ in range(20)]
                body = {"events": [{"s": self.site, "u": u, "sid": str(uuid.uuid4()), "ea": "view"} for u in urls]}
                self.sent += len(urls)
                try:
                    code = http.post("/api/sync", json=body).status_code
                except httpx.HTTPError:
                    code = 0
                self.statuses[code] = self.statuses.get(code, 0) + 1
                if code == 200:
                    self.acked.extend(urls)
                else:
                    time.sleep(0.05)
                i += 1

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def running(settings: Settings, tmp: Path) -> Iterator[str]:
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    with (
        leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"),
        leadstream_process("edge", settings, f"{edge_url}/healthz", tmp / "edge.log"),
    ):
        yield edge_url


def settle(settings: Settings, site: str, acked: list[str], sent: int) -> None:
    deadline = time.monotonic() + 120
    stored = -1
    while time.monotonic() < deadline:
        stored = count(settings, f"SELECT count() AS n FROM events_v WHERE site_id = '{site}'")
        if stored >= len(acked):
            break
        time.sleep(1)
    distinct = count(settings, f"SELECT uniqExact(url) AS n FROM events_v WHERE site_id = '{site}'")
    sample = acked[:: max(1, len(acked) // 300)]  # spread over the whole run, short enough for one query
    urls = ",".join(f"'{u}'" for u in sample) or "''"
    acked_stored = count(settings, f"SELECT count() AS n FROM events_v WHERE site_id = '{site}' AND url IN ({urls})")
    print(
        f"\naccounting: sent={sent} acknowledged={len(acked)} stored={stored} distinct={distinct} "
        f"duplicates={stored - distinct}"
    )
    assert distinct == stored  # nothing counted twice
    assert acked_stored == len(sample)  # acknowledged events are there (a sample checked by url)
    assert stored >= len(acked)  # unacknowledged ones may be there too (the ack was lost, not the record)
    # The session scorer (a consumer group of its own) recovered too: each stored event is
    # counted in its session once.
    scored = -1
    while time.monotonic() < deadline + 60:
        scored = count(settings, f"SELECT sum(events) AS n FROM sessions_v WHERE site_id = '{site}'")
        if scored >= stored:
            break
        time.sleep(1)
    print(f"sessions: events scored={scored}")
    assert scored == stored


def send_batches(http: httpx.Client, site: str, batches: int, acked: list[str]) -> list[int]:
    """``batches`` batches of 20 events, one after another; the statuses, and the acknowledged urls."""
    statuses = []
    for _ in range(batches):
        urls = [f"https://x.example/{uuid.uuid4().hex}" for _ in range(20)]
        body = {"events": [{"s": site, "u": u, "sid": str(uuid.uuid4()), "ea": "view"} for u in urls]}
        code = http.post("/api/sync", json=body).status_code
        statuses.append(code)
        if code == 200:
            acked.extend(urls)
    return statuses


def test_redis_stopped_under_load(settings: Settings, tmp_path: Path, stack: None) -> None:
    """Ingestion goes on while Redis is away, whatever the machine's speed: a stated load (50 batches
    of 20 events from one client, 1,000 events, half the 2,000 events a minute one edge process
    admits per (site, IP) without Redis) is acknowledged whole before, during and after the outage,
    a call is accepted as queued, and everything acknowledged is stored once."""
    if not stack_owned("redis"):
        pytest.skip("Redis was not started by dev/stack.sh here")
    settings = settings.model_copy(update={"clickhouse_dsn": f"chdb://{tmp_path / 'wh'}", "call_reply_timeout_s": 1.0})
    assert settings.rate_sync_per_min >= 2000 and settings.edge_workers == 1
    run_cli(settings, "sites", "add", "redis-site")
    acked: list[str] = []
    with running(settings, tmp_path) as edge_url, httpx.Client(base_url=edge_url, timeout=10) as http:
        before = send_batches(http, "redis-site", 10, acked)
        subprocess.run([STACK, "stop", "redis"], check=True, capture_output=True)
        try:
            deadline = time.monotonic() + 30
            while http.get("/healthz").json()["redis"]:  # until the edge has seen Redis go
                assert time.monotonic() < deadline, "the edge did not notice Redis stopping"
                time.sleep(0.2)
            during = send_batches(http, "redis-site", 30, acked)
            down = http.post(
                "/api/call-event", json={"site_id": "redis-site", "phone_number": "+1555", "fingerprint": "fp"}
            )
        finally:
            subprocess.run([STACK, "start", "redis"], check=True, capture_output=True)
        after = send_batches(http, "redis-site", 10, acked)
        assert before == [200] * 10 and during == [200] * 30 and after == [200] * 10  # ingestion never stopped
        assert down.status_code == 202 and down.json()["status"] == "queued"
        settle(settings, "redis-site", acked, sent=len(acked))


def test_kafka_killed_under_load(settings: Settings, tmp_path: Path, stack: None) -> None:
    if not stack_owned("kafka"):
        pytest.skip("Kafka was not started by dev/stack.sh here")
    # the load measures the outage, not the rate limit
    update = {"clickhouse_dsn": f"chdb://{tmp_path / 'wh'}", "produce_timeout_s": 1.0, "rate_sync_per_min": 10**9}
    settings = settings.model_copy(update=update)
    run_cli(settings, "sites", "add", "kafka-site")
    with running(settings, tmp_path) as edge_url:
        with Load(edge_url, "kafka-site") as load:
            time.sleep(3)
            subprocess.run([STACK, "kill", "kafka"], check=True, capture_output=True)
            time.sleep(3)
            acked_when_down = len(load.acked)
            time.sleep(2)
            assert len(load.acked) == acked_when_down  # nothing acknowledged while the broker is gone
            start_kafka_and_wait()
            deadline = time.monotonic() + 90
            while len(load.acked) == acked_when_down:  # the same edge process recovers by itself
                assert time.monotonic() < deadline, "edge did not recover"
                time.sleep(0.5)
            time.sleep(3)
        print(f"statuses: {load.statuses}")
        assert load.statuses.get(503, 0) > 0 and 500 not in load.statuses
        settle(settings, "kafka-site", load.acked, load.sent)
