"""Who may reach leads and offline conversions, on the real stack (edge and worker processes):
a site's key reaches its own site's leads only (another site's lead is a 404, never a 403 that
would confirm it exists); bad keys 401; bad queries and bodies 400/422 in the API's shape, never
a 500; stale versions 409; the OCI endpoints refuse what the Script's contract refuses (strict
bodies, unknown query keys, drain headers, signatures, another site's token), give a replayed
ack-failed its stored answer, hand a claim never acked out again and hold back a failed one;
bodies drawn from the OpenAPI document never make a 5xx; erasure removes a visitor's leads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from leadstream.settings import Settings
from tests.api.openapi_strategies import from_openapi
from tests.oci.script_client import GoogleAds, ScriptClient
from tests.oci.stack import form_lead, leads_of, set_stage, site_with_key
from tests.processes import edge_and_worker, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
CLAIM_TIMEOUT_S = 4.0


class Stack:
    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings, self.http = settings, http
        self.key_a = site_with_key(settings, "alpha")
        self.key_b = site_with_key(settings, "beta")
        form_lead(http, "alpha", "fp-a1", "Cj0KCQiA-alpha-001")
        form_lead(http, "alpha", "fp-a2", "Cj0KCQiA-alpha-002")
        form_lead(http, "beta", "fp-b1", "Cj0KCQiA-beta-0001")
        self.leads_a = leads_of(http, self.key_a, 2)
        self.leads_b = leads_of(http, self.key_b, 1)

    def bearer(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with edge_and_worker(tmp_path_factory.mktemp("leads-access"), oci_claim_timeout_s=CLAIM_TIMEOUT_S) as (s, http):
        yield Stack(s, http)


def assert_shape(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body.get("error"), str) and "Traceback" not in r.text
    if code:
        assert body["code"] == code
    return dict(body)


def test_leads_api_keys_and_sites(live: Stack) -> None:
    http, a, b = live.http, live.leads_a[0], live.leads_b[0]
    assert_shape(http.get("/api/leads"), 401, "UNAUTHORIZED")
    assert_shape(http.get("/api/leads", headers=live.bearer("lsk_00000000_" + "x" * 43)), 401)
    assert_shape(http.get("/api/leads", headers={"Authorization": live.key_a}), 401)  # no scheme
    mine = http.get(f"/api/leads/{a['id']}", headers=live.bearer(live.key_a))
    assert mine.status_code == 200 and mine.json()["id"] == a["id"]
    assert_shape(http.get(f"/api/leads/{a['id']}", headers=live.bearer(live.key_b)), 404, "NOT_FOUND")
    assert_shape(http.get(f"/api/leads/{uuid.uuid4()}", headers=live.bearer(live.key_b)), 404, "NOT_FOUND")
    assert_shape(http.get("/api/leads/not-a-uuid", headers=live.bearer(live.key_a)), 404)
    assert_shape(http.get("/api/leads", params={"site_id": "alpha"}, headers=live.bearer(live.key_b)), 404)
    other = http.post(f"/api/leads/{a['id']}/stage", json={"stage": "won"}, headers=live.bearer(live.key_b))
    assert_shape(other, 404, "NOT_FOUND")
    listed = http.get("/api/leads", headers=live.bearer(live.key_b)).json()["leads"]
    assert [lead["id"] for lead in listed] == [b["id"]]


@pytest.mark.parametrize(
    "query",
    [
        {"stage": "lost"},
        {"limit": "0"},
        {"limit": "abc"},
        {"limit": "501"},
        {"since": "yesterday"},
        {"cursor": "not-a-cursor"},
        {"cursor": "x" * 600},
    ],
)
def test_leads_list_refuses_bad_queries_with_400(live: Stack, query: dict[str, str]) -> None:
    assert_shape(live.http.get("/api/leads", params=query, headers=live.bearer(live.key_a)), 400)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{", 400),
        (b'{"stage": "lost"}', 422),
        (b'{"stage": "won", "value": "1"}', 422),
        (b'{"stage": "won", "value": -5}', 422),
        (b'{"stage": "won", "currency": "lira"}', 422),
        (b'{"stage": "won", "extra": 1}', 422),
        (b'{"stage": "won", "version": -1}', 422),
        (b"[]", 422),
        (b"null", 422),
    ],
)
def test_stage_changes_refuse_bad_bodies(live: Stack, body: bytes, status: int) -> None:
    lead = live.leads_a[0]["id"]
    r = live.http.post(f"/api/leads/{lead}/stage", content=body, headers=live.bearer(live.key_a))
    assert_shape(r, status)


def test_a_stale_version_is_a_409_with_the_current_one(live: Stack) -> None:
    lead = live.leads_a[1]["id"]
    first = set_stage(live.http, live.key_a, lead, stage="contacted", version=0)
    assert first.status_code == 200 and first.json()["version"] == 1
    stale = assert_shape(set_stage(live.http, live.key_a, lead, stage="won", version=0), 409, "STALE_VERSION")
    assert stale["version"] == 1
    assert set_stage(live.http, live.key_a, lead, stage="offered", version=1).json()["version"] == 2
    shown = live.http.get(f"/api/leads/{lead}", headers=live.bearer(live.key_a)).json()
    assert (shown["stage"], shown["version"]) == ("offered", 2)  # read right after the answer


def verify(live: Stack, body: object, key: str) -> httpx.Response:
    return live.http.post("/api/oci/v2/verify", content=json.dumps(body), headers={"x-api-key": key})


def test_verify_refuses_what_the_contract_refuses(live: Stack) -> None:
    assert_shape(verify(live, {"siteId": "alpha", "x": 1}, live.key_a), 400)
    assert_shape(verify(live, {"siteId": str(uuid.uuid4())}, live.key_a), 400)
    assert_shape(verify(live, {"siteId": "alpha"}, live.key_b), 401, "INVALID_CREDENTIALS")
    assert_shape(verify(live, {"siteId": "nosuch"}, live.key_a), 401, "INVALID_CREDENTIALS")
    assert_shape(verify(live, {"siteId": "alpha"}, "wrong"), 401, "INVALID_CREDENTIALS")
    ok = verify(live, {"siteId": "alpha"}, live.key_a)
    assert ok.status_code == 200 and ok.json()["session_token"].startswith("oci_")
    assert live.key_a not in ok.text


def test_export_refuses_what_the_contract_refuses(live: Stack) -> None:
    token_b = verify(live, {"siteId": "beta"}, live.key_b).json()["session_token"]
    token_a = verify(live, {"siteId": "alpha"}, live.key_a).json()["session_token"]
    path = "/api/oci/google-ads-export"
    bearer_a = {"Authorization": f"Bearer {token_a}"}
    assert_shape(live.http.get(path, params={"siteId": "alpha", "evil": "1"}, headers=bearer_a), 400)
    assert_shape(live.http.get(path, params={"siteId": "alpha", "limit": "1001"}, headers=bearer_a), 400)
    assert_shape(live.http.get(path, params={"siteId": "alpha", "cursor": "zz"}, headers=bearer_a), 400)
    assert_shape(live.http.get(path, params={"siteId": "alpha"}), 401)
    assert_shape(live.http.get(path, params={"siteId": "alpha"}, headers={"Authorization": "Bearer oci_x"}), 401)
    other = live.http.get(path, params={"siteId": "alpha"}, headers={"Authorization": f"Bearer {token_b}"})
    assert_shape(other, 403)
    blocked = live.http.get(path, params={"siteId": "alpha", "markAsExported": "true"}, headers=bearer_a)
    assert_shape(blocked, 409, "SCRIPT_DRAIN_BLOCKED")
    peek = live.http.get(path, params={"siteId": "alpha", "markAsExported": "false"}, headers={"x-api-key": live.key_a})
    assert peek.status_code == 200 and peek.json()["markAsExported"] is False


def signed(key: str, token: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    sig = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "x-oci-signature": sig}


def test_acks_are_signed_strict_and_replays_get_the_stored_answer(live: Stack) -> None:
    lead = live.leads_a[0]["id"]
    assert set_stage(live.http, live.key_a, lead, stage="won").status_code == 200
    script = ScriptClient(str(live.http.base_url), "alpha", live.key_a)
    script.verify()
    items, run_id, _ = script.export_all()
    assert [i["conversionName"] for i in items] == ["OpsMantik_Offered", "OpsMantik_Won"] or len(items) == 2
    token = script.token or ""
    ids = [items[0]["id"]]
    body = {"siteId": "alpha", "queueIds": ids, "errorCode": "X", "errorMessage": "x", "errorCategory": "TRANSIENT"}
    raw, headers = signed(live.key_a, token, body)
    assert_shape(
        live.http.post("/api/oci/ack-failed", content=raw, headers={**headers, "x-oci-signature": "0" * 64}), 401
    )
    first = live.http.post("/api/oci/ack-failed", content=raw, headers=headers)
    again = live.http.post("/api/oci/ack-failed", content=raw, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json() == {"ok": True, "updated": 1}
    raw, headers = signed(live.key_a, token, {**body, "extra": True})
    assert_shape(live.http.post("/api/oci/ack-failed", content=raw, headers=headers), 400)
    raw, headers = signed(live.key_a, token, {"siteId": "alpha", "queueIds": ["seal_nosuch"]})
    assert_shape(live.http.post("/api/oci/ack", content=raw, headers=headers), 409, "QUEUE_ACK_MISMATCH")
    token_b = verify(live, {"siteId": "beta"}, live.key_b).json()["session_token"]
    raw, headers = signed(live.key_b, token_b, {"siteId": "alpha", "queueIds": ids})
    assert_shape(live.http.post("/api/oci/ack", content=raw, headers=headers), 403)

    # the failed one waits out its backoff; the other, claimed and never acked, comes back
    assert script.export_all()[0] == []
    time.sleep(CLAIM_TIMEOUT_S + 0.5)
    back, _, _ = script.export_all()
    assert [i["id"] for i in back] == [i["id"] for i in items[1:]]
    assert script.ack([i["id"] for i in back], run_id) == {"ok": True, "updated": 1}
    assert script.run(GoogleAds()).exported == 0


OPENAPI_POSTS = ["/api/leads/{lead_id}/stage", "/api/oci/v2/verify", "/api/oci/ack", "/api/oci/ack-failed"]


def test_bodies_drawn_from_the_openapi_document_never_make_a_5xx(live: Stack) -> None:
    spec = live.http.get("/openapi.json").json()
    components = spec.get("components", {}).get("schemas", {})
    bodies = {
        path: from_openapi(
            spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"], components
        )
        for path in OPENAPI_POSTS
    }
    lead = live.leads_b[0]["id"]
    token = verify(live, {"siteId": "beta"}, live.key_b).json()["session_token"]

    @hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(OPENAPI_POSTS), data=st.data(), mangle=st.booleans())
    def run(path: str, data: st.DataObject, mangle: bool) -> None:
        body = data.draw(bodies[path])
        if mangle and isinstance(body, dict) and body:
            body[data.draw(st.sampled_from(sorted(body)))] = data.draw(
                st.sampled_from([None, "", -1, [], {}, "x" * 300])
            )
        raw = orjson.dumps(body)
        headers = {"Authorization": f"Bearer {live.key_b if 'leads' in path else token}", "x-api-key": live.key_b}
        r = live.http.post(path.replace("{lead_id}", lead), content=raw, headers=headers)
        assert r.status_code < 500, (path, body, r.text)
        assert "Traceback" not in r.text

    run()


def test_erasure_removes_a_visitors_leads_and_stage_history(live: Stack, tmp_path: Path) -> None:
    lead = live.leads_b[0]
    assert set_stage(live.http, live.key_b, lead["id"], stage="contacted").status_code == 200
    out = run_cli(live.settings, "privacy", "erase", "--site", "beta", "--fingerprint", "fp-b1")
    assert "leads" in out and "lead_stages" in out
    assert_shape(live.http.get(f"/api/leads/{lead['id']}", headers=live.bearer(live.key_b)), 404)
    found = run_cli(
        live.settings,
        "query",
        "--format",
        "json",
        "SELECT count() AS n FROM lead_stage_history_v WHERE site_id = 'beta'",
    )
    assert orjson.loads(found)[0]["n"] == 0
