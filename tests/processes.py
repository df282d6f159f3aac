"""Run the edge and the worker as real processes, configured through the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from leadstream.settings import Settings
from tests.conftest import delete_topics, isolated_settings


def settings_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTREAM_")}
    return {**env, **settings.as_environment()}


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout_s}s:\n{log.read_text()[-3000:]}")


@contextmanager
def leadstream_process(
    command: str, settings: Settings, health_url: str, log: Path, timeout_s: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``leadstream <command>``, wait until ``health_url`` answers 200, stop it on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadstream", command],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(health_url, timeout_s, proc, log)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_cli(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "leadstream", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"leadstream {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def edge_and_worker(
    tmp: Path, before_start: Callable[[Settings], object] | None = None, **overrides: object
) -> Iterator[tuple[Settings, httpx.Client]]:
    """A worker and an edge on settings of their own (``overrides`` on top) with a generous OS reply
    deadline, and a client for the edge; ``before_start(settings)`` runs first. The topics are deleted
    afterwards."""
    defaults = {
        "clickhouse_dsn": f"chdb://{tmp / 'warehouse'}",
        "os_reply_timeout_s": 10.0,
        "os_pipeline_timeout_s": 15.0,
    }
    settings = isolated_settings(tmp / "var", tmp / "unused").model_copy(update=defaults | overrides)
    if before_start is not None:
        before_start(settings)
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    with (
        leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"),
        leadstream_process("edge", settings, f"{edge_url}/healthz", tmp / "edge.log"),
        httpx.Client(base_url=edge_url, timeout=30) as http,
    ):
        yield settings, http
    delete_topics((settings.topic_prefix, settings.worker_group))
