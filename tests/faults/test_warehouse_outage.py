"""The warehouse goes away under load: the edge keeps acknowledging (Kafka holds the records),
the worker's sinks back off and pause, and when ClickHouse is back they catch up by
themselves; every acknowledged event is then in ClickHouse once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leadstream.settings import Settings
from tests.faults.ingest_load import Load, account, assert_exactly_once, stored, wait_for_catch_up
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.faults]
SITE = "outage-site"
OUTAGE_S = 8


def test_warehouse_outage_under_load(settings: Settings, tmp_path: Path) -> None:
    flag = tmp_path / "warehouse-down"
    settings = settings.model_copy(
        update={
            "clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}",
            "sink_flush_s": 0.3,
            "sink_batch_rows": 500,
            "processor_batch_records": 500,
            "fault_warehouse_outage_file": flag,
            "rate_sync_per_min": 10**9,  # the load measures outages, not the rate limit
        }
    )
    run_cli(settings, "sites", "add", SITE)
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    worker_log = tmp_path / "worker.log"
    with (
        leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "edge.log"),
        leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", worker_log),
    ):
        load = Load(edge_url, SITE).start()
        deadline = time.monotonic() + 60
        while stored(settings, SITE) < 1000:
            assert time.monotonic() < deadline, "worker stored nothing"
            time.sleep(0.2)
        acked_before = len(load.acked)
        flag.touch()  # ClickHouse "down"
        time.sleep(OUTAGE_S)
        acked_during = len(load.acked) - acked_before
        flag.unlink()  # and back
        time.sleep(2)
        load.stop()
        wait_for_catch_up(settings, load, timeout_s=120)
        n = account(settings, load)
    log_lines = worker_log.read_text(errors="replace").splitlines()
    retries = sum("warehouse unavailable" in line and "daily stats" not in line for line in log_lines)
    print(f"during the {OUTAGE_S} s outage: acknowledged={acked_during}, insert attempts refused={retries}")
    assert acked_during > 0, "ingestion stopped while the warehouse was down"
    assert retries > 0, "the outage was not noticed by the sinks"
    assert_exactly_once(n)
