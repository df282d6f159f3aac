"""`make bench`: measure the edge and the worker against ceilings measured in the same run.

  edge    /api/sync requests/s and latency, one uvicorn process, vs a bare ASGI app (wrk)
  batch   /api/sync with 100 events per request: events/s
  worker  events/s from a pre-filled topic into ClickHouse, vs a raw aiokafka consumer
  e2e     open-loop /api/sync at a fixed event rate; latency from HTTP ack to the row in ClickHouse
  os      open-loop /api/os/score through the stage chain and /api/os/rank at fixed rates: p50/p99,
          fallbacks, CPU a request (bench/os_bench.py; bench/os_timeline.py times one run hop by hop)
  memory  peak RSS of the edge and the worker

Results: bench/results/<date>T<hhmm>Z[-<only>].json and .md. Needs the local stack (`make up`) and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress

from bench.loadgen import load_client, open_loop, pct, post_json
from bench.os_bench import bench_os
from bench.os_bench import markdown_lines as os_markdown_lines
from bench.procs import RssParts, peak_rss_mb, process, stack_processes, worker_process
from leadstream.kafka.broker import delete_topics
from leadstream.settings import REPO_ROOT, Settings
from tests.conftest import free_port
from tests.processes import run_cli, settings_env

BENCH = REPO_ROOT / "bench"
console = Console()


def wrk(url: str, seconds: int, connections: int, batch: int = 0) -> dict[str, Any]:
    env = {**os.environ, "BATCH": str(batch)}
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(BENCH / "sync.lua"), url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    stats = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))  # type: ignore[union-attr]
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


def bench_edge(settings: Settings, seconds: int, tmp: Path, progress: Progress) -> dict[str, Any]:
    env = settings_env(settings.model_copy(update={"rate_sync_per_min": 10**9}))
    task = progress.add_task("edge vs bare ASGI", total=3)
    bare_port = free_port()
    bare_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(bare_port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with process(bare_cmd, env, f"http://127.0.0.1:{bare_port}/", tmp / "bare.log"):
        bare = wrk(f"http://127.0.0.1:{bare_port}/api/sync", seconds, 32)
    progress.advance(task)
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    edge_cmd = [sys.executable, "-m", "leadstream", "edge"]
    with process(edge_cmd, env, f"{edge_url}/healthz", tmp / "edge.log") as proc:
        single = wrk(f"{edge_url}/api/sync", seconds, 32)
        progress.advance(task)
        batch = wrk(f"{edge_url}/api/sync", seconds, 8, batch=100)
        progress.advance(task)
        rss = peak_rss_mb(proc.pid)
    return {
        "bare_rps": round(bare["rps"]),
        "edge_rps": round(single["rps"]),
        "ratio": round(single["rps"] / bare["rps"], 3),
        "edge_p50_ms": single["p50_us"] / 1000,
        "edge_p99_ms": single["p99_us"] / 1000,
        "bare_p50_ms": bare["p50_us"] / 1000,
        "bare_p99_ms": bare["p99_us"] / 1000,
        "edge_errors": single["errors_status"] + single["errors_connect"] + single["errors_timeout"],
        "batch_events_per_s": round(batch["rps"] * 100),
        "edge_peak_rss_mb": round(rss, 1),
    }


async def fill_topic(settings: Settings, n: int, progress: Progress) -> None:
    task = progress.add_task(f"fill topic with {n:,} events", total=n)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=20,
        max_batch_size=1 << 20,
        enable_idempotence=True,
    )
    await producer.start()
    start_at = datetime.now(UTC)
    now = start_at.isoformat()
    sessions = [str(uuid.uuid4()) for _ in range(10_000)]
    try:
        for start in range(0, n, 5000):
            futures = []
            for i in range(start, min(n, start + 5000)):
                sid = sessions[i % len(sessions)]
                record = {
                    "event_id": str(uuid.uuid4()),
                    # a millisecond apart, as if 1,000 events/s arrived: a session's are 10 s apart
                    "received_at": (start_at + timedelta(milliseconds=i)).isoformat(),
                    "site_id": "bench",
                    "session_id": sid,
                    "session_month": now[:8] + "01",
                    "url": f"https://shop.example/p/{i}",  # no two alike: none is a duplicate to suppress
                    "category": "interaction",
                    "action": "view",
                    "score": 10,
                    "fingerprint": f"fp-{sid[:8]}",
                    "click_ids": {},
                    "meta": {},
                    "ip_prefix": "203.0.113.0",  # as the edge publishes it: the network and a keyed hash
                    "visitor_hash": f"{i % 997:032x}",
                    "user_agent": "bench",
                }
                futures.append(
                    await producer.send(settings.topics.events, json.dumps(record).encode(), key=sid.encode())
                )
            await asyncio.gather(*futures)
            progress.update(task, completed=min(n, start + 5000))
    finally:
        await producer.stop()


async def raw_consume(settings: Settings, n: int) -> float:
    consumer = AIOKafkaConsumer(
        settings.topics.events,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for record in records:
                    json.loads(record.value)  # the least a consumer must do with a record
                seen += sum(len(r) for r in batches.values())
    finally:
        await consumer.stop()
    return n / (time.perf_counter() - started)


SCORED = 200_000  # events the session scorer is timed over


def wait_for_rows(
    settings: Settings,
    sql: str,
    counter: Callable[[], float],
    n: int,
    started: float,
    task: Any,
    progress: Progress,
    stall_s: float = 120,
) -> tuple[float, float, int]:
    """Seconds from ``started`` until ``sql`` (through the worker's query endpoint) counts ``n``; and
    when (seconds from ``started``) ``counter`` first counted anything, and how many then.

    ``counter`` (a worker's /metrics) is polled meanwhile and ``sql`` only once it reaches ``n``:
    SQL polled twice a second took 18 % of the writer's samples, a load the figures should not carry."""
    have, moved = 0.0, time.monotonic()
    first: tuple[float, int] | None = None
    while True:
        time.sleep(0.25)
        now_have = counter()
        if now_have and first is None:
            first = (time.perf_counter() - started, int(now_have))
        if now_have != have:
            have, moved = now_have, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            sys.exit(f"stuck at {have:,.0f} of {n:,} for {stall_s:g}s: {sql}\n(see the worker log; --keep keeps it)")
        progress.update(task, completed=have)
        if have >= n and table_count(settings, sql) >= n:
            break
    done = time.perf_counter() - started
    return done, *(first or (done, n))


def bench_worker(settings: Settings, n: int, tmp: Path, progress: Progress) -> dict[str, Any]:
    asyncio.run(fill_topic(settings, n, progress))
    task = progress.add_task("raw aiokafka consumer", total=None)
    raw_rate = asyncio.run(raw_consume(settings, n))
    progress.update(task, total=1, completed=1)
    task = progress.add_task("worker: topic -> ClickHouse", total=n)
    started = time.perf_counter()
    with worker_process(settings, tmp / "worker.log") as proc:
        parts = RssParts(proc.pid)
        events_sql = "SELECT count() FROM events WHERE site_id = 'bench'"
        inserted = partial(metric, settings.worker_url, "leadstream_warehouse_rows_inserted_total", table="events")
        scorer = partial(processed, settings.worker_url, "session scorer")
        scored = min(n, SCORED)  # the scorer is timed over its first SCORED events, not all n
        sessions_s: float | None = None

        def events_and_sessions() -> float:
            """The events stored; meanwhile, when the first SCORED are in their sessions."""
            nonlocal sessions_s
            parts.sample()
            if sessions_s is None and scorer() >= scored and table_count(settings, SESSIONS_SQL) >= scored:
                sessions_s = time.perf_counter() - started
            return inserted()

        stored_s, first_s, first_rows = wait_for_rows(
            settings, events_sql, events_and_sessions, n, started, task, progress
        )
        if sessions_s is None:
            task = progress.add_task("worker: sessions scored", total=scored)
            sessions_s, _, _ = wait_for_rows(settings, SESSIONS_SQL, scorer, scored, started, task, progress)
        rss = peak_rss_mb(proc.pid)
    # The worker's rate is timed once records flow, from its first rows in ClickHouse to the last:
    # process start-up and migrations come before. (The raw consumer's clock starts once it is
    # connected and so includes its group join, a second at most: a small bias the worker's way.)
    worker_rate = (n - first_rows) / max(stored_s - first_s, 1e-9)
    alone = bench_scorer_alone(settings, n, tmp, progress)
    split = bench_split(settings, n, tmp, progress)
    return {
        "events": n,
        "raw_consumer_events_per_s": round(raw_rate),
        "worker_events_per_s": round(worker_rate),
        "worker_events_per_s_incl_startup": round(n / stored_s),
        "worker_startup_s": round(first_s, 1),
        "worker_sessions_events_per_s": round(scored / sessions_s),
        "worker_sessions_events_timed": scored,
        "ratio": round(worker_rate / raw_rate, 3),
        "worker_peak_rss_mb": round(rss, 1),
        "worker_peak_anon_mb": round(parts.anon_mb, 1),
        "worker_peak_file_mb": round(parts.file_mb, 1),
        "scorer_alone_events_per_s": alone["events_per_s"],
        "scorer_alone_peak_rss_mb": alone["peak_rss_mb"],
        "split": split,
        "note": "worker events/s from its first rows in ClickHouse to the last; incl_startup from process start. "
        "worker_* is one process in role all; scorer_alone is one --role process over the same topic; split is "
        "two --role process and one --role store over a topic filled afresh, each rate from its first row",
    }


def metric(url: str, name: str, **labels: str) -> float:
    """A counter's value from a worker's /metrics (0 before its first increment)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}{{{re.escape(wanted)}}} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def processed(url: str, processor: str) -> float:
    """A processor's committed records."""
    return metric(url, "leadstream_records_processed_total", processor=processor)


SESSIONS_SQL = "SELECT sum(events) FROM sessions FINAL WHERE site_id = 'bench'"


def table_count(settings: Settings, sql: str) -> int:
    url = f"{settings.worker_url}/leadstream/query"
    out = httpx.post(url, json={"sql": sql}, headers=settings.analyst_headers, timeout=60).json()
    return int(out["rows"][0][0] or 0)


def bench_scorer_alone(settings: Settings, n: int, tmp: Path, progress: Progress) -> dict[str, Any]:
    """One ``--role process`` over the filled topic, in a group of its own: the scorer's pace with
    nothing beside it (its rows go to Kafka; no warehouse)."""
    alone = settings.model_copy(
        update={"worker_group": f"{settings.worker_group}-alone", "worker_role": "process", "worker_port": free_port()}
    )
    task = progress.add_task("scorer alone (--role process)", total=n)
    with worker_process(alone, tmp / "alone.log") as p:
        first: tuple[float, float] | None = None
        have, moved = 0.0, time.monotonic()
        while have < n:
            time.sleep(0.25)
            now_have = processed(alone.worker_url, "session scorer")
            if now_have and first is None:
                first = (time.perf_counter(), now_have)
            if now_have != have:
                have, moved = now_have, time.monotonic()
            elif time.monotonic() - moved > 120:
                sys.exit(f"scorer alone stuck at {have:,.0f} of {n:,}")
            progress.update(task, completed=have)
        done = time.perf_counter()
        rss = peak_rss_mb(p.pid)
    assert first is not None
    return {"events_per_s": round((n - first[1]) / max(done - first[0], 1e-9)), "peak_rss_mb": round(rss, 1)}


def bench_split(settings: Settings, n: int, tmp: Path, progress: Progress) -> dict[str, Any]:
    """Two ``--role process`` and one ``--role store`` over a topic filled afresh: the events
    table's and the sessions table's pace, each from its first row to the n-th event."""
    split = own_topics(settings, "split", tmp).model_copy(update={"worker_role": "store"})
    asyncio.run(fill_topic(split, n, progress))
    procs = [split.model_copy(update={"worker_role": "process", "worker_port": free_port()}) for _ in range(2)]
    with ExitStack() as stack:
        started = time.perf_counter()
        running = [
            stack.enter_context(worker_process(s, tmp / f"split-{s.worker_role}-{s.worker_port}.log"))
            for s in (split, *procs)
        ]
        # Watched through the workers' own counters (cheap), the tables queried only at the edges:
        # the SQL polls twice a second (one of them a FINAL over the sessions) took 18 % of the
        # writer's samples, a load the figure should not carry.
        tasks = {name: progress.add_task(f"split: {name} table", total=n) for name in ("events", "sessions")}
        first: dict[str, tuple[float, int]] = {}
        done: dict[str, float] = {}
        moved, last = time.monotonic(), (0.0, 0.0)
        while len(done) < 2:
            time.sleep(0.25)
            now = time.perf_counter() - started
            events = metric(split.worker_url, "leadstream_warehouse_rows_inserted_total", table="events")
            session_rows = metric(split.worker_url, "leadstream_warehouse_rows_inserted_total", table="sessions")
            scored = sum(processed(p.worker_url, "session scorer") for p in procs)
            if events and "events" not in first:
                first["events"] = (now, int(events))
            if events >= n and "events" not in done:
                done["events"] = now
            if session_rows and "sessions" not in first:
                first["sessions"] = (now, table_count(split, SESSIONS_SQL))
            if scored >= n and "sessions" not in done and table_count(split, SESSIONS_SQL) >= n:
                done["sessions"] = time.perf_counter() - started
            progress.update(tasks["events"], completed=events)
            progress.update(tasks["sessions"], completed=scored)
            if (events, scored) != last:
                last, moved = (events, scored), time.monotonic()
            elif time.monotonic() - moved > 120:
                sys.exit(f"split run stuck: {events:,.0f} events stored, {scored:,.0f} scored of {n:,} (see the logs)")
        stored = table_count(split, "SELECT count() FROM events WHERE site_id = 'bench'")
        if stored != n:
            sys.exit(f"split run: the events table holds {stored:,} rows, not {n:,}")
        rss = [round(peak_rss_mb(p.pid), 1) for p in running]
    return {
        **{
            ("events_per_s" if name == "events" else "sessions_events_per_s"): round(
                (n - first[name][1]) / max(done[name] - first[name][0], 1e-9)
            )
            for name in ("events", "sessions")
        },
        "store_peak_rss_mb": rss[0],
        "process_peak_rss_mb": rss[1:],
    }


def bench_e2e(
    settings: Settings, events_per_s: int, seconds: float, tmp: Path, progress: Progress, split: bool = False
) -> dict:
    batch = 20
    acked: dict[str, float] = {}
    failures = 0

    async def go() -> list[float]:
        nonlocal failures
        async with load_client(settings.edge_port) as http:

            async def send(i: int) -> None:
                nonlocal failures
                events = [
                    {"s": "bench", "u": f"https://shop.example/e2e/{i}/{j}", "sid": str(uuid.uuid4()), "ea": "view"}
                    for j in range(batch)
                ]
                status, _ = await post_json(http, "/api/sync", orjson.dumps({"events": events}), {})
                if status == 200:
                    now = time.time()
                    for e in events:
                        acked[e["u"]] = now
                else:
                    failures += 1

            return await open_loop(
                events_per_s / batch, seconds, send, progress, f"/api/sync at {events_per_s:,} events/s"
            )

    # every acked row is read back at once: past the analysts' default result limits (100,000 rows, 16 MiB)
    limits = {"rate_sync_per_min": 10**9, "query_max_result_rows": 10**8, "query_max_result_bytes": 1 << 30}
    with stack_processes(settings.model_copy(update=limits), tmp, split):
        http_latencies = asyncio.run(go())
        task = progress.add_task("waiting for the last rows", total=len(acked))
        rows: list[list[Any]] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            out = httpx.post(
                f"{settings.worker_url}/leadstream/query",
                headers=settings.analyst_headers,
                timeout=120,
                json={
                    "sql": "SELECT url, toUnixTimestamp64Milli(inserted_at) FROM events "
                    "WHERE site_id = 'bench' AND url LIKE 'https://shop.example/e2e/%'"
                },
            ).json()
            if "rows" not in out:
                sys.exit(f"reading the rows back failed: {out}")
            rows = out["rows"]
            progress.update(task, completed=len(rows))
            if len(rows) >= len(acked):
                break
            time.sleep(1)
    lags = [ms / 1000 - acked[url] for url, ms in rows if url in acked]
    return {
        "roles": "store + process" if split else "all",
        "offered_events_per_s": events_per_s,
        "seconds": seconds,
        "acked": len(acked),
        "stored": len(rows),
        "http_failures": failures,
        "http_p50_ms": round(pct(http_latencies, 0.5) * 1000, 1),
        "http_p99_ms": round(pct(http_latencies, 0.99) * 1000, 1),
        "ack_to_row_p50_ms": round(pct(lags, 0.5) * 1000, 1),
        "ack_to_row_p99_ms": round(pct(lags, 0.99) * 1000, 1),
    }


def markdown(result: dict[str, Any]) -> str:
    e, w = result.get("edge"), result.get("worker")
    lines = [
        f"# Benchmark {result['date']}",
        "",
        f"Machine: {result['machine']}",
        "",
        "| figure | measured | ceiling (same run) | ratio |",
        "|---|---|---|---|",
    ]
    if e:
        lines += [
            f"| edge /api/sync, 1 process | {e['edge_rps']:,} req/s (p50 {e['edge_p50_ms']:.1f} ms, "
            f"p99 {e['edge_p99_ms']:.1f} ms) | bare ASGI {e['bare_rps']:,} req/s | {e['ratio']:.1%} |",
            f"| edge batches of 100 | {e['batch_events_per_s']:,} events/s | | |",
            f"| edge peak RSS | {e['edge_peak_rss_mb']} MB | | |",
        ]
    if w:
        lines += [
            f"| worker, {w['events']:,} events into ClickHouse | {w['worker_events_per_s']:,} events/s "
            f"({w['worker_events_per_s_incl_startup']:,} from process start, first rows after "
            f"{w['worker_startup_s']} s) | raw aiokafka "
            f"consumer {w['raw_consumer_events_per_s']:,} events/s | {w['ratio']:.1%} |",
            f"| the first {w['worker_sessions_events_timed']:,} counted in their sessions (scorer) | "
            f"{w['worker_sessions_events_per_s']:,} events/s "
            "| | |",
            f"| worker peak RSS | {w['worker_peak_rss_mb']} MB (sampled 4 times a second: anonymous at most "
            f"{w.get('worker_peak_anon_mb', '?')} MB, file-backed at most "
            f"{w.get('worker_peak_file_mb', '?')} MB) | | |",
            f"| scorer alone (one `--role process`) | {w['scorer_alone_events_per_s']:,} events/s "
            f"(peak RSS {w['scorer_alone_peak_rss_mb']} MB) | | |",
        ]
    if split := (w or {}).get("split") or result.get("split"):
        lines.append(
            f"| split: 2 x `--role process` + `--role store` | sessions {split['sessions_events_per_s']:,} "
            f"events/s, events sink {split['events_per_s']:,} events/s (peak RSS store "
            f"{split['store_peak_rss_mb']} MB, processes {split['process_peak_rss_mb']} MB) | | |"
        )
    if e2e := result.get("e2e"):
        lines.append(
            f"| end to end at {e2e['offered_events_per_s']:,} events/s for {e2e['seconds']:g} s "
            f"(worker: {e2e.get('roles', 'all')}) | ack -> row p50 "
            f"{e2e['ack_to_row_p50_ms']} ms, p99 {e2e['ack_to_row_p99_ms']} ms ({e2e['stored']:,}/{e2e['acked']:,} "
            f"stored; HTTP p50 {e2e['http_p50_ms']} ms, p99 {e2e['http_p99_ms']} ms) | | |"
        )
    if o := result.get("os"):
        lines += os_markdown_lines(o)
    return "\n".join(lines) + "\n"


def own_topics(settings: Settings, stage: str, tmp: Path) -> Settings:
    """Topics, consumer group and warehouse of the stage's own, so it does not start behind the
    records an earlier stage left (the worker stage's million events); deleted with the run's."""
    fresh = settings.model_copy(
        update={
            "topic_prefix": f"{settings.worker_group}-{stage}.",
            "worker_group": f"{settings.worker_group}-{stage}",
            "clickhouse_dsn": f"chdb://{tmp / f'warehouse-{stage}'}",
        }
    )
    run_cli(fresh, "sites", "add", "bench")
    return fresh


def run_settings() -> tuple[Path, Settings]:
    """A run's own directory (under var/bench/) and settings: topic prefix, group, warehouse, ports, tokens."""
    tmp = REPO_ROOT / "var" / "bench" / uuid.uuid4().hex[:8]
    tmp.mkdir(parents=True)
    tag = tmp.name
    return tmp, Settings(
        topic_prefix=f"bench-{tag}.",
        worker_group=f"bench-{tag}",
        var_dir=tmp,
        clickhouse_dsn=f"chdb://{tmp / 'warehouse'}",
        redis_url="redis://127.0.0.1:6379/15",
        edge_port=free_port(),
        worker_port=free_port(),
        worker_token=secrets.token_urlsafe(32),  # the run's own tokens for the worker's endpoints
        analyst_tokens={"bench": secrets.token_urlsafe(32)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per run")
    parser.add_argument("--events", type=int, default=1_000_000, help="events pre-filled for the worker run")
    parser.add_argument("--only", choices=["edge", "worker", "split", "e2e", "os", "stats"], help="run one benchmark")
    parser.add_argument(
        "--stats-events", type=int, default=10_000_000, help="events of the Stats API run (--only stats)"
    )
    parser.add_argument("--e2e-rate", type=int, default=2000, help="offered events/s for the end-to-end run")
    parser.add_argument("--e2e-seconds", type=float, default=60)
    parser.add_argument("--e2e-split", action="store_true", help="end to end with a writer and a processor process")
    parser.add_argument("--os-rate", type=float, default=500, help="offered /api/os/score requests/s")
    parser.add_argument("--os-seconds", type=float, default=30, help="measured seconds of each OS run")
    parser.add_argument("--rank-rate", type=float, default=500, help="offered /api/os/rank requests/s (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the run's logs and data under var/bench/")
    args = parser.parse_args()
    if args.only == "stats":  # the Stats API at size: an embedded chDB of its own, no stack (bench/stats_bench.py)
        stats_only(args.stats_events)
        return
    if not shutil.which("wrk") and args.only in (None, "edge"):  # only the edge's runs use it
        sys.exit("wrk not found: apt-get install wrk (make bench installs it)")
    tmp, settings = run_settings()
    run_cli(settings, "sites", "add", "bench")
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    with Progress(console=console) as progress:
        if args.only in (None, "edge"):
            result["edge"] = bench_edge(settings, args.seconds, tmp, progress)
        if args.only in (None, "worker"):
            result["worker"] = bench_worker(settings, args.events, tmp, progress)
        if args.only == "split":  # the split-role run alone (the worker benchmark includes it)
            result["split"] = bench_split(settings, args.events, tmp, progress)
        if args.only in (None, "e2e"):
            fresh = own_topics(settings, "e2e", tmp)
            result["e2e"] = bench_e2e(fresh, args.e2e_rate, args.e2e_seconds, tmp, progress, args.e2e_split)
        if args.only in (None, "os"):
            fresh = own_topics(settings, "os", tmp)
            result["os"] = bench_os(fresh, args.os_rate, args.os_seconds, tmp, progress, args.rank_rate)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stem = result["date"][:16].replace(":", "") + "Z" + (f"-{args.only}" if args.only else "")  # a run's own
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown(result))
    console.print(markdown(result))
    if args.keep:
        console.print(f"logs, data and topics ({settings.topic_prefix}*) kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        asyncio.run(delete_topics(settings.kafka_bootstrap, (settings.topic_prefix, settings.worker_group)))


def stats_only(events: int) -> None:
    from bench.stats_bench import bench_stats
    from bench.stats_bench import markdown as stats_markdown

    with Progress(console=console) as progress:
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "stats": bench_stats(events, 20, 2, progress),
        }
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stem = result["date"][:10] + "-stats"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(stats_markdown(result["stats"]))
    console.print(stats_markdown(result["stats"]))


if __name__ == "__main__":
    main()
