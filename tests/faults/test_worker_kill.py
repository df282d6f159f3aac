"""SIGKILL the worker mid-stream, restart it: every acknowledged event is in ClickHouse once."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.settings import Settings
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def count(settings: Settings, sql: str) -> int:
    return int(orjson.loads(run_cli(settings, "query", "--format", "json", sql))[0]["n"])


def test_kill_9_worker_mid_stream(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(
        update={"clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}", "sink_flush_s": 0.3, "sink_batch_rows": 500}
    )
    run_cli(settings, "sites", "add", "kill-site")
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    health = f"{settings.worker_url}/leadstream/health"
    acked: list[str] = []
    unknown: list[str] = []  # not acknowledged: the edge may still have written them (a late ack)
    sessions = [str(uuid.uuid4()) for _ in range(20)]
    stop = threading.Event()

    def load() -> None:  # batches of 50 events, as fast as the edge takes them
        with httpx.Client(base_url=edge_url, timeout=10) as http:
            i = 0
            while not stop.is_set():
                events = [
                    {"s": "kill-site", "u": f"https://x.example/{i}-{j}", "sid": sessions[(i + j) % 20], "ea": "view"}
                    for j in range(50)
                ]
                try:
                    ok = http.post("/api/sync", json={"events": events}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                (acked if ok else unknown).extend(e["u"] for e in events)
                i += 1

    with leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "edge.log"):
        worker = leadstream_process("worker", settings, health, tmp_path / "worker1.log")
        proc = worker.__enter__()
        sender = threading.Thread(target=load)
        sender.start()
        # mid-stream: once the worker has stored some events, with more in flight
        deadline = time.monotonic() + 60
        while count(settings, "SELECT count() AS n FROM events WHERE site_id = 'kill-site'") < 1000:
            assert time.monotonic() < deadline, "worker stored nothing"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(1)
        stop.set()
        sender.join()
        with leadstream_process("worker", settings, health, tmp_path / "worker2.log"):
            deadline = time.monotonic() + 120
            stored = -1
            in_sessions = -1
            while time.monotonic() < deadline:
                stored = count(settings, "SELECT count() AS n FROM events_v WHERE site_id = 'kill-site'")
                in_sessions = count(settings, "SELECT sum(events) AS n FROM sessions_v WHERE site_id = 'kill-site'")
                if stored >= len(acked) and in_sessions >= stored:
                    break
                time.sleep(1)
            distinct = count(settings, "SELECT uniqExact(url) AS n FROM events_v WHERE site_id = 'kill-site'")
            raw = count(settings, "SELECT count() AS n FROM events WHERE site_id = 'kill-site'")
            daily = count(settings, "SELECT sum(events) AS n FROM daily_site_stats_v WHERE site_id = 'kill-site'")
            sample = acked[:: max(1, len(acked) // 300)]
            urls = ",".join(f"'{u}'" for u in sample)
            acked_present = count(
                settings, f"SELECT count() AS n FROM events_v WHERE site_id = 'kill-site' AND url IN ({urls})"
            )
    print(
        f"\naccounting: sent={len(acked) + len(unknown)} acknowledged={len(acked)} "
        f"stored(analyst view)={stored} distinct={distinct} "
        f"raw rows={raw} (duplicates inserted={raw - stored}) session event counts={in_sessions} "
        f"daily stats events={daily}"
    )
    if not len(acked) <= stored <= len(acked) + len(unknown):  # say where the difference is before failing
        print(
            "per partition (table):",
            orjson.loads(
                run_cli(
                    settings,
                    "query",
                    "--format",
                    "json",
                    "SELECT kafka_partition, count() AS n, min(kafka_offset) AS lo, max(kafka_offset) AS hi "
                    "FROM events "
                    "WHERE site_id = 'kill-site' GROUP BY kafka_partition ORDER BY 1",
                )
            ),
        )
    assert len(acked) > 500, "the load did not run"
    assert stored == distinct  # nothing doubled as analysts see it
    assert len(acked) <= stored <= len(acked) + len(unknown)  # nothing acknowledged lost; nothing invented
    assert acked_present == len(sample)  # and the acknowledged ones are those stored (a sample by url)
    assert in_sessions == stored  # session state applied each stored event exactly once
    assert daily == stored  # the materialised daily statistics count each event once
