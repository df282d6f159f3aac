"""The walking skeleton, whole: HTTP -> edge process -> Kafka -> worker process -> chDB -> `leadstream query`.

Every hop is real: the broker and Redis from the local stack, the edge and worker started
through the CLI, the warehouse embedded in the worker and read through its query endpoint.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.settings import Settings
from tests.processes import leadstream_process, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def query_json(settings: Settings, sql: str) -> list[dict[str, object]]:
    return orjson.loads(run_cli(settings, "query", "--format", "json", sql))


def wait_for_count(settings: Settings, sql: str, expected: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        seen = int(query_json(settings, sql)[0]["n"])  # type: ignore[arg-type]
        if seen >= expected:
            return seen
        time.sleep(0.5)
    return seen


def test_events_travel_from_http_to_clickhouse(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}"})
    assert "site-e2e" in run_cli(settings, "sites", "add", "site-e2e", "--origin", "https://shop.example")
    assert "site-e2e" in run_cli(settings, "sites", "list")

    worker = leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp_path / "w.log")
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    edge = leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "e.log")
    with worker, edge, httpx.Client(base_url=edge_url, timeout=10) as http:
        sid = str(uuid.uuid4())
        single = {
            "s": "site-e2e",
            "u": "https://shop.example/",
            "sid": sid,
            "ec": "conversion",
            "ea": "call",
            "meta": {"fp": "fp-e2e", "gclid": "Cj0KCQiA-e2e-123"},
        }
        r = http.post("/api/sync", json=single)
        assert r.status_code == 200 and r.json() == {"ok": True, "score": 75, "status": "synced"}

        batch = {
            "events": [
                {"s": "site-e2e", "u": f"https://shop.example/{i}", "sid": sid, "ea": "view"} for i in range(100)
            ]
        }
        r = http.post("/api/sync", json=batch)
        assert r.status_code == 200 and r.json()["count"] == 100

        assert http.post("/api/sync", json={**single, "s": "nope"}).status_code == 404

        n = wait_for_count(settings, f"SELECT count() AS n FROM events_v WHERE session_id = '{sid}'", 101)
        assert n == 101

        [row] = query_json(
            settings,
            f"SELECT site_id, action, score, fingerprint, gclid, ip_prefix FROM events_v "
            f"WHERE session_id = '{sid}' AND action = 'call'",
        )
        assert row == {
            "site_id": "site-e2e",
            "action": "call",
            "score": 75,
            "fingerprint": "fp-e2e",
            "gclid": "Cj0KCQiA-e2e-123",
            "ip_prefix": "127.0.0.0",
        }
        # analysts cannot change the warehouse through the worker: one SELECT only
        with pytest.raises(RuntimeError, match="refused: DROP statement"):
            run_cli(settings, "query", "DROP TABLE events")
