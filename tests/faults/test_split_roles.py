"""The worker split in roles: two processor processes (``--role process``) share the scorer's
and matcher's partitions, one warehouse writer (``--role store``) stores every table. Kill -9
a processor, then the writer, mid-stream: every acknowledged event lands exactly once; and a
processor joining and leaving moves partitions without losing or doubling anything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from leadstream.settings import Settings
from tests.conftest import free_port
from tests.faults.ingest_load import Load, account, assert_exactly_once, count, wait_for_catch_up
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def split(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "worker_role": "store",
            "clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}",
            "sink_flush_s": 0.3,
            "sink_batch_rows": 500,
            "processor_batch_records": 500,  # many checkpoints for the kills to fall between
            "daily_stats_refresh_s": 1.0,
            "rate_sync_per_min": 10**9,  # the load measures outages, not the rate limit
        }
    )


def processor(settings: Settings) -> Settings:
    return settings.model_copy(update={"worker_role": "process", "worker_port": free_port()})


def health(s: Settings) -> str:
    return f"{s.worker_url}/leadstream/health"


def scored(s: Settings) -> float:
    """Events this processor process has scored and committed (its /metrics)."""
    text = httpx.get(f"{s.worker_url}/metrics", timeout=5).text
    found = re.search(r'leadstream_records_processed_total\{processor="session scorer"\} ([0-9.e+]+)', text)
    return float(found.group(1)) if found else 0.0


def stored_events(settings: Settings, site: str) -> int:
    return count(settings, f"SELECT count() AS n FROM events WHERE site_id = '{site}'")


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def start(stack: ExitStack, settings: Settings, tmp_path: Path, site: str) -> dict[str, object]:
    """The edge, the writer and processor ``a`` started (``b`` configured, not started)."""
    store = split(settings, tmp_path)
    a, b = processor(store), processor(store)
    run_cli(store, "sites", "add", site)
    edge_url = f"http://127.0.0.1:{store.edge_port}"
    stack.enter_context(leadstream_process("edge", store, f"{edge_url}/healthz", tmp_path / "edge.log"))
    writer = stack.enter_context(leadstream_process("worker", store, health(store), tmp_path / "store1.log"))
    first = stack.enter_context(leadstream_process("worker", a, health(a), tmp_path / "process-a.log"))
    return {"store": store, "a": a, "b": b, "edge": edge_url, "writer": writer, "first": first}


def test_kill_9_a_processor_then_the_writer_mid_stream(settings: Settings, tmp_path: Path) -> None:
    site = "split-kill-site"
    with ExitStack() as stack:
        run = start(stack, settings, tmp_path, site)
        store, a, b = run["store"], run["a"], run["b"]
        stack.enter_context(leadstream_process("worker", b, health(b), tmp_path / "process-b.log"))
        load = Load(run["edge"], site).start()
        try:
            until(lambda: scored(a) > 300 and scored(b) > 300, 90, "both processors score (the group shares)")
            kill_9(run["first"])  # its partitions move to b, which recovers their sessions from the changelog
            until(lambda: stored_events(store, site) > 3000, 90, "the writer stores")
            kill_9(run["writer"])
            time.sleep(1)
        finally:
            load.stop()
        with leadstream_process("worker", store, health(store), tmp_path / "store2.log"):
            wait_for_catch_up(store, load, timeout_s=150)
            n = account(store, load)
    assert_exactly_once(n)


def test_a_processor_joining_and_leaving_moves_partitions_and_nothing_is_lost_or_doubled(
    settings: Settings, tmp_path: Path
) -> None:
    site = "split-rebalance-site"
    with ExitStack() as stack:
        run = start(stack, settings, tmp_path, site)
        store, a, b = run["store"], run["a"], run["b"]
        load = Load(run["edge"], site).start()
        try:
            until(lambda: scored(a) > 300, 90, "the first processor scores")
            with leadstream_process("worker", b, health(b), tmp_path / "process-b.log"):
                until(lambda: scored(b) > 300, 90, "the joining processor is given partitions")
            # b stopped (SIGTERM): its partitions go back to a
            before = scored(a)
            until(lambda: scored(a) > before + 300, 90, "the remaining processor takes them back")
        finally:
            load.stop()
        wait_for_catch_up(store, load, timeout_s=150)
        n = account(store, load)
    assert_exactly_once(n)
