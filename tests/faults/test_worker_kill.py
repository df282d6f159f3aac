"""SIGKILL the worker mid-stream, restart it: every acknowledged event is in ClickHouse once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from leadstream.settings import Settings
from tests.faults.ingest_load import Load, account, assert_exactly_once, count, wait_for_catch_up
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.faults]
SITE = "kill-site"


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])  # rocksdb: the restart starts from its local copy
def test_kill_9_worker_mid_stream(settings: Settings, tmp_path: Path, store: str) -> None:
    settings = settings.model_copy(
        update={
            "worker_store": store,
            "clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}",
            "sink_flush_s": 0.3,
            "sink_batch_rows": 500,
            "processor_batch_records": 500,  # many checkpoints for the kills to fall between
            "daily_stats_refresh_s": 1.0,  # refreshes under way when the worker is killed
            "rate_sync_per_min": 10**9,  # the load measures outages, not the rate limit
        }
    )
    run_cli(settings, "sites", "add", SITE)
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    health = f"{settings.worker_url}/leadstream/health"
    with leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "edge.log"):
        worker = leadstream_process("worker", settings, health, tmp_path / "worker1.log")
        proc = worker.__enter__()
        load = Load(edge_url, SITE).start()
        # mid-stream: once the worker has stored some events, with more in flight
        deadline = time.monotonic() + 60
        while count(settings, f"SELECT count() AS n FROM events WHERE site_id = '{SITE}'") < 1000:
            assert time.monotonic() < deadline, "worker stored nothing"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(1)
        load.stop()
        with leadstream_process("worker", settings, health, tmp_path / "worker2.log"):
            wait_for_catch_up(settings, load, timeout_s=120)
            n = account(settings, load)
    assert_exactly_once(n)
