"""The benchmarked processes: started, watched (memory, CPU) and stopped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from leadstream.settings import Settings
from tests.conftest import free_port
from tests.processes import settings_env, wait_http

LEADSTREAM = (sys.executable, "-m", "leadstream")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def python_status(pid: int) -> str:
    """/proc status of the Python process at ``pid`` or among its children ("" once it is gone)."""
    for proc in [pid, *children(pid)]:
        try:
            text = Path(f"/proc/{proc}/status").read_text()
            if "python" in Path(f"/proc/{proc}/cmdline").read_text():
                return text
        except OSError:
            continue
    return ""


def status_mb(text: str, field: str) -> float:
    found = re.search(rf"{field}:\s+(\d+)", text)
    return int(found.group(1)) / 1024 if found else 0.0


def peak_rss_mb(pid: int) -> float:
    return status_mb(python_status(pid), "VmHWM")


class RssParts:
    """The largest anonymous and file-backed shares of a process's resident memory, sampled when
    asked. VmHWM (peak_rss_mb) has only their peak sum, and in a process that opens the warehouse
    the file-backed share is mostly chDB's library mapped from disk (read-only, shared, dropped
    and read again by the kernel as it needs), not memory its work allocates."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.anon_mb = self.file_mb = 0.0

    def sample(self) -> None:
        text = python_status(self.pid)
        self.anon_mb = max(self.anon_mb, status_mb(text, "RssAnon"))
        self.file_mb = max(self.file_mb, status_mb(text, "RssFile"))


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@contextmanager
def process(cmd: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` up once ``health`` answers; stopped on exit. With ``BENCH_CODE=<a checkout>`` in the
    environment the process imports leadstream from that checkout (the load generator stays this
    one's): paired runs of the code before and after a change, on the machine as it is at the time."""
    cwd = None
    if code := os.environ.get("BENCH_CODE"):  # run from there too: `python -m` puts the cwd first
        env, cwd = {**env, "PYTHONPATH": code}, code
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(health, 90, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def worker_process(s: Settings, log: Path, command: Sequence[str] = LEADSTREAM) -> Any:
    """``leadstream worker`` in the role and on the port ``s`` says, up once its health answers."""
    return process([*command, "worker"], settings_env(s), f"{s.worker_url}/leadstream/health", log)


@contextmanager
def stack_processes(
    settings: Settings, tmp: Path, split: bool = False, command: Sequence[str] = LEADSTREAM
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The edge and the worker: one process in role all, or (``split``) a writer and a processor.
    ``command`` starts them (``bench.traced`` for the OS timeline)."""
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    workers = [settings]
    if split:
        store = settings.model_copy(update={"worker_role": "store"})
        workers = [store, store.model_copy(update={"worker_role": "process", "worker_port": free_port()})]
    with ExitStack() as stack:
        procs = [
            stack.enter_context(worker_process(s, tmp / f"worker-{s.worker_role}-{s.worker_port}.log", command))
            for s in workers
        ]
        env = settings_env(settings)
        procs.append(stack.enter_context(process([*command, "edge"], env, f"{edge_url}/healthz", tmp / "edge.log")))
        yield procs


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime (fields 14 and 15 of stat)


def broker_pid() -> int | None:
    """The local Kafka broker's process (a JVM running ``kafka.Kafka``), if there is one."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                java = (entry / "comm").read_text().strip() == "java"  # not the shell that started it
                if java and b"kafka.Kafka" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except OSError:
                continue
    return None
