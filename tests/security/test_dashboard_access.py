"""Who the dashboard lets in, on the real stack (edge and worker processes, Redis, Kafka, chDB).

The owner's login takes a live key of that site only and sets an HttpOnly, SameSite=Strict
cookie; the cookie reaches that site's Stats and leads APIs, and an unsafe request with it needs
the session's CSRF token. A share link's token reads its own site's statistics only: never the
leads API, never another site, nothing once revoked. Pages carry a self-only CSP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from leadstream.settings import Settings
from tests.oci.stack import form_lead, leads_of, site_with_key
from tests.processes import edge_and_worker, run_cli
from tests.stats.live import around_today, send_data_set, wait_for_visits

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
PHONE = "0532 123 45 67"


class Live:
    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings, self.http = settings, http
        self.key_a = site_with_key(settings, "alpha")
        self.key_b = site_with_key(settings, "beta")
        send_data_set(http, "alpha", "beta")
        form_lead(http, "alpha", "fp-a1", "Cj0KCQiA-alpha-001")
        form_lead(http, "beta", "fp-b1", "Cj0KCQiA-beta-0001")
        wait_for_visits(http, self.key_a, "alpha", 3)
        self.lead_a = leads_of(http, self.key_a, 1)[0]
        self.lead_b = leads_of(http, self.key_b, 1)[0]

    def share(self, site: str, *flags: str) -> str:
        return run_cli(self.settings, "sites", "share", site, *flags).strip().splitlines()[-1]

    def login(self, site: str, key: str, **headers: str) -> httpx.Response:
        r = self.http.post(
            f"/dashboard/{site}/login",
            content=f"key={key}",
            headers={"content-type": "application/x-www-form-urlencoded", **headers},
        )
        self.http.cookies.clear()  # each test sends the cookie it means to
        return r

    def session(self, site: str, key: str) -> tuple[dict[str, str], str]:
        """The cookie header of a fresh session, and its CSRF token read from the page."""
        r = self.login(site, key)
        assert r.status_code == 303, r.text
        token = SimpleCookie(r.headers["set-cookie"])["ls_dash"].value
        cookie = {"cookie": f"ls_dash={token}"}
        html = self.http.get(f"/dashboard/{site}", headers=cookie).text
        return cookie, html.split('data-csrf="', 1)[1].split('"', 1)[0]


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with edge_and_worker(tmp_path_factory.mktemp("dashboard-access")) as (settings, http):
        yield Live(settings, http)


def stats_body(site: str) -> dict[str, object]:
    return {"site_id": site, "metrics": ["visitors", "pageviews"], "date_range": around_today()}


def test_login_takes_a_live_key_of_that_site_only(live: Live) -> None:
    assert live.login("alpha", live.key_b).status_code == 401
    assert live.login("alpha", "lsk_00000000_" + "x" * 43).status_code == 401
    assert live.login("alpha", "").status_code == 401
    assert live.login("nosuchsite", live.key_a).status_code == 401
    foreign = live.login("alpha", live.key_a, origin="https://evil.example")
    assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
    r = live.login("alpha", live.key_a)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/alpha"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    assert live.key_a not in cookie


def test_a_session_reaches_its_own_site_only(live: Live) -> None:
    cookie, csrf = live.session("alpha", live.key_a)
    assert len(csrf) >= 32
    page = live.http.get("/dashboard/alpha", headers=cookie)
    assert page.status_code == 200 and 'data-mode="owner"' in page.text
    assert "data-mode" not in live.http.get("/dashboard/beta", headers=cookie).text  # beta's login form
    with_csrf = {**cookie, "x-csrf-token": csrf}
    assert live.http.post("/api/v2/query", json=stats_body("alpha"), headers=with_csrf).status_code == 200
    assert live.http.post("/api/v2/query", json=stats_body("beta"), headers=with_csrf).status_code == 401
    leads = live.http.get("/api/leads", headers=cookie)
    by_key = live.http.get("/api/leads", headers={"Authorization": f"Bearer {live.key_a}"}).json()["leads"]
    assert leads.status_code == 200 and leads.json()["leads"] == by_key and live.lead_a in by_key
    assert live.http.get(f"/api/leads/{live.lead_b['id']}", headers=cookie).status_code == 404


def test_unsafe_requests_with_the_cookie_need_the_csrf_token(live: Live) -> None:
    cookie, csrf = live.session("alpha", live.key_a)
    lead = f"/api/leads/{live.lead_a['id']}/stage"
    assert live.http.post(lead, json={"stage": "contacted"}, headers=cookie).status_code == 401
    wrong = {**cookie, "x-csrf-token": "x" * 43}
    assert live.http.post(lead, json={"stage": "contacted"}, headers=wrong).status_code == 401
    assert live.http.post("/api/v2/query", json=stats_body("alpha"), headers=cookie).status_code == 401
    _, other_csrf = live.session("alpha", live.key_a)  # another session's token is no good either
    assert (
        live.http.post(lead, json={"stage": "contacted"}, headers={**cookie, "x-csrf-token": other_csrf}).status_code
        == 401
    )
    r = live.http.post(lead, json={"stage": "contacted"}, headers={**cookie, "x-csrf-token": csrf})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "contacted"


def test_revoking_the_key_ends_its_sessions(live: Live) -> None:
    key = run_cli(live.settings, "sites", "key", "alpha").strip().splitlines()[-1]
    deadline = time.monotonic() + 30
    while live.login("alpha", key).status_code != 303 and time.monotonic() < deadline:
        time.sleep(0.5)  # until the edge's mirror of the keys topic has the new key
    cookie, _ = live.session("alpha", key)
    assert live.http.get("/api/leads", headers=cookie).status_code == 200
    run_cli(live.settings, "sites", "keys", "alpha", "--revoke", key.split("_")[1])
    deadline = time.monotonic() + 30
    while live.http.get("/api/leads", headers=cookie).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert live.http.get("/api/leads", headers=cookie).status_code == 401
    assert "data-mode" not in live.http.get("/dashboard/alpha", headers=cookie).text


def test_logout_ends_the_session(live: Live) -> None:
    cookie, csrf = live.session("alpha", live.key_a)
    assert live.http.post("/dashboard/alpha/logout", headers=cookie).status_code == 403
    assert live.http.post("/dashboard/alpha/logout", headers={**cookie, "x-csrf-token": csrf}).status_code == 204
    assert live.http.get("/api/leads", headers=cookie).status_code == 401
    assert "data-mode" not in live.http.get("/dashboard/alpha", headers=cookie).text


def test_a_share_link_reads_its_sites_statistics_only(live: Live) -> None:
    url = live.share("alpha")
    assert url.startswith("http://") and "/share/" in url
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 40
    shared = {"x-share-token": token}
    r = live.http.post("/api/v2/query", json=stats_body("alpha"), headers=shared)
    by_key = live.http.post(
        "/api/v2/query", json=stats_body("alpha"), headers={"Authorization": f"Bearer {live.key_a}"}
    )
    assert r.status_code == 200 and r.json()["results"] == by_key.json()["results"]
    assert live.http.get("/api/v1/stats/realtime/visitors?site_id=alpha", headers=shared).status_code == 200
    assert live.http.post("/api/v2/query", json=stats_body("beta"), headers=shared).status_code == 401
    assert live.http.get("/api/v1/stats/realtime/visitors?site_id=beta", headers=shared).status_code == 401
    assert live.http.get("/api/leads", headers=shared).status_code == 401
    assert live.http.get(f"/api/leads/{live.lead_a['id']}", headers=shared).status_code == 401
    stage = live.http.post(f"/api/leads/{live.lead_a['id']}/stage", json={"stage": "junk"}, headers=shared)
    assert stage.status_code == 401
    page = live.http.get(f"/share/{token}")
    assert page.status_code == 200 and 'data-mode="share"' in page.text and 'data-csrf=""' in page.text
    assert PHONE not in page.text and live.lead_a["id"] not in page.text


def test_a_share_link_works_beside_an_owners_session_of_another_site(live: Live) -> None:
    cookie, _ = live.session("beta", live.key_b)
    shared = {**cookie, "x-share-token": live.share("alpha").rsplit("/", 1)[1]}
    assert live.http.post("/api/v2/query", json=stats_body("alpha"), headers=shared).status_code == 200
    assert live.http.get("/api/v1/stats/realtime/visitors?site_id=alpha", headers=shared).status_code == 200
    assert live.http.post("/api/v2/query", json=stats_body("beta"), headers=shared).status_code == 401
    assert live.http.get("/api/leads", headers=shared).status_code == 401  # never the leads, whatever the cookie


def test_a_revoked_share_link_shows_nothing(live: Live) -> None:
    old = live.share("alpha").rsplit("/", 1)[1]
    new = live.share("alpha").rsplit("/", 1)[1]  # sharing again ends the previous link
    assert live.http.get(f"/share/{old}").status_code == 404
    assert live.http.get(f"/share/{new}").status_code == 200
    assert "revoked" in run_cli(live.settings, "sites", "share", "alpha", "--revoke")
    page = live.http.get(f"/share/{new}")
    assert page.status_code == 404 and "data-site" not in page.text
    assert live.http.post("/api/v2/query", json=stats_body("alpha"), headers={"x-share-token": new}).status_code == 401
    assert live.http.get("/share/" + "x" * 43).status_code == 404


def test_pages_carry_a_self_only_policy_and_assets_an_etag(live: Live) -> None:
    for path in ("/dashboard/alpha", f"/share/{live.share('beta').rsplit('/', 1)[1]}"):
        r = live.http.get(path)
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert r.headers["referrer-policy"] == "same-origin" and r.headers["cache-control"] == "no-store"
        assert "<script>" not in r.text and "cdn" not in r.text.lower()
    asset = live.http.get("/dashboard-assets/dashboard.js")
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    again = live.http.get("/dashboard-assets/dashboard.js", headers={"if-none-match": asset.headers["etag"]})
    assert again.status_code == 304
    assert live.http.get("/dashboard-assets/..%2Fauth.py").status_code == 404
    assert live.http.get("/dashboard/%3Cscript%3E").text.count("<script>") == 0
