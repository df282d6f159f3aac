"""The ``/metrics`` body: one process's registry, or all the edge's processes in multiprocess mode."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(default: Path) -> Path:
    """Point the edge's processes at one metrics directory (before prometheus_client is imported).

    Our own directory (under var/) is emptied, since values of processes from an earlier run must
    not be added to this one's; a directory the operator set in the environment is used as it is."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(given)
    shutil.rmtree(default, ignore_errors=True)
    default.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(default)
    return default


def render() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a finished edge process's live gauges (``livesum``/``livemax``)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
