"""``leadstream status``: the stack's health, lag and rate per consumer group, dead letters and the
last errors, gathered from the processes' own endpoints, Kafka, Redis and the warehouse.

Lag comes from Kafka itself (``lag.read_lag``), so it shows while no worker runs; rates are the
committed offsets' growth between two readings. Each source that cannot be reached is reported as
such; gathering never raises.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import redis
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from leadstream.observability.lag import PartitionLag, read_lag
from leadstream.settings import Settings

DEAD_LETTERS_SQL = (
    "SELECT stage, substring(trim(splitByChar(':', reason)[1]), 1, 60) AS reason, count() AS n, "
    "max(failed_at) AS last FROM dead_letters_v GROUP BY stage, reason ORDER BY n DESC LIMIT 20"
)
NEWEST_DEAD_SQL = "SELECT failed_at, stage, reason FROM dead_letters_v ORDER BY failed_at DESC LIMIT 5"
OCI_SQL = "SELECT site_id, status, reason, count() AS n FROM oci_queue_v GROUP BY site_id, status, reason"


def edge_url(settings: Settings) -> str:
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(settings.edge_host, settings.edge_host)
    return f"http://{host}:{settings.edge_port}"


def _http(url: str) -> dict[str, Any]:
    try:
        r = httpx.get(url, timeout=3)
    except httpx.HTTPError as exc:
        return {"ok": False, "error": f"not reachable: {exc.__class__.__name__}"}
    try:
        body = r.json()
    except ValueError:
        body = {"body": r.text[:200]}
    return {"ok": r.status_code == 200, "status": r.status_code, **body}


def _redis(settings: Settings) -> dict[str, Any]:
    try:
        redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True}


def _lag(settings: Settings) -> list[PartitionLag] | str:
    try:
        return asyncio.run(read_lag(settings.kafka_bootstrap, settings.worker_group, timeout_s=10))
    except Exception as exc:
        return f"{exc.__class__.__name__}: {exc}"[:200]


def _groups(first: list[PartitionLag], second: list[PartitionLag], seconds: float) -> list[dict[str, Any]]:
    before = {(p.group, p.topic, p.partition): p.committed for p in first}
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"lag": 0, "committed_per_s": 0.0, "partitions": 0})
    for p in second:
        g = groups[p.group]
        g["lag"] += p.lag
        g["partitions"] += 1
        g["committed_per_s"] += max(0, p.committed - before.get((p.group, p.topic, p.partition), p.committed)) / seconds
    return [
        {"group": name, **g, "committed_per_s": round(g["committed_per_s"], 1)} for name, g in sorted(groups.items())
    ]


def _warehouse(settings: Settings) -> dict[str, Any]:
    from leadstream.storage.analyst import analyst_query

    try:
        by_reason = analyst_query(settings, DEAD_LETTERS_SQL, timeout_s=10)
        newest = analyst_query(settings, NEWEST_DEAD_SQL, timeout_s=10)
    except Exception as exc:
        return {"ok": False, "error": str(exc).splitlines()[0][:300] if str(exc) else repr(exc)}
    return {
        "ok": True,
        "dead_letters": [dict(zip(by_reason.columns, r, strict=True)) for r in by_reason.rows],
        "newest_dead_letters": [dict(zip(newest.columns, r, strict=True)) for r in newest.rows],
    }


def _oci(settings: Settings) -> dict[str, Any]:
    """Per site: offline conversions pending, claimed, acked, failed, and excluded by reason."""
    from leadstream.oci.queue import add, empty_figures
    from leadstream.storage.analyst import analyst_query

    try:
        rows = analyst_query(settings, OCI_SQL, timeout_s=10).rows
    except Exception:
        return {}
    sites: dict[str, Any] = {}
    for site, state, reason, n in rows:
        add(sites.setdefault(site, empty_figures()), state, reason, int(n))
    return sites


def gather(settings: Settings, interval_s: float = 1.0) -> dict[str, Any]:
    """Everything the status screen shows, as plain data (``--json`` prints it as it is)."""
    first = _lag(settings)
    started = time.monotonic()
    edge = _http(f"{edge_url(settings)}/healthz")
    worker = _http(f"{settings.worker_url}/leadstream/health")
    redis_state = _redis(settings)
    warehouse = _warehouse(settings)
    time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    second = _lag(settings) if not isinstance(first, str) else first
    seconds = max(time.monotonic() - started, 1e-3)
    if isinstance(second, str) or isinstance(first, str):
        kafka = {"ok": False, "error": second if isinstance(second, str) else first}
        groups: list[dict[str, Any]] = []
    else:
        kafka = {"ok": True}
        groups = _groups(first, second, seconds)
    errors = [
        {"at": loop.get("last_error_at"), "where": name, "error": loop["last_error"]}
        for name, loop in (worker.get("loops") or {}).items()
        if loop.get("last_error")
    ]
    errors += [
        {"at": str(d["failed_at"]), "where": f"dead letter ({d['stage']})", "error": d["reason"]}
        for d in warehouse.get("newest_dead_letters", [])
    ]
    errors.sort(key=lambda e: e["at"] or "", reverse=True)
    healthy = all(part["ok"] for part in (edge, worker, kafka, redis_state))
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ok": healthy,
        "stack": {"edge": edge, "worker": worker, "kafka": kafka, "redis": redis_state, "warehouse": warehouse},
        "groups": groups,
        "dead_letters": warehouse.get("dead_letters", []),
        "last_errors": errors[:10],
        "offline_conversions": _oci(settings) if warehouse["ok"] else {},
    }


def _mark(ok: bool) -> Text:
    return Text("ok", style="green") if ok else Text("FAIL", style="bold red")


def render(status: dict[str, Any]) -> Group:
    """The one screen."""
    stack = status["stack"]
    health = Table("component", "state", "detail", title="stack", title_justify="left", expand=True)
    edge = stack["edge"]
    health.add_row(
        "edge",
        _mark(edge["ok"]),
        edge.get("error") or f"kafka={edge.get('kafka')} sites={edge.get('sites')} redis={edge.get('redis')}",
    )
    worker = stack["worker"]
    failing = worker.get("failing") or []
    loops = worker.get("loops") or {}
    health.add_row(
        "worker",
        _mark(worker["ok"]),
        worker.get("error") or ("; ".join(failing) if failing else f"{len(loops)} loops healthy"),
    )
    for name in ("kafka", "redis", "warehouse"):
        part = stack[name]
        health.add_row(name, _mark(part["ok"]), part.get("error") or "")

    groups = Table(
        "group", "partitions", "lag", "committed/s", title="consumer groups", title_justify="left", expand=True
    )
    for g in status["groups"]:
        lag = Text(str(g["lag"]), style="yellow" if g["lag"] else "")
        groups.add_row(g["group"], str(g["partitions"]), lag, f"{g['committed_per_s']:g}")

    dead = Table("stage", "reason", "count", "last", title="dead letters", title_justify="left", expand=True)
    for d in status["dead_letters"]:
        dead.add_row(d["stage"], d["reason"], str(d["n"]), str(d["last"]))

    errors = Table("at", "where", "error", title="last errors", title_justify="left", expand=True)
    for e in status["last_errors"]:
        errors.add_row(str(e["at"] or ""), e["where"], str(e["error"])[:200])

    oci = Table(
        "site",
        "pending",
        "claimed",
        "acked",
        "failed",
        "excluded",
        title="offline conversions (Google Ads)",
        title_justify="left",
        expand=True,
    )
    for site, f in sorted(status.get("offline_conversions", {}).items()):
        excluded = ", ".join(f"{reason} {n}" for reason, n in sorted(f["excluded"].items())) or "0"
        oci.add_row(site, str(f["pending"]), str(f["claimed"]), str(f["acked"]), str(f["failed"]), excluded)

    title = f"leadstream status at {status['at']}: " + (
        "[green]healthy[/green]" if status["ok"] else "[red]unhealthy[/red]"
    )
    return Group(Panel(health, title=title, title_align="left"), groups, dead, oci, errors)
