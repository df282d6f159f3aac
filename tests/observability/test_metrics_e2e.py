"""Metrics on the real stack: the edge with two processes and a worker, as processes.

* The edge's /metrics adds up its processes (multiprocess mode): the requests counted equal the
  requests sent, whichever process served them.
* The worker's /metrics moves under load: records processed, rows inserted, lag per group and partition.
* Lag rises while the worker is stopped (read from Kafka, as ``leadstream status`` does) and falls
  back to zero after it restarts.
* ``leadstream status --json`` tells the worker is down and shows the backlog, then all healthy.
* With ``LEADSTREAM_LOG_FORMAT=json`` both write one JSON object per line; the worker's carry their group.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.observability.lag import read_lag
from leadstream.settings import Settings
from tests.conftest import delete_topics, isolated_settings
from tests.observability.scrape import samples, total
from tests.processes import leadstream_process, run_cli, settings_env

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SITE = "metrics-site"


def send(http: httpx.Client, n: int) -> None:
    sid = str(uuid.uuid4())
    for i in range(n):
        body = {"s": SITE, "u": f"https://m.example/{i}", "sid": sid, "ea": "view", "meta": {"fp": "fp-metrics"}}
        assert http.post("/api/sync", json=body).status_code == 200


def until(what: str, check: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {timeout_s}s: {what}"
        time.sleep(0.3)


def events_lag(settings: Settings) -> int:
    lags = asyncio.run(read_lag(settings.kafka_bootstrap, settings.worker_group))
    group = f"{settings.worker_group}-events"
    return sum(p.lag for p in lags if p.group == group and p.topic == settings.topics.events)


def status(settings: Settings) -> dict:
    """``leadstream status --json`` (exit code 0 when healthy, 1 otherwise)."""
    done = subprocess.run(
        [sys.executable, "-m", "leadstream", "status", "--json", "--interval", "0.5"],
        env=settings_env(settings),
        capture_output=True,
        timeout=120,
    )
    found = orjson.loads(done.stdout)
    assert done.returncode == (0 if found["ok"] else 1), done.stderr
    return found


def test_metrics_move_and_lag_follows_the_worker(stack: None, tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "var", tmp_path / "unused").model_copy(
        update={
            "clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}",
            "edge_workers": 2,
            "metrics_lag_interval_s": 0.5,
            "log_format": "json",
        }
    )
    run_cli(settings, "sites", "add", SITE)
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    worker_metrics = f"{settings.worker_url}/metrics"
    worker_health = f"{settings.worker_url}/leadstream/health"
    try:
        with (
            leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "edge.log"),
            httpx.Client(base_url=edge_url, timeout=30) as http,
        ):
            # --- the edge, two processes, one view ---------------------------------------------
            send(http, 40)
            assert http.post("/api/sync", content=b"{not json").status_code == 400
            edge_metrics = f"{edge_url}/metrics"
            # each process adds its tallies to the shared files every second
            until(
                "the edge counts the requests of both its processes",
                lambda: (
                    total(edge_metrics, "leadstream_http_requests_total", route="/api/sync", status="200") == 40
                    and total(edge_metrics, "leadstream_http_requests_total", route="/api/sync", status="400") == 1
                    and total(edge_metrics, "leadstream_kafka_produce_duration_seconds_count") == 40
                    and total(edge_metrics, "leadstream_http_request_duration_seconds_count", route="/api/sync") == 41
                ),
                timeout_s=10,
            )
            names = {name for name, _, _ in samples(edge_metrics)}
            assert "leadstream_produce_in_flight" in names
            # framework routes are counted by their template
            assert httpx.get(f"{edge_url}/healthz").status_code == 200
            until(
                "framework routes count by template",
                lambda: total(edge_metrics, "leadstream_http_requests_total", route="/healthz") >= 1,
                timeout_s=10,
            )

            # --- the worker consumes: its metrics move and the lag is zero ---------------------
            with leadstream_process("worker", settings, worker_health, tmp_path / "worker.log"):
                until(
                    "the events sink counts the 40 events",
                    lambda: total(worker_metrics, "leadstream_records_processed_total", processor="events sink") >= 40,
                )
                assert total(worker_metrics, "leadstream_warehouse_rows_inserted_total", table="events") >= 40
                assert total(worker_metrics, "leadstream_batch_size_records_count", processor="events sink") >= 1
                assert total(worker_metrics, "leadstream_end_to_end_delay_seconds_count", processor="events sink") >= 1
                group = f"{settings.worker_group}-events"
                until(
                    "the worker exports the events group's offsets with no lag",
                    lambda: (
                        total(worker_metrics, "leadstream_consumer_committed_offset", group=group) >= 40
                        and total(worker_metrics, "leadstream_consumer_lag", group=group) == 0
                    ),
                )
                up = status(settings)
                assert up["ok"] is True, up["stack"]
                assert up["stack"]["warehouse"]["ok"] and up["dead_letters"] == []
                assert {g["group"] for g in up["groups"]} >= {group, f"{settings.worker_group}-sessions"}
                assert total(worker_metrics, "leadstream_loop_healthy", loop="events sink") == 1

            # --- worker stopped: lag rises ------------------------------------------------------
            send(http, 30)
            until("the lag counts what the stopped worker has not read", lambda: events_lag(settings) >= 30)
            down = status(settings)
            assert down["ok"] is False and down["stack"]["edge"]["ok"] and not down["stack"]["worker"]["ok"]
            [events_group] = [g for g in down["groups"] if g["group"] == group]
            assert events_group["lag"] >= 30

            # --- worker back: lag falls to zero -------------------------------------------------
            with leadstream_process("worker", settings, worker_health, tmp_path / "worker.log"):
                until("the restarted worker catches up", lambda: events_lag(settings) == 0)
                until(
                    "its /metrics shows the lag gone",
                    lambda: (
                        total(worker_metrics, "leadstream_consumer_committed_offset", group=group) >= 70
                        and total(worker_metrics, "leadstream_consumer_lag", group=group) == 0
                    ),
                )
                up = status(settings)
                assert up["ok"] is True, up["stack"]
                assert up["stack"]["warehouse"]["ok"] and up["dead_letters"] == []
                assert {g["group"] for g in up["groups"]} >= {group, f"{settings.worker_group}-sessions"}
    finally:
        delete_topics((settings.topic_prefix, settings.worker_group))
    for log in ("edge.log", "worker.log"):
        lines = (tmp_path / log).read_text().splitlines()
        assert lines and all(line.startswith("{") for line in lines), f"{log}: not all JSON"
        entries = [orjson.loads(line) for line in lines]
        assert all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
    assert any(e.get("group") == f"{settings.worker_group}-events" for e in entries)
