"""Kill -9 the worker between a Script's claim and its ack: the claim was stored before the export
answered, so after a restart the ack finds it (nothing exported twice), and a claim whose ack never
comes is handed out again once it expires (nothing lost)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from leadstream.settings import Settings
from tests.conftest import delete_topics, isolated_settings
from tests.oci.script_client import GoogleAds, ScriptClient
from tests.oci.stack import form_lead, leads_of, set_stage, site_with_key
from tests.processes import leadstream_process

pytestmark = [pytest.mark.integration, pytest.mark.faults]
CLAIM_TIMEOUT_S = 5.0


def kill_9(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def worker(settings: Settings, log: Path) -> object:
    return leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", log)


def test_kill_9_between_claim_and_ack(stack: None, tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "var", tmp_path / "unused").model_copy(
        update={"clickhouse_dsn": f"chdb://{tmp_path / 'warehouse'}", "oci_claim_timeout_s": CLAIM_TIMEOUT_S}
    )
    edge_url = f"http://127.0.0.1:{settings.edge_port}"
    try:
        with (
            leadstream_process("edge", settings, f"{edge_url}/healthz", tmp_path / "edge.log"),
            httpx.Client(base_url=edge_url, timeout=30) as http,
        ):
            with worker(settings, tmp_path / "worker-1.log") as first:  # type: ignore[attr-defined]
                key = site_with_key(settings, "shop")
                for n in range(4):
                    form_lead(http, "shop", f"fp-{n}", f"Cj0KCQiA-crash-{n:04d}")
                leads = leads_of(http, key, 4)
                for lead in leads:
                    assert set_stage(http, key, lead["id"], stage="won").status_code == 200
                script = ScriptClient(edge_url, "shop", key)
                script.verify()
                acked_later, run_id, _ = script.export_all()  # claimed: these will be acked after the crash
                assert len(acked_later) == 4
                kill_9(first)  # type: ignore[arg-type]

            ads = GoogleAds()
            with worker(settings, tmp_path / "worker-2.log"):
                # the Script uploaded the first two and acks them now; the other two it never acks
                uploaded = acked_later[:2]
                ads.apply([{"Order ID": i["orderId"]} for i in uploaded])
                assert script.ack([i["id"] for i in uploaded], run_id) == {"ok": True, "updated": 2}
                deadline = time.monotonic() + 60
                report = script.run(ads)  # the two unacked claims come back once they expire
                while report.exported == 0 and time.monotonic() < deadline:
                    time.sleep(1)
                    report = script.run(ads)
                assert report.exported == 2 and report.uploaded == 2
                assert {r[0] for r in report.failed} == set()
                assert script.run(ads).exported == 0
            assert sorted(ads.rows) == sorted(i["orderId"] for i in acked_later)  # nothing lost
            assert len(ads.uploads) == 4  # and nothing uploaded twice
    finally:
        delete_topics((settings.topic_prefix, settings.worker_group))
