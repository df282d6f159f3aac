"""Who may reach the Stats API, and what bad input gets, on the real stack (edge and worker).

A site's key reaches its own site only: no key, a wrong key, a key without its scheme, and a
site the key does not reach (another existing site, or an unknown one) are all 401 ``{"error"}``,
as Plausible answers. An invalid query is 400 ``{"error"}`` naming the field, never a 5xx nor an
exception's text; filter values reach the warehouse as bound parameters, never as SQL; bodies
drawn from the OpenAPI document (and mangled) never make a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from leadstream.settings import Settings
from tests.api.openapi_strategies import from_openapi
from tests.oci.stack import site_with_key
from tests.processes import edge_and_worker
from tests.stats.live import bearer, query, send_data_set, wait_for_visits

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


class Live:
    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self.settings, self.http = settings, http
        self.key_a = site_with_key(settings, "alpha")
        self.key_b = site_with_key(settings, "beta")
        send_data_set(http, "alpha", "beta")
        wait_for_visits(http, self.key_a, "alpha", 3)


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with edge_and_worker(tmp_path_factory.mktemp("stats-access")) as (settings, http):
        yield Live(settings, http)


def refused(r: httpx.Response, status: int, mentions: str = "") -> str:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert isinstance(error, str) and "Traceback" not in r.text and "DB::Exception" not in r.text
    assert mentions in error
    return str(error)


BODY = {"site_id": "alpha", "metrics": ["visitors"], "date_range": "7d"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer lsk_00000000_" + "x" * 43},
        {"Authorization": "Bearer lsk_"},
        {"Authorization": "Basic abc"},
    ],
)
def test_no_valid_key_is_401(live: Live, headers: dict[str, str]) -> None:
    refused(live.http.post("/api/v2/query", json=BODY, headers=headers), 401)
    r = live.http.get("/api/v1/stats/realtime/visitors", params={"site_id": "alpha"}, headers=headers)
    refused(r, 401)


def test_a_key_reaches_only_its_own_site(live: Live) -> None:
    refused(live.http.post("/api/v2/query", json=BODY, headers={"Authorization": live.key_a}), 401)  # no scheme
    refused(live.http.post("/api/v2/query", json=BODY, headers=bearer(live.key_b)), 401)  # another site
    refused(live.http.post("/api/v2/query", json=BODY | {"site_id": "nowhere"}, headers=bearer(live.key_a)), 401)
    r = live.http.get("/api/v1/stats/realtime/visitors", params={"site_id": "alpha"}, headers=bearer(live.key_b))
    refused(r, 401)
    assert live.http.post("/api/v2/query", json=BODY, headers=bearer(live.key_a)).status_code == 200


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"metrics": ["visitors"], "date_range": "7d"}, "#/site_id"),
        (BODY | {"metrics": ["visitor"]}, '#/metrics/0: Invalid metric "visitor"'),
        (BODY | {"metrics": []}, "#/metrics"),
        (BODY | {"metrics": ["visitors", "visitors"]}, "#/metrics/1"),
        (BODY | {"metrics": "visitors"}, "#/metrics"),
        (BODY | {"date_range": "yesterdays"}, "#/date_range"),
        (BODY | {"date_range": ["2026-02-30", "2026-03-01"]}, "#/date_range"),
        (BODY | {"date_range": ["2026-03-02", "2026-03-01"]}, "#/date_range"),
        (BODY | {"date_range": 7}, "#/date_range"),
        (BODY | {"dimensions": ["visit:nope"]}, "#/dimensions/0"),
        (BODY | {"dimensions": ["visit:country"]}, "no visitor location"),
        (BODY | {"dimensions": ["time:day", "time:hour"]}, "#/dimensions"),
        (BODY | {"metrics": ["views_per_visit"], "dimensions": ["visit:source"]}, "#/metrics/0"),
        (BODY | {"metrics": ["percentage"]}, "#/metrics/0"),
        (BODY | {"metrics": ["conversion_rate"]}, "#/metrics/0"),
        (BODY | {"metrics": ["calls"], "dimensions": ["visit:source"]}, "#/metrics/0"),
        (BODY | {"filters": [["is", "time:day", ["2026-01-01"]]]}, "#/filters/0/1"),
        (BODY | {"filters": [["equals", "visit:source", ["x"]]]}, "#/filters/0/0"),
        (BODY | {"filters": [["is", "visit:source", "x"]]}, "#/filters/0/2"),
        (BODY | {"filters": [["is", "visit:source", []]]}, "#/filters/0/2"),
        (BODY | {"filters": [["and", []]]}, "#/filters/0"),
        (BODY | {"filters": [["matches", "event:page", ["(?=x)"]]]}, "#/filters/0/2/0"),
        (BODY | {"filters": [["matches", "event:page", ["(unclosed"]]]}, "#/filters/0/2/0"),
        (BODY | {"filters": "x"}, "#/filters"),
        (BODY | {"order_by": [["pageviews", "desc"]]}, "#/order_by/0"),
        (BODY | {"order_by": [["visitors", "up"]]}, "#/order_by/0/1"),
        (BODY | {"pagination": {"limit": 0}}, "#/pagination/limit"),
        (BODY | {"pagination": {"limit": 10001}}, "#/pagination/limit"),
        (BODY | {"pagination": {"offset": -1}}, "#/pagination/offset"),
        (BODY | {"include": {"time_labels": True}}, "#/include/time_labels"),
        (BODY | {"include": {"imports": "yes"}}, "#/include/imports"),
        (BODY | {"unknown": 1}, "#/unknown"),
    ],
)
def test_invalid_queries_are_400_naming_the_field(live: Live, body: dict[str, Any], mentions: str) -> None:
    refused(live.http.post("/api/v2/query", json=body, headers=bearer(live.key_a)), 400, mentions)


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b'{"site_id": 5}'])
def test_bodies_that_are_not_a_query_are_400(live: Live, raw: bytes) -> None:
    r = live.http.post("/api/v2/query", content=raw, headers=bearer(live.key_a) | {"content-type": "application/json"})
    refused(r, 400)


def test_oversized_bodies_are_413(live: Live) -> None:
    body = BODY | {"filters": [["is", "event:page", ["/x" * 1000] * 40]]}
    refused(live.http.post("/api/v2/query", json=body, headers=bearer(live.key_a)), 413)


@pytest.mark.parametrize(
    "value", ["' OR 1=1 --", "alpha') OR ('1'='1", "\\'; DROP TABLE events; --", "{site:String}", "%", "\x00"]
)
def test_filter_values_are_parameters_never_sql(live: Live, value: str) -> None:
    for op in ("is", "contains", "is_not"):
        body = BODY | {"date_range": "all", "filters": [[op, "visit:source", [value]]]}
        r = live.http.post("/api/v2/query", json=body, headers=bearer(live.key_a))
        assert r.status_code == 200, r.text
        expected = 2 if op == "is_not" else 0  # nothing matches: is_not keeps every visitor
        assert r.json()["results"][0]["metrics"] == [expected]
    # the other site's data stays where it is
    other = query(live.http, live.key_b, site_id="beta", metrics=["pageviews"], date_range="all")
    assert other.json()["results"][0]["metrics"] == [3]


def test_bodies_drawn_from_the_openapi_document_never_make_a_5xx(live: Live) -> None:
    spec = live.http.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    schema = spec["paths"]["/api/v2/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    bodies = from_openapi(schema, components)
    odd = st.sampled_from([None, "", -1, [], {}, "x" * 300, ["time:day"], [["is", "x", ["y"]]], "7d", ["a", "b"]])

    @hsettings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, data=st.data(), mangle=st.booleans())
    def run(body: Any, data: st.DataObject, mangle: bool) -> None:
        if isinstance(body, dict):
            body["site_id"] = "alpha"
            if mangle and body:
                body[data.draw(st.sampled_from(sorted(body)))] = data.draw(odd)
        r = live.http.post("/api/v2/query", json=body, headers=bearer(live.key_a))
        assert r.status_code in (200, 400, 401), r.text
        if r.status_code != 200:
            assert isinstance(r.json()["error"], str) and "Traceback" not in r.text

    run()
