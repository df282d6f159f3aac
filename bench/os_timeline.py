"""``python -m bench.os_timeline``: where the time of an ``/api/os/score`` (or ``/rank``) request goes, hop
by hop.

The edge and the worker run as in ``make bench`` (one process each, role all), started through
``bench/traced.py``, which timestamps each hop of a run and each garbage collection; the load generator
adds when it sent each request and when the answer came. Open loop at a fixed rate after a warm-up, as
the ``os`` benchmark; ``--paths score,rank`` runs them one after the other on the same processes. Prints,
for every hop, its p50 and p99 over the requests and its mean among the slowest 1 % (what their time
went to), then the collections per process and generation, and writes
bench/results/<date>-os-timeline-<path>.json and .md.

Hops: the generator's own lag (scheduled -> sent); HTTP to the handler (sent -> ``edge_in``); the edge's
checks (-> ``published``); Kafka's ack of the run (-> ``kafka_acked``: the publisher's batch waiting to
go, its produce round trip, the handler waking); hand-off to the stage (-> ``stage_in``, from the ack:
below 0 when the stage has it before the edge hears the ack); the stage's batch (-> ``stage_done``); the
outputs' ack (-> ``outputs_acked``); the Redis reply (-> ``replied``); Redis to the edge (-> ``reply_in``,
below 0 when the edge hears it before the worker hears Redis's answer); the edge's answer back to the
client (-> received). The hooks cost a few microseconds a hop; the figures are the system's, not the
benchmark's exact ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import Progress

from bench.loadgen import load_client, open_loop, pct, post_json, run
from bench.os_bench import RANK_BODY, SCORE_BODY
from bench.procs import stack_processes
from bench.run import BENCH, console, own_topics, run_settings
from leadstream.commands.heap import settle_heap
from leadstream.kafka.broker import delete_topics
from leadstream.settings import Settings

TRACED = (sys.executable, str(Path(__file__).with_name("traced.py")))  # a script: BENCH_CODE may hold no bench/
HOPS = [  # (name, from, to)
    ("generator lag", "scheduled", "sent"),
    ("HTTP to handler", "sent", "edge_in"),
    ("edge checks", "edge_in", "published"),
    ("Kafka ack of the run", "published", "kafka_acked"),
    ("  waits for its partition's batch to go", "published", "batch_sent"),
    ("  the batch's produce round trip", "batch_sent", "batch_acked"),
    ("  the handler wakes after the ack", "batch_acked", "kafka_acked"),
    ("hand-off to the stage", "kafka_acked", "stage_in"),
    ("stage batch", "stage_in", "stage_done"),
    ("outputs acked", "stage_done", "outputs_acked"),
    ("Redis reply posted", "outputs_acked", "replied"),
    ("Redis to the edge", "replied", "reply_in"),
    ("edge answer to client", "reply_in", "received"),
    ("handler start to answer (all of the above from the handler)", "edge_in", "received"),
    ("total", "scheduled", "received"),
]


Collection = tuple[str, float, float, int]  # process, start, seconds, generation


def read_traces(directory: Path) -> tuple[dict[str, dict[str, float]], list[Collection]]:
    """request id -> hop -> time (the edge's hops are by request, the worker's by run: joined here); and
    the processes' garbage collections: (process, start, seconds)."""
    runs: dict[str, dict[str, float]] = defaultdict(dict)
    requests: dict[str, dict[str, float]] = defaultdict(dict)
    request_of: dict[str, str] = {}
    batch_of: dict[str, str] = {}  # run -> the publisher's batch it went in
    collections: list[Collection] = []
    for path in directory.glob("*.trace"):
        for line in path.read_text().splitlines():
            run_id, hop, at, *extra = line.split(" ")
            if hop == "gc":
                collections.append((path.stem.split("-")[0], float(at), float(extra[0]), int(extra[1])))
            elif hop == "edge_in":
                requests[extra[0]]["edge_in"] = float(at)
            elif hop == "in_batch":
                batch_of[run_id] = extra[0]
            else:
                if hop == "published":
                    request_of[run_id] = extra[0]
                runs[run_id].setdefault(hop, float(at))  # the first: a re-delivered batch is not the run's path
    for run_id, request_id in request_of.items():
        requests[request_id].update(runs[run_id])
        if run_id in batch_of:
            requests[request_id].update(runs.get(batch_of[run_id], {}))
    return requests, collections


def paused(collections: list[Collection], start: float, end: float) -> dict[str, float]:
    """Milliseconds each process spent collecting garbage between ``start`` and ``end``."""
    spent: dict[str, float] = defaultdict(float)
    for process, at, seconds, _ in collections:
        overlap = min(end, at + seconds) - max(start, at)
        if overlap > 0:
            spent[process] += overlap * 1000
    return dict(spent)


def timeline(
    settings: Settings, paths: list[str], rate: float, seconds: float, warm_up_s: float, tmp: Path
) -> dict[str, dict[str, Any]]:
    """Each of ``paths`` in turn on the same edge and worker (as the ``os`` benchmark runs rank after
    score): path -> its figures."""
    token = "timeline-token"
    settings = settings.model_copy(update={"os_tokens": json.dumps({token: ["bench"]})})
    headers = {"x-pr-os-token": token, "x-tenant-id": "bench", "X-Client": "bench"}
    traces = tmp / "traces"
    traces.mkdir()
    os.environ["BENCH_TRACE_DIR"] = str(traces)  # inherited by the traced processes
    client: dict[str, dict[str, float]] = {}
    latencies: dict[str, list[float]] = {}

    async def go(progress: Progress) -> None:
        async with load_client(settings.edge_port) as http:
            for path in paths:
                body = RANK_BODY if path == "rank" else SCORE_BODY
                for _ in range(20):
                    await post_json(http, f"/api/os/{path}", body, headers)

                async def warm(i: int, path: str = path, body: bytes = body) -> None:
                    await post_json(http, f"/api/os/{path}", body, headers)

                await open_loop(rate, warm_up_s, warm, progress, f"warm-up {warm_up_s:g} s (not measured)")
                settle_heap()

                async def send(i: int, path: str = path, body: bytes = body) -> None:
                    request_id = f"timeline-{path}-{i}"
                    sent = time.time()
                    await post_json(http, f"/api/os/{path}", body, {**headers, "x-request-id": request_id})
                    client[request_id] = {"sent": sent, "received": time.time()}

                label = f"/api/os/{path} at {rate:g}/s, traced"
                latencies[path] = await open_loop(rate, seconds, send, progress, label)

    with stack_processes(settings, tmp, command=TRACED):
        with Progress(console=console) as progress:
            run(go(progress))
        time.sleep(1.0)  # the tracers' last lines
        by_request, collections = read_traces(traces)
    results = {}
    for path in paths:
        rows: list[dict[str, float]] = []
        for i, latency in enumerate(latencies[path]):
            request_id = f"timeline-{path}-{i}"
            if request_id in client and request_id in by_request:
                hops = {**by_request[request_id], **client[request_id]}
                hops["scheduled"] = hops["received"] - latency
                rows.append(hops)
        result = summarise(rows, rate, seconds, len(latencies[path]))
        slowest = sorted(rows, key=lambda r: r["received"] - r["scheduled"])[-max(1, len(rows) // 100) :]
        pauses = [paused(collections, r["scheduled"], r["received"]) for r in slowest]
        result["gc_ms_in_slowest_1pct"] = {
            p: round(sum(x.get(p, 0) for x in pauses) / len(pauses), 2) for p in ("edge", "worker")
        }
        result["path"] = path
        result["gc"] = collected(collections, min(r["scheduled"] for r in rows), max(r["received"] for r in rows))
        results[path] = result
    return results


def collected(collections: list[Collection], start: float, end: float) -> dict[str, dict[str, Any]]:
    """Per process and generation: collections in the measured window, their total and longest ms."""
    out: dict[str, dict[str, Any]] = {}
    for process, at, seconds, generation in collections:
        if start <= at <= end:
            figure = out.setdefault(f"{process} gen {generation}", {"count": 0, "total_ms": 0.0, "max_ms": 0.0})
            figure["count"] += 1
            figure["total_ms"] = round(figure["total_ms"] + seconds * 1000, 1)
            figure["max_ms"] = round(max(figure["max_ms"], seconds * 1000), 1)
    return dict(sorted(out.items()))


def summarise(rows: list[dict[str, float]], rate: float, seconds: float, sent: int) -> dict[str, Any]:
    def spans(row: dict[str, float]) -> dict[str, float]:
        return {name: (row[b] - row[a]) * 1000 for name, a, b in HOPS if a in row and b in row}

    measured = [spans(r) for r in rows]
    slowest = sorted(measured, key=lambda s: s.get("total", 0))[-max(1, len(measured) // 100) :]
    table = {}
    for name, _, _ in HOPS:
        values = [s[name] for s in measured if name in s]
        if not values:  # /api/os/rank: the edge's hops only
            continue
        tail = [s[name] for s in slowest if name in s]
        table[name] = {
            "p50_ms": round(pct(values, 0.5), 2),
            "p99_ms": round(pct(values, 0.99), 2),
            "slowest_1pct_mean_ms": round(sum(tail) / max(len(tail), 1), 2),
        }
    return {"rate_per_s": rate, "seconds": seconds, "requests": sent, "traced": len(rows), "hops": table}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# OS timeline {result['date']}: /api/os/{result['path']} at {result['rate_per_s']:g} req/s "
        f"for {result['seconds']:g} s",
        "",
        f"{result['traced']:,} of {result['requests']:,} requests traced. Load before the run: {result['load']}.",
        "",
        "| hop | p50 ms | p99 ms | mean in the slowest 1 % (ms) |",
        "|---|---|---|---|",
    ]
    for name, f in result["hops"].items():
        lines.append(f"| {name} | {f['p50_ms']} | {f['p99_ms']} | {f['slowest_1pct_mean_ms']} |")
    gc = result["gc_ms_in_slowest_1pct"]
    lines += ["", f"Garbage collection during the slowest 1 % (mean ms): edge {gc['edge']}, worker {gc['worker']}."]
    lines += ["", "| collections in the run | count | total ms | longest ms |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['count']} | {v['total_ms']} | {v['max_ms']} |" for k, v in result["gc"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", default="score", help="/api/os/<path>, comma-separated, in turn: score,rank")
    parser.add_argument("--rate", type=float, default=100, help="offered requests/s")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warm-up", type=float, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the logs and traces under var/bench/")
    args = parser.parse_args()
    paths = args.paths.split(",")
    if not set(paths) <= {"score", "rank"}:
        parser.error("--paths: score and/or rank")
    tmp, settings = run_settings()
    settings = own_topics(settings, "os", tmp)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results = timeline(settings, paths, args.rate, args.seconds, args.warm_up, tmp)
    out = BENCH / "results"
    for path, figures in results.items():
        result = {"date": date, "load": load, **figures}
        stem = f"{date[:16].replace(':', '')}Z-os-timeline-{path}"
        (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (out / f"{stem}.md").write_text(markdown(result))
        console.print(markdown(result))
    if args.keep:
        console.print(f"logs, traces and topics kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        asyncio.run(delete_topics(settings.kafka_bootstrap, (settings.topic_prefix, settings.worker_group)))


if __name__ == "__main__":
    main()
