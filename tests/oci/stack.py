"""Helpers for the leads and OCI tests on the real stack: a site with a key, leads made through
the tracking edge, and waiting for the leads API to show them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from leadstream.settings import Settings
from tests.processes import run_cli

ORIGIN = "https://shop.example"


def site_with_key(settings: Settings, site: str, *set_args: str) -> str:
    run_cli(settings, "sites", "add", site, "--origin", ORIGIN)
    if set_args:
        run_cli(settings, "sites", "set", site, *set_args)
    return run_cli(settings, "sites", "key", site).strip().splitlines()[-1]


def form_lead(http: httpx.Client, site: str, fp: str, gclid: str | None) -> None:
    meta = {"fp": fp, **({"gclid": gclid} if gclid else {})}
    event = {"s": site, "u": f"{ORIGIN}/quote", "sid": str(uuid.uuid4()), "ec": "conversion", "ea": "form_submit"}
    r = http.post("/api/sync", json={**event, "meta": meta})
    assert r.status_code == 200, r.text


def call_lead(http: httpx.Client, site: str, fp: str, gclid: str | None, action: str = "phone") -> dict[str, Any]:
    meta = {"fp": fp, **({"gclid": gclid} if gclid else {})}
    view = {"s": site, "u": f"{ORIGIN}/", "sid": str(uuid.uuid4()), "ec": "interaction", "ea": "view", "meta": meta}
    assert http.post("/api/sync", json=view).status_code == 200
    deadline = time.monotonic() + 30
    while True:  # the session reaches the matcher within a second or two
        call = {"site_id": site, "phone_number": "0532 123 45 67", "fingerprint": fp, "action": action}
        r = http.post("/api/call-event", json={**call, "event_id": str(uuid.uuid4())})
        assert r.status_code in (200, 202), r.text
        if r.json().get("status") == "matched" or time.monotonic() > deadline:
            return dict(r.json())
        time.sleep(1)


def leads_of(http: httpx.Client, key: str, n: int, timeout_s: float = 60, **query: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = http.get("/api/leads", params=query, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        leads = r.json()["leads"]
        if len(leads) >= n or time.monotonic() > deadline:
            return list(leads)
        time.sleep(0.5)


def set_stage(http: httpx.Client, key: str, lead_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/api/leads/{lead_id}/stage", json=body, headers={"Authorization": f"Bearer {key}"})
