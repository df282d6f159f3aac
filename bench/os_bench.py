"""The sales-OS latency benchmark: ``/api/os/score`` through the stage chain (edge, Kafka, the score
stage, the Redis reply) and ``/api/os/rank`` (answered at the edge), each open loop at a fixed rate
after an unmeasured warm-up, latency from each request's scheduled time.

Besides latency it reports the CPU each process spent per measured request (edge, worker, and the
broker, which other work on the machine may share), so a change can be judged by the work it
saves as well as by a tail that the machine's other load moves.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from rich.progress import Progress

from bench.loadgen import load_client, open_loop, pct, post_json, run
from bench.procs import broker_pid, cpu_seconds, stack_processes
from leadstream.commands.heap import settle_heap
from leadstream.settings import Settings

WARM_UP_S = 10.0  # a just-started broker (JIT) and worker answer the first seconds far slower
RANK_WARM_UP_S = 3.0  # the edge alone: its code paths warm, nothing else to settle
SCORE_TARGET_P99_MS = 50.0
RANK_TARGET_P99_MS = 20.0
SCORE_BODY = orjson.dumps(
    {
        "entity_data": {"name": "Bench Co", "domain": "bench.ae", "industry": "banking", "location": "Dubai"},
        "signals": [{"type": "hiring", "source": "news", "evidence": "hiring", "confidence": 0.8}],
    }
)
RANK_BODY = orjson.dumps(
    {
        "entities": [
            {"id": f"c-{i}", "scores": {"q_score": 90 - i, "t_score": 40 + 3 * i, "l_score": 70, "e_score": 50 + i}}
            for i in range(10)
        ],
        "options": {"profile": "banking_employee", "limit": 10, "explain": True},
        "tenant_id": "bench",
    }
)


class Outcomes:
    """Answers counted by kind: ``ok``, ``fallback`` (the contract's fallback body), ``error`` (not 200;
    by status in ``errors``, ``none`` for no answer at all)."""

    def __init__(self) -> None:
        self.counts: dict[str, Any] = {"ok": 0, "fallback": 0, "error": 0, "errors": {}}

    def _error(self, kind: str) -> None:
        self.counts["error"] += 1
        self.counts["errors"][kind] = self.counts["errors"].get(kind, 0) + 1

    async def count(self, answer: Awaitable[tuple[int, bytes]]) -> None:
        try:
            status, body = await answer
        except (OSError, TimeoutError, ValueError):  # no answer (connection refused, reset, timed out)
            self._error("none")
            return
        if status != 200:
            self._error(str(status))
        elif orjson.loads(body)["data"].get("fallback"):
            self.counts["fallback"] += 1
        else:
            self.counts["ok"] += 1


class CpuClock:
    """CPU seconds the named processes (and this load generator) spend between ``start`` and ``stop``."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self._pids = {name: pid for name, pid in pids.items() if pid is not None}
        self._start: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {**{n: cpu_seconds(p) for n, p in self._pids.items()}, "load generator": time.process_time()}

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        self.spent = {n: s - self._start[n] for n, s in self._now().items()}

    def per_request_ms(self, requests: int) -> dict[str, float]:
        return {n: round(s * 1000 / max(requests, 1), 2) for n, s in self.spent.items()}


def figures(rate: float, seconds: float, latencies: list[float], outcomes: Outcomes, cpu: CpuClock) -> dict[str, Any]:
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        **outcomes.counts,
        "p50_ms": round(pct(latencies, 0.5) * 1000, 1),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "cpu_ms_per_request": cpu.per_request_ms(len(latencies)),
    }


async def measured(
    rate: float,
    seconds: float,
    warm_up_s: float,
    send: Callable[[int], Awaitable[None]],
    cpu: CpuClock,
    label: str,
    progress: Progress,
) -> list[float]:
    """``send`` for ``warm_up_s`` unmeasured, then ``seconds`` measured (latencies and CPU)."""

    async def warm(i: int) -> None:
        await send(-1)

    await open_loop(rate, warm_up_s, warm, progress, f"warm-up {warm_up_s:g} s at {rate:g}/s (not measured)")
    settle_heap()  # the generator's own GC pauses would count as request latency
    cpu.start()
    latencies = await open_loop(rate, seconds, send, progress, f"{label} at {rate:g}/s")
    cpu.stop()
    return latencies


def bench_os(
    settings: Settings, rate: float, seconds: float, tmp: Path, progress: Progress, rank_rate: float = 0
) -> dict[str, Any]:
    """``/api/os/score`` at ``rate`` for ``seconds``, then (``rank_rate`` > 0) ``/api/os/rank`` at its rate."""
    token = uuid.uuid4().hex
    settings = settings.model_copy(update={"os_tokens": json.dumps({token: ["bench"]})})
    headers = {"x-pr-os-token": token, "x-tenant-id": "bench", "X-Client": "bench"}
    result: dict[str, Any] = {}

    async def go(pids: dict[str, int | None]) -> None:
        async with load_client(settings.edge_port) as http:
            for _ in range(20):  # agents assigned, connections open
                await post_json(http, "/api/os/score", SCORE_BODY, headers)
            scores, ranks = Outcomes(), Outcomes()

            async def score(i: int) -> None:
                await (scores if i >= 0 else Outcomes()).count(post_json(http, "/api/os/score", SCORE_BODY, headers))

            async def rank(i: int) -> None:
                await (ranks if i >= 0 else Outcomes()).count(post_json(http, "/api/os/rank", RANK_BODY, headers))

            cpu = CpuClock(pids)
            latencies = await measured(rate, seconds, WARM_UP_S, score, cpu, "/api/os/score", progress)
            result.update(figures(rate, seconds, latencies, scores, cpu))
            if rank_rate > 0:
                cpu = CpuClock(pids)
                latencies = await measured(rank_rate, seconds, RANK_WARM_UP_S, rank, cpu, "/api/os/rank", progress)
                result["rank"] = figures(rank_rate, seconds, latencies, ranks, cpu)

    with stack_processes(settings, tmp) as (worker, edge):
        run(go({"edge": edge.pid, "worker": worker.pid, "broker (shared)": broker_pid()}))
    return result


def _cpu(figure: dict[str, Any]) -> str:
    spent = figure.get("cpu_ms_per_request") or {}
    return "; CPU a request: " + ", ".join(f"{name} {ms} ms" for name, ms in spent.items()) if spent else ""


def _errors(figure: dict[str, Any]) -> str:
    errors = figure.get("errors") or {}
    return ": " + ", ".join(f"{n} {kind}" for kind, n in sorted(errors.items())) if errors else ""


def markdown_lines(o: dict[str, Any]) -> list[str]:
    """The benchmark's rows in the results table (figure, measured, ceiling, ratio)."""
    lines = [
        f"| /api/os/score at {o['rate_per_s']:g} req/s for {o['seconds']:g} s | p50 {o['p50_ms']} ms, p99 "
        f"{o['p99_ms']} ms (ok {o['ok']}, fallback {o['fallback']}, error {o['error']}{_errors(o)}){_cpu(o)} "
        f"| target p99 < {SCORE_TARGET_P99_MS:g} ms, 0 fallbacks "
        f"| {o['p99_ms'] / SCORE_TARGET_P99_MS:.2f} of the limit |"
    ]
    if r := o.get("rank"):
        lines.append(
            f"| /api/os/rank at {r['rate_per_s']:g} req/s for {r['seconds']:g} s | p50 {r['p50_ms']} ms, p99 "
            f"{r['p99_ms']} ms (ok {r['ok']}, error {r['error']}{_errors(r)}){_cpu(r)} "
            f"| target p99 < {RANK_TARGET_P99_MS:g} ms | {r['p99_ms'] / RANK_TARGET_P99_MS:.2f} of the limit |"
        )
    return lines
