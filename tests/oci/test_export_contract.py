"""The OCI export contract on the real stack (edge and worker processes, Kafka, Redis, chDB),
driven by a client that behaves as OpsMantik's Google Ads Script: every expected conversion is
uploaded once with the right click-id column, name, time and value; nothing for a lead without
a click id; a second run uploads nothing; a higher stage later is exported when it comes."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import orjson
import pytest

from leadstream.schemas.conversions import auto_stage
from tests.oci.script_client import GoogleAds, ScriptClient
from tests.oci.stack import call_lead, form_lead, leads_of, set_stage, site_with_key
from tests.processes import edge_and_worker, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_the_script_uploads_each_conversion_once(tmp_path: Path) -> None:
    with edge_and_worker(tmp_path) as (settings, http):
        key = site_with_key(settings, "shop", "--timezone", "Europe/Istanbul")
        form_lead(http, "shop", "fp-form", "Cj0KCQiA-form-0001")
        form_lead(http, "shop", "fp-nogclid", None)
        assert call_lead(http, "shop", "fp-call", "Cj0KCQiA-call-0002")["status"] == "matched"
        leads = leads_of(http, key, 3)
        by_fp = {lead["click_ids"]["gclid"]: lead for lead in leads}
        assert len(leads) == 3 and {lead["kind"] for lead in leads} == {"form", "call"}
        form, call, bare = by_fp["Cj0KCQiA-form-0001"], by_fp["Cj0KCQiA-call-0002"], by_fp[""]
        assert call["phone_number"].endswith("5321234567")  # the owner's own view: in full

        assert set_stage(http, key, form["id"], stage="won", value=1250).json()["version"] == 1
        assert set_stage(http, key, bare["id"], stage="won").status_code == 200
        assert set_stage(http, key, call["id"], stage="contacted").status_code == 200
        assert set_stage(http, key, call["id"], stage="offered", version=1).json() == {
            "id": call["id"],
            "stage": "offered",
            "version": 2,
        }

        ads = GoogleAds()
        script = ScriptClient(str(http.base_url), "shop", key, limit=1)  # one item a page: the cursor is used
        first = script.run(ads)
        assert first.uploaded == 2 and first.failed == [] and first.pages >= 2
        assert first.acked == {"ok": True, "updated": 2}
        rows = {row["Conversion name"]: row for row in ads.rows.values()}
        assert set(rows) == {"OpsMantik_Won", "OpsMantik_Offered"}
        won, offered = rows["OpsMantik_Won"], rows["OpsMantik_Offered"]
        assert (won["Google Click ID"], won["Conversion value"], won["Conversion currency"]) == (
            "Cj0KCQiA-form-0001",
            "1250.0",
            "TRY",
        )
        assert (offered["Google Click ID"], offered["Conversion value"]) == ("Cj0KCQiA-call-0002", "50.0")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0300", won["Conversion time"])  # Istanbul
        assert won["Conversion time"][:16] == _local(form["created_at"])

        second = script.run(ads)
        assert second.exported == 0 and second.uploaded == 0

        assert set_stage(http, key, call["id"], stage="won").status_code == 200
        third = script.run(ads)
        assert third.uploaded == 1 and len(ads.rows) == 3
        assert set_stage(http, key, call["id"], stage="contacted").status_code == 200  # lower after higher
        assert script.run(ads).exported == 0

        csv = http.get("/api/oci/export.csv", params={"siteId": "shop"}, headers={"x-api-key": key})
        assert csv.status_code == 200 and csv.text.startswith("Parameters:TimeZone=Europe/Istanbul\n")

        out = tmp_path / "shop.csv"
        run_cli(settings, "oci", "export", "shop", "--since", "2020-01-01", "--out", str(out))
        assert out.read_text().splitlines()[:2] == [
            "Parameters:TimeZone=Europe/Istanbul",
            "Order ID,Google Click ID,WBRAID,GBRAID,Conversion Name,Conversion Time,"
            "Conversion Value,Conversion Currency",
        ]

        metrics = httpx.get(f"{settings.worker_url}/metrics").text
        assert 'leadstream_oci_queue_items{site="shop",state="acked"} 3.0' in metrics
        assert 'leadstream_oci_excluded{reason="no_click_id",site="shop"} 1.0' in metrics
        status = orjson.loads(run_cli(settings, "status", "--json", "--interval", "0.1"))
        figures = status["offline_conversions"]["shop"]
        assert (figures["acked"], figures["pending"], figures["excluded"]) == (3, 0, {"no_click_id": 1})

        auto_key = site_with_key(settings, "auto", "--auto-stage")
        form_lead(http, "auto", "fp-auto", "Cj0KCQiA-auto-0001")
        (lead,) = leads_of(http, auto_key, 1)
        deadline = time.monotonic() + 30
        while lead["stage"] == "new" and time.monotonic() < deadline:
            time.sleep(0.5)
            lead = leads_of(http, auto_key, 1)[0]
        assert (lead["stage"], lead["version"]) == (auto_stage(lead["score"]), 1)


def _local(created_at: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(created_at).astimezone(ZoneInfo("Europe/Istanbul")).strftime("%Y-%m-%d %H:%M")
