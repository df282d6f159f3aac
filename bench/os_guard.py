"""`python -m bench.os_guard`: does one tenant's 256 KiB bodies move every other tenant's latency?

The edge scans every OS request body for prompt injection before it does anything else with it. This
measures ``/api/os/score`` (small bodies, through the stage chain) at a fixed offered rate, open loop,
twice in the same run: alone, then while another tenant keeps sending ~250 KB outreach bodies (700 leads
of distinct text, so no scan is cached) from a few connections, closed loop. The large bodies pass the
guard and are then refused by the edge (an unknown outreach channel), so the work they add is the
edge's own (reading, parsing, scanning them) and not the worker's. The figure is the ratio of the
score p99 with the large bodies to the p99 without.

Also reported: how long one scan of such a body takes in this process (``scan_payload``, best of 5),
and, without the stack (``--loop-only`` runs only this, ~10 s): how late a 1 ms timer fires on an event
loop while such bodies are scanned back to back, inline (how the edge did it) and in slices (how it
does it now); with ``--before REF`` also inline with the guard of git revision REF. This is what every
other request on that loop waits, whatever the rest of the machine is doing.

Needs the local stack (`make up`). About 45 s: start-up, a 5 s warm-up, then two 15 s phases. Results:
bench/results/<date>-os-guard.json and .md. With ``PYTHONPATH=<another checkout>`` the edge and worker
run that checkout's code (the load generator stays this one), which is how the figures before the
change were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import string
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from rich.progress import Progress

from bench.run import BENCH, console, load_client, open_loop, pct, post_json, stack_processes
from leadstream.commands.heap import settle_heap
from leadstream.kafka.broker import delete_topics
from leadstream.salesos.guard import scan_payload
from leadstream.settings import REPO_ROOT, Settings
from tests.conftest import free_port
from tests.processes import run_cli

WARM_UP_S = 5.0
LEADS_PER_BODY = 700
BODIES = 24  # distinct large bodies, sent in turn


def words(rng: random.Random, n: int) -> str:
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(n))


def large_bodies(limit_bytes: int) -> list[bytes]:
    """Outreach bodies just under the edge's body limit, each of distinct text."""
    rng = random.Random(7)
    out = []
    for b in range(BODIES):
        leads = [
            {
                "id": f"l-{b}-{i}",
                "name": words(rng, 2).title(),
                "company": words(rng, 2).title() + " LLC",
                "designation": words(rng, 3),
                "industry": words(rng, 1),
                "notes": words(rng, 24),
            }
            for i in range(LEADS_PER_BODY)
        ]
        body = {"leads": leads, "options": {"channel": "fax"}}  # scanned, then refused: no worker load
        raw = orjson.dumps(body)
        while len(raw) > limit_bytes:
            leads.pop()
            raw = orjson.dumps(body)
        out.append(raw)
    return out


def scan_ms(raw: bytes) -> float:
    body = orjson.loads(raw)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        scan_payload(body)
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def bench_os_guard(settings: Settings, rate: float, seconds: float, senders: int, tmp: Path) -> dict[str, Any]:
    token = uuid.uuid4().hex
    settings = settings.model_copy(update={"os_tokens": json.dumps({token: ["bench", "heavy"]})})
    normal_headers = {"x-pr-os-token": token, "x-tenant-id": "bench", "X-Client": "bench"}
    heavy_headers = {"x-pr-os-token": token, "x-tenant-id": "heavy", "X-Client": "bench"}
    score_body = orjson.dumps(
        {
            "entity_data": {"name": "Bench Co", "domain": "bench.ae", "industry": "banking", "location": "Dubai"},
            "signals": [{"type": "hiring", "source": "news", "evidence": "hiring", "confidence": 0.8}],
        }
    )
    bodies = large_bodies(settings.max_body_bytes)
    result: dict[str, Any] = {
        "rate_per_s": rate,
        "seconds": seconds,
        "heavy_senders": senders,
        "heavy_body_bytes": min(len(b) for b in bodies),
    }

    async def go(progress: Progress) -> None:
        async with load_client(settings.edge_port) as http:
            outcomes: dict[str, int] = {}

            async def send(i: int) -> None:
                try:
                    status, answer = await post_json(http, "/api/os/score", score_body, normal_headers)
                except (aiohttp.ClientError, TimeoutError):  # counted, its latency the wait until it failed
                    status, answer = 0, b""
                fallback = status == 200 and orjson.loads(answer)["data"].get("fallback")
                key = "error" if status != 200 else "fallback" if fallback else "ok"
                outcomes[key] = outcomes.get(key, 0) + 1

            for _ in range(20):
                await send(0)
            await open_loop(rate, WARM_UP_S, send, progress, f"warm-up {WARM_UP_S:g} s (not measured)")
            settle_heap()
            outcomes.clear()
            alone = await open_loop(rate, seconds, send, progress, f"/api/os/score at {rate:g}/s alone")
            result["alone"] = {**summary(alone), **outcomes}

            outcomes.clear()
            heavy = {"sent": 0, "refused_as_expected": 0, "other": 0}
            stop = asyncio.Event()

            async def heavy_sender(n: int) -> None:
                while not stop.is_set():
                    body = bodies[heavy["sent"] % BODIES]
                    heavy["sent"] += 1
                    try:
                        status, _ = await post_json(http, "/api/os/outreach", body, heavy_headers)
                    except aiohttp.ClientError:
                        status = 0
                    heavy["refused_as_expected" if status == 400 else "other"] += 1

            tasks = [asyncio.create_task(heavy_sender(n)) for n in range(senders)]
            await asyncio.sleep(1.0)  # the large bodies are flowing before the measured phase starts
            label = f"/api/os/score at {rate:g}/s beside {senders} senders of large bodies"
            beside = await open_loop(rate, seconds, send, progress, label)
            stop.set()
            await asyncio.gather(*tasks)
            result["beside_large_bodies"] = {**summary(beside), **outcomes, "large_bodies": heavy}

    with stack_processes(settings, tmp), Progress(console=console) as progress:
        asyncio.run(go(progress))
    result["p99_ratio"] = round(result["beside_large_bodies"]["p99_ms"] / result["alone"]["p99_ms"], 2)
    result["p50_ratio"] = round(result["beside_large_bodies"]["p50_ms"] / result["alone"]["p50_ms"], 2)
    return result


LAG_SECONDS = 3.0


async def _timer_lateness(scan: Callable[[Any], Awaitable[Any]] | None, bodies: list[bytes]) -> dict[str, float]:
    """How late a 1 ms timer fires, for LAG_SECONDS, while ``scan`` runs on the bodies back to back."""
    late: list[float] = []
    deadline = time.perf_counter() + LAG_SECONDS

    async def timer() -> None:
        while time.perf_counter() < deadline:
            due = time.perf_counter() + 0.001
            await asyncio.sleep(0.001)
            late.append(max(0.0, time.perf_counter() - due))

    async def scanning() -> None:
        n = 0
        while scan is not None and time.perf_counter() < deadline:
            await scan(orjson.loads(bodies[n % len(bodies)]))
            n += 1

    await asyncio.gather(timer(), scanning())
    return {
        "p50_ms": round(pct(late, 0.5) * 1000, 2),
        "p99_ms": round(pct(late, 0.99) * 1000, 2),
        "max_ms": round(max(late) * 1000, 2),
    }


def _guard_at(ref: str) -> Any:
    """The guard module as git revision ``ref`` has it."""
    source = subprocess.run(
        ["git", "show", f"{ref}:leadstream/salesos/guard.py"], cwd=REPO_ROOT, capture_output=True, check=True, text=True
    ).stdout
    module = types.ModuleType(f"bench_guard_{ref}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"guard@{ref}", "exec"), module.__dict__)
    return module


def loop_lateness(bodies: list[bytes], before: str | None) -> dict[str, Any]:
    async def inline(body: Any) -> None:
        scan_payload(body)
        await asyncio.sleep(0)

    modes: dict[str, Callable[[Any], Awaitable[Any]] | None] = {"idle": None, "inline": inline}
    try:
        from leadstream.api.guarding import guard_body
    except ImportError:  # a checkout from before the sliced scan (PYTHONPATH=...)
        pass
    else:
        modes["sliced"] = guard_body
    if before:
        old = _guard_at(before)

        async def inline_before(body: Any) -> None:
            old.scan_payload(body)
            await asyncio.sleep(0)

        modes[f"inline, guard of {before}"] = inline_before
    return {mode: asyncio.run(_timer_lateness(scan, bodies)) for mode, scan in modes.items()}


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(pct(latencies, 0.5) * 1000, 1),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def lateness_table(result: dict[str, Any]) -> list[str]:
    rows = [
        f"One scan of a large body here: {result['scan_ms_per_heavy_body']} ms. A 1 ms timer on an event loop "
        f"while large bodies are scanned back to back ({LAG_SECONDS:g} s each):",
        "",
        "| scanning | timer late p50 ms | p99 ms | max ms |",
        "|---|---|---|---|",
    ]
    for mode, lag in result["timer_lateness"].items():
        rows.append(f"| {mode} | {lag['p50_ms']} | {lag['p99_ms']} | {lag['max_ms']} |")
    return [*rows, ""]


def markdown(result: dict[str, Any]) -> str:
    if "alone" not in result:
        return "\n".join([f"# OS guard bench {result['date']} (loop only)", "", *lateness_table(result)])
    alone, beside = result["alone"], result["beside_large_bodies"]
    heavy = beside["large_bodies"]
    return "\n".join(
        [
            f"# OS guard bench {result['date']}",
            "",
            *lateness_table(result),
            f"`/api/os/score` at {result['rate_per_s']:g} requests/s, {result['seconds']:g} s each phase; "
            f"large bodies: {result['heavy_body_bytes']:,} bytes, {result['heavy_senders']} senders, "
            f"{heavy['sent']} sent ({heavy['refused_as_expected']} refused after the scan, as meant, "
            f"{heavy['other']} otherwise); "
            f"one scan of such a body here: {result['scan_ms_per_heavy_body']} ms.",
            "",
            "| phase | p50 ms | p99 ms | max ms | ok / fallback / error |",
            "|---|---|---|---|---|",
            f"| alone | {alone['p50_ms']} | {alone['p99_ms']} | {alone['max_ms']} | "
            f"{alone.get('ok', 0)} / {alone.get('fallback', 0)} / {alone.get('error', 0)} |",
            f"| beside the large bodies | {beside['p50_ms']} | {beside['p99_ms']} | {beside['max_ms']} | "
            f"{beside.get('ok', 0)} / {beside.get('fallback', 0)} / {beside.get('error', 0)} |",
            "",
            f"p99 ratio (beside / alone): **{result['p99_ratio']}**; p50 ratio {result['p50_ratio']}.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="offered /api/os/score requests/s")
    parser.add_argument("--seconds", type=float, default=15, help="length of each measured phase")
    parser.add_argument("--senders", type=int, default=2, help="connections sending large bodies, closed loop")
    parser.add_argument("--label", default="", help="added to the result file's name (e.g. before)")
    parser.add_argument("--loop-only", action="store_true", help="only the event-loop figures (no stack)")
    parser.add_argument("--before", help="a git revision whose guard is also measured inline (loop figures)")
    args = parser.parse_args()
    bodies = large_bodies(Settings().max_body_bytes)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scan_ms_per_heavy_body": scan_ms(bodies[0]),
        "timer_lateness": loop_lateness(bodies, args.before),
    }
    if args.loop_only:
        save(result, "os-guard-loop" + (f"-{args.label}" if args.label else ""))
        return
    tmp = REPO_ROOT / "var" / "bench" / f"osguard-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    tag = tmp.name
    settings = Settings(
        topic_prefix=f"bench-{tag}.",
        worker_group=f"bench-{tag}",
        var_dir=tmp,
        clickhouse_dsn=f"chdb://{tmp / 'warehouse'}",
        redis_url="redis://127.0.0.1:6379/15",
        edge_port=free_port(),
        worker_port=free_port(),
    )
    run_cli(settings, "sites", "add", "bench")  # the edge is ready once the site registry has loaded
    try:
        result |= bench_os_guard(settings, args.rate, args.seconds, args.senders, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        asyncio.run(delete_topics(settings.kafka_bootstrap, (settings.topic_prefix, settings.worker_group)))
    save(result, "os-guard" + (f"-{args.label}" if args.label else ""))


def save(result: dict[str, Any], name: str) -> None:
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    stem = f"{result['date'][:16].replace(':', '')}Z-{name}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown(result))
    console.print(markdown(result))


if __name__ == "__main__":
    main()
