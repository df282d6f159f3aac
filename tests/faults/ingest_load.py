"""Shared by the worker fault drills: batches of events sent as fast as the edge takes them,
and the accounting of what the edge acknowledged against what ClickHouse holds."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx
import orjson

from leadstream.settings import Settings
from tests.processes import run_cli


def count(settings: Settings, sql: str) -> int:
    return int(orjson.loads(run_cli(settings, "query", "--format", "json", sql))[0]["n"])


@dataclass
class Load:
    """Batches of 50 events for ``site``, each with a unique url, from a thread."""

    edge_url: str
    site: str
    acked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # not acknowledged: the edge may still have written them
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        sessions = [str(uuid.uuid4()) for _ in range(20)]
        with httpx.Client(base_url=self.edge_url, timeout=10) as http:
            i = 0
            while not self._stop.is_set():
                events = [
                    {"s": self.site, "u": f"https://x.example/{i}-{j}", "sid": sessions[(i + j) % 20], "ea": "view"}
                    for j in range(50)
                ]
                try:
                    ok = http.post("/api/sync", json={"events": events}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                (self.acked if ok else self.unknown).extend(e["u"] for e in events)
                i += 1


def stored(settings: Settings, site: str) -> int:
    return count(settings, f"SELECT count() AS n FROM events_v WHERE site_id = '{site}'")


def account(settings: Settings, load: Load) -> dict[str, int]:
    """What ClickHouse holds for the load's site, as analysts see it; printed."""
    site = load.site
    sample = load.acked[:: max(1, len(load.acked) // 300)]
    urls = ",".join(f"'{u}'" for u in sample)
    where = f"WHERE site_id = '{site}'"
    run_cli(settings, "stats", "refresh")  # after catch-up, one refresh makes the materialised statistics exact
    daily = "day, events, sessions, conversions, calls, matched_calls, avg_score"
    n = {
        "sent": len(load.acked) + len(load.unknown),
        "acknowledged": len(load.acked),
        "stored": stored(settings, site),
        "distinct": count(settings, f"SELECT uniqExact(url) AS n FROM events_v {where}"),
        "raw rows": count(settings, f"SELECT count() AS n FROM events {where}"),
        "session event counts": count(settings, f"SELECT sum(events) AS n FROM sessions_v {where}"),
        "daily stats events": count(settings, f"SELECT sum(events) AS n FROM daily_site_stats_v {where}"),
        "materialised daily stats events": count(
            settings, f"SELECT sum(events) AS n FROM daily_site_stats_mat_v {where}"
        ),
        "daily stats rows not as materialised": count(
            settings,
            f"SELECT count() AS n FROM (SELECT {daily} FROM daily_site_stats_v {where} "
            f"EXCEPT SELECT {daily} FROM daily_site_stats_mat_v {where})",
        ),
        "acknowledged sample": len(sample),
        "sample present": count(settings, f"SELECT count() AS n FROM events_v {where} AND url IN ({urls})"),
    }
    n["duplicates inserted"] = n["raw rows"] - n["stored"]
    print("\naccounting: " + " ".join(f"{k}={v}" for k, v in n.items()))
    if not n["acknowledged"] <= n["stored"] <= n["sent"]:  # say where the difference is before failing
        per_partition = run_cli(
            settings,
            "query",
            "--format",
            "json",
            "SELECT kafka_partition, count() AS n, min(kafka_offset) AS lo, max(kafka_offset) AS hi "
            f"FROM events WHERE site_id = '{site}' GROUP BY kafka_partition ORDER BY 1",
        )
        print("per partition (table):", orjson.loads(per_partition))
    return n


def assert_exactly_once(n: dict[str, int]) -> None:
    assert n["acknowledged"] > 500, "the load did not run"
    assert n["stored"] == n["distinct"]  # nothing doubled as analysts see it
    assert n["acknowledged"] <= n["stored"] <= n["sent"]  # nothing acknowledged lost; nothing invented
    assert n["sample present"] == n["acknowledged sample"]  # and the acknowledged ones are those stored
    assert n["session event counts"] == n["stored"]  # session state applied each stored event exactly once
    assert n["daily stats events"] == n["stored"]  # the daily statistics count each event once
    assert n["materialised daily stats events"] == n["stored"]  # and so do the materialised ones, after a refresh
    assert n["daily stats rows not as materialised"] == 0


def wait_for_catch_up(settings: Settings, load: Load, timeout_s: float) -> None:
    """Until every acknowledged event is stored and counted in its session, or ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        have = stored(settings, load.site)
        in_sessions = count(settings, f"SELECT sum(events) AS n FROM sessions_v WHERE site_id = '{load.site}'")
        if have >= len(load.acked) and in_sessions >= have:
            return
        time.sleep(1)
