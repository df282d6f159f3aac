"""leadstream.client against httpx.MockTransport (no network): headers, retries, Retry-After, the circuit
breaker, 4xx errors and the fallback bodies, for both the async and the sync client."""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from leadstream_client import (
    CLIENT_POLICIES,
    Backoff,
    OSClient,
    OSClientError,
    OSUnavailableError,
    SyncOSClient,
    fallback_body,
    parse_retry_after,
)
from leadstream_client.breaker import BreakerState

BASE = "http://os.test"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
OK_BODY = {"success": True, "data": {"ok": 1}, "meta": {"os_version": "1.0.0"}}

Answer = Callable[[httpx.Request], httpx.Response] | Exception


def reply(status: int = 200, body: Any = OK_BODY, headers: dict[str, str] | None = None) -> Answer:
    return lambda request: httpx.Response(status, json=body, headers=headers)


class Server:
    """The MockTransport handler: answers in order (the last one repeats) and records each request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [reply()]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Harness:
    client: OSClient | SyncOSClient
    server: Server
    clock: FakeClock
    delays: list[float] = field(default_factory=list)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = getattr(self.client, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result


Make = Callable[..., Harness]


@pytest.fixture(params=["async", "sync"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    made: list[Harness] = []

    def factory(*answers: Answer, **settings: Any) -> Harness:
        server, clock, delays = Server(*answers), FakeClock(), []
        settings = {"user_id": "u-7", "bearer_token": "oidc", "backoff": Backoff(jitter_s=0.0), **settings}
        transport = httpx.MockTransport(server)
        if request.param == "async":

            async def sleep(seconds: float) -> None:
                delays.append(seconds)

            client: OSClient | SyncOSClient = OSClient(
                BASE, "tok", "tenant-1", transport=transport, sleep=sleep, now=clock, **settings
            )
        else:
            client = SyncOSClient(
                BASE, "tok", "tenant-1", transport=transport, sleep=delays.append, now=clock, **settings
            )
        made.append(Harness(client, server, clock, delays))
        return made[-1]

    yield factory
    for h in made:
        if isinstance(h.client, OSClient):
            await h.client.aclose()
        else:
            h.client.close()


def sent_json(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


# --- headers and requests --------------------------------------------------------------------------


async def test_sends_the_contract_headers(make: Make) -> None:
    h = make()
    assert await h.call("score", {"name": "Acme"}) == OK_BODY
    headers = h.server.requests[0].headers
    assert headers["x-pr-os-token"] == "tok"
    assert headers["authorization"] == "Bearer oidc"
    assert headers["x-tenant-id"] == "tenant-1"
    assert headers["x-user-id"] == "u-7"
    assert headers["x-client"] == "premiumradar-saas"
    assert headers["content-type"] == "application/json"
    uuid.UUID(headers["x-request-id"])


async def test_request_id_is_new_per_call_unless_given(make: Make) -> None:
    h = make()
    await h.call("score", {"name": "Acme"})
    await h.call("score", {"name": "Acme"})
    await h.call("score", {"name": "Acme"}, request_id="req-42")
    ids = [r.headers["x-request-id"] for r in h.server.requests]
    assert ids[0] != ids[1]
    assert ids[2] == "req-42"


async def test_optional_headers_are_left_out_and_a_bearer_callable_is_asked_per_call(make: Make) -> None:
    h = make(user_id=None, bearer_token=None)
    await h.call("health")
    assert "authorization" not in h.server.requests[0].headers
    assert "x-user-id" not in h.server.requests[0].headers

    tokens = iter(["t1", "t2"])
    h = make(bearer_token=lambda: next(tokens), client_name="other-saas")
    await h.call("version")
    await h.call("version")
    assert [r.headers["authorization"] for r in h.server.requests] == ["Bearer t1", "Bearer t2"]
    assert h.server.requests[0].headers["x-client"] == "other-saas"


async def test_paths_and_bodies(make: Make) -> None:
    h = make()
    await h.call("discovery", sources=["custom"], limit=10, sub_vertical="sme_banking")
    await h.call("score", {"name": "Acme"}, entity_id="c-1", options={"profile": "banking_sme"})
    await h.call("outreach", [{"id": "l1", "name": "Ahmed"}], options={"channel": "email"})
    await h.call("pipeline", mode="discovery_only", config={"discovery": {"limit": 5}})
    await h.call("get_pipeline", "run/1 x")
    await h.call("health")
    await h.call("version")
    got = [(r.method, r.url.raw_path.decode()) for r in h.server.requests]
    assert got == [
        ("POST", "/api/os/discovery"),
        ("POST", "/api/os/score"),
        ("POST", "/api/os/outreach"),
        ("POST", "/api/os/pipeline"),
        ("GET", "/api/os/pipeline/run%2F1%20x"),
        ("GET", "/api/os/health"),
        ("GET", "/api/os/version"),
    ]
    discovery, score, outreach, pipeline = (sent_json(r) for r in h.server.requests[:4])
    assert discovery == {
        "tenant_id": "tenant-1",
        "region_code": "UAE",
        "vertical_id": "banking",
        "config": {"sources": ["custom"], "limit": 10},
        "sub_vertical": "sme_banking",
    }
    assert score == {
        "entity_type": "company",
        "entity_id": "c-1",
        "entity_data": {"name": "Acme"},
        "options": {"profile": "banking_sme"},
    }
    assert outreach == {"leads": [{"id": "l1", "name": "Ahmed"}], "options": {"channel": "email"}}
    assert pipeline["tenant_id"] == "tenant-1"
    assert pipeline["config"] == {"discovery": {"limit": 5}, "mode": "discovery_only"}
    assert h.server.requests[4].content == b""


async def test_pipeline_mode_defaults_to_full_unless_config_names_one(make: Make) -> None:
    h = make()
    await h.call("pipeline")
    await h.call("pipeline", config={"mode": "discovery_to_score"})
    assert [sent_json(r)["config"]["mode"] for r in h.server.requests] == ["full_pipeline", "discovery_to_score"]


def test_base_url_may_end_in_api_os() -> None:
    server = Server()
    with SyncOSClient(f"{BASE}/api/os/", "tok", "t", transport=httpx.MockTransport(server)) as client:
        client.health()
    assert server.requests[0].url == httpx.URL(f"{BASE}/api/os/health")


async def test_per_endpoint_timeouts_and_overrides(make: Make) -> None:
    h = make(timeouts={"score": 3.5})
    await h.call("score", {"name": "Acme"})
    await h.call("discovery")
    await h.call("outreach", [{"name": "A"}])
    await h.call("pipeline")
    reads = [r.extensions["timeout"]["read"] for r in h.server.requests]
    assert reads == [3.5, 30.0, 20.0, 65.0]


def test_unknown_endpoint_in_overrides_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown endpoint"):
        SyncOSClient(BASE, "tok", "t", retries={"scores": 1})


# --- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retries_the_retryable_statuses_with_the_same_request_id(make: Make, status: int) -> None:
    h = make(reply(status, {"success": False}), reply())
    assert await h.call("score", {"name": "Acme"}) == OK_BODY
    assert h.server.calls == 2
    assert len({r.headers["x-request-id"] for r in h.server.requests}) == 1


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed")]
)
async def test_retries_network_errors_and_timeouts(make: Make, error: Exception) -> None:
    h = make(error, reply())
    assert await h.call("discovery") == OK_BODY
    assert h.server.calls == 2


@pytest.mark.parametrize(("endpoint", "attempts"), [("score", 3), ("discovery", 3), ("outreach", 3), ("pipeline", 2)])
async def test_exhausted_retries_give_the_fallback(make: Make, endpoint: str, attempts: int) -> None:
    h = make(reply(503))
    args = ([{"name": "A"}],) if endpoint == "outreach" else ()
    body = await h.call(endpoint, *args)
    assert body["success"] is True
    assert body["data"]["fallback"] is True
    assert h.server.calls == attempts


async def test_500_is_not_retried_but_falls_back(make: Make) -> None:
    h = make(reply(500, {"success": False, "error": "boom"}))
    body = await h.call("score", {"name": "Acme"})
    assert body["data"]["fallback"] is True
    assert h.server.calls == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_4xx_raise_at_once(make: Make, status: int) -> None:
    h = make(reply(status, {"success": False, "error": "Invalid or missing x-pr-os-token", "error_code": "OS_X"}))
    with pytest.raises(OSClientError) as caught:
        await h.call("score", {"name": "Acme"}, request_id="r-1")
    err = caught.value
    assert (err.status, err.error, err.error_code, err.endpoint, err.request_id) == (
        status,
        "Invalid or missing x-pr-os-token",
        "OS_X",
        "score",
        "r-1",
    )
    assert not isinstance(err, OSUnavailableError)
    assert h.server.calls == 1


async def test_4xx_without_a_json_body_still_raises(make: Make) -> None:
    h = make(lambda request: httpx.Response(404, text="no such route"))
    with pytest.raises(OSClientError) as caught:
        await h.call("get_pipeline", "p-1")
    assert (caught.value.status, caught.value.error, caught.value.error_code) == (404, "no such route", None)


async def test_backoff_doubles(make: Make) -> None:
    h = make(reply(502))
    await h.call("score", {"name": "Acme"})
    assert h.delays == [1.0, 2.0]


async def test_backoff_jitter_stays_in_bounds(make: Make) -> None:
    h = make(reply(504), backoff=Backoff(base_s=1.0, jitter_s=1.0))
    await h.call("score", {"name": "Acme"})
    first, second = h.delays
    assert 1.0 <= first <= 2.0
    assert 2.0 <= second <= 3.0


@pytest.mark.parametrize(("status", "value", "expected"), [(429, "3", 3.0), (503, "0", 0.0), (429, "2.5", 2.5)])
async def test_retry_after_is_honoured(make: Make, status: int, value: str, expected: float) -> None:
    h = make(reply(status, headers={"Retry-After": value}), reply())
    assert await h.call("score", {"name": "Acme"}) == OK_BODY
    assert h.delays == [expected]


async def test_retry_after_as_an_http_date(make: Make) -> None:
    when = datetime.now(UTC) + timedelta(seconds=6)
    h = make(reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)}), reply())
    await h.call("score", {"name": "Acme"})
    assert 4.0 <= h.delays[0] <= 6.0


async def test_retry_after_beyond_the_cap_stops_retrying(make: Make) -> None:
    h = make(reply(429, headers={"Retry-After": "900"}), backoff=Backoff(retry_after_cap_s=10.0))
    body = await h.call("score", {"name": "Acme"})
    assert body["data"]["fallback"] is True
    assert h.server.calls == 1
    assert h.delays == []


async def test_retry_after_on_502_is_ignored(make: Make) -> None:
    h = make(reply(502, headers={"Retry-After": "7"}), reply())
    await h.call("score", {"name": "Acme"})
    assert h.delays == [1.0]


async def test_a_malformed_success_body_falls_back(make: Make) -> None:
    h = make(lambda request: httpx.Response(200, text="<html>proxy</html>"))
    body = await h.call("discovery")
    assert body["data"]["fallback"] is True


async def test_a_non_retryable_transport_error_propagates(make: Make) -> None:
    h = make(httpx.UnsupportedProtocol("ftp"))
    with pytest.raises(httpx.UnsupportedProtocol):
        await h.call("score", {"name": "Acme"})
    assert h.server.calls == 1


# --- circuit breaker -------------------------------------------------------------------------------


async def open_score_breaker(h: Harness) -> None:
    for _ in range(CLIENT_POLICIES["score"].failure_threshold):
        assert (await h.call("score", {"name": "Acme"}))["data"]["fallback"] is True
    assert h.client.breakers["score"].state is BreakerState.OPEN


async def test_breaker_opens_after_threshold_calls_then_falls_back_without_calling(make: Make) -> None:
    h = make(reply(503), retries={"score": 0})
    await open_score_breaker(h)
    assert h.server.calls == 5
    body = await h.call("score", {"name": "Acme"}, entity_id="c-9")
    assert body["data"]["fallback"] is True
    assert body["data"]["entity_id"] == "c-9"
    assert h.server.calls == 5


async def test_one_call_with_its_retries_is_one_breaker_failure(make: Make) -> None:
    h = make(reply(503))
    await h.call("score", {"name": "Acme"})
    assert h.server.calls == 3
    assert h.client.breakers["score"].snapshot()["consecutive_failures"] == 1


async def test_half_open_recovery_closes_after_two_successes(make: Make) -> None:
    h = make(*[reply(503)] * 5, reply(), retries={"score": 0})
    await open_score_breaker(h)
    h.clock.t += CLIENT_POLICIES["score"].reset_timeout_s
    assert h.client.breakers["score"].state is BreakerState.HALF_OPEN
    assert await h.call("score", {"name": "Acme"}) == OK_BODY
    assert h.client.breakers["score"].state is BreakerState.HALF_OPEN
    assert await h.call("score", {"name": "Acme"}) == OK_BODY
    assert h.client.breakers["score"].state is BreakerState.CLOSED
    assert h.server.calls == 7


async def test_half_open_failure_reopens(make: Make) -> None:
    h = make(reply(503), retries={"score": 0})
    await open_score_breaker(h)
    h.clock.t += 30.0
    await h.call("score", {"name": "Acme"})
    assert h.server.calls == 6
    assert h.client.breakers["score"].state is BreakerState.OPEN
    await h.call("score", {"name": "Acme"})
    assert h.server.calls == 6


async def test_4xx_do_not_open_the_breaker(make: Make) -> None:
    h = make(reply(400, {"success": False, "error": "bad", "error_code": "INPUT_VALIDATION_FAILED"}))
    for _ in range(10):
        with pytest.raises(OSClientError):
            await h.call("score", {"name": "Acme"})
    assert h.client.breakers["score"].state is BreakerState.CLOSED


async def test_breakers_are_per_endpoint(make: Make) -> None:
    h = make(*[reply(503)] * 5, reply(), retries={"score": 0})
    await open_score_breaker(h)
    assert await h.call("discovery") == OK_BODY
    assert h.client.breakers["discovery"].state is BreakerState.CLOSED


async def test_discovery_opens_after_three(make: Make) -> None:
    h = make(httpx.ConnectError("down"), retries={"discovery": 0})
    for _ in range(3):
        await h.call("discovery")
    assert h.client.breakers["discovery"].state is BreakerState.OPEN


async def test_an_abandoned_call_frees_its_half_open_slot(make: Make) -> None:
    h = make(*[reply(503)] * 5, httpx.UnsupportedProtocol("x"), reply(), retries={"score": 0})
    await open_score_breaker(h)
    h.clock.t += 30.0
    with pytest.raises(httpx.UnsupportedProtocol):
        await h.call("score", {"name": "Acme"})
    assert h.client.breakers["score"].snapshot()["half_open_in_flight"] == 0
    assert await h.call("score", {"name": "Acme"}) == OK_BODY


# --- health and version ----------------------------------------------------------------------------


async def test_health_and_version_return_the_body(make: Make) -> None:
    h = make(reply(200, {"status": "ok"}))
    assert await h.call("health") == {"status": "ok"}
    assert await h.call("version") == {"status": "ok"}


async def test_health_has_no_fallback(make: Make) -> None:
    h = make(reply(503, {"status": "degraded"}))
    with pytest.raises(OSUnavailableError) as caught:
        await h.call("health")
    assert caught.value.status == 503
    assert h.server.calls == 2  # one retry

    h = make(httpx.ConnectError("down"))
    with pytest.raises(OSUnavailableError) as caught:
        await h.call("version")
    assert caught.value.status is None
    assert "ConnectError" in caught.value.error


# --- fallback bodies -------------------------------------------------------------------------------


def assert_envelope(body: dict[str, Any]) -> dict[str, Any]:
    assert body["success"] is True
    assert TIMESTAMP.match(body["timestamp"])
    assert "meta" not in body
    assert body["data"]["fallback"] is True
    return body["data"]


async def test_score_fallback(make: Make) -> None:
    h = make(reply(503), retries={"score": 0})
    body = await h.call("score", {"name": "Acme"}, entity_id="c-1", options={"profile": "banking_sme"})
    data = assert_envelope(body)
    assert data["entity_id"] == "c-1"
    assert data["scoring_profile"] == "banking_sme"
    scores = data["scores"]
    assert {name: s["value"] for name, s in scores.items()} == dict.fromkeys(
        ["q_score", "t_score", "l_score", "e_score", "composite"], 50
    )
    labels = (
        scores["q_score"]["rating"],
        scores["t_score"]["category"],
        scores["l_score"]["tier"],
        scores["e_score"]["strength"],
        scores["composite"]["tier"],
        scores["composite"]["grade"],
    )
    assert labels == ("FAIR", "SOON", "WARM", "FAIR", "COOL", "C")
    assert data["explanations"] == {"composite": "Score calculated using fallback values"}


async def test_discovery_fallback(make: Make) -> None:
    h = make(httpx.ConnectError("down"), retries={"discovery": 0})
    data = assert_envelope(await h.call("discovery", region_code="UAE", vertical_id="banking"))
    assert (data["companies"], data["signals"], data["total"]) == ([], [], 0)
    assert (data["region"], data["vertical"]) == ("UAE", "banking")


async def test_outreach_fallback(make: Make) -> None:
    h = make(reply(504), retries={"outreach": 0})
    leads = [{"id": "l1", "name": "Ahmed Ali", "company": "Acme"}, {"id": "l2"}]
    data = assert_envelope(await h.call("outreach", leads, options={"channel": "linkedin"}))
    assert data["total"] == 2
    first, second = data["outreach_items"]
    assert (first["lead_id"], first["lead_name"], first["channel"]) == ("l1", "Ahmed Ali", "linkedin")
    assert first["fallback"] is True and first["ai_generated"] is False
    assert first["message"]["subject"] == "Following up with Acme"
    assert first["message"]["body"].startswith("Hello Ahmed,")
    assert "Placeholder" in first["message"]["body"]
    assert second["message"]["body"].startswith("Hello,")


async def test_pipeline_fallbacks(make: Make) -> None:
    h = make(reply(503), retries={"pipeline": 0, "pipeline_status": 0})
    data = assert_envelope(await h.call("pipeline", region_code="UAE", vertical_id="banking"))
    assert data["pipeline_id"].startswith("fallback-")
    assert data["status"] == "fallback"
    assert data["stages"] == {
        "discovery": {"status": "skipped", "companies": []},
        "enrich": {"status": "skipped", "enriched": []},
        "score": {"status": "skipped", "scores": []},
        "rank": {"status": "skipped", "ranked": []},
        "outreach": {"status": "skipped", "messages": []},
    }
    data = assert_envelope(await h.call("get_pipeline", "p-77"))
    assert data["pipeline_id"] == "p-77"
    assert {s["status"] for s in data["stages"].values()} == {"skipped"}


def test_fallback_body_tolerates_malformed_requests() -> None:
    now = datetime(2025, 12, 13, tzinfo=UTC)
    score = fallback_body("score", {"entity_ids": ["e1"], "options": {"include_breakdown": False}}, now=now)
    assert score["timestamp"] == "2025-12-13T00:00:00.000Z"
    assert score["data"]["entity_id"] == "e1"
    assert "breakdown" not in score["data"]["scores"]["q_score"]
    assert fallback_body("score", {"options": "junk", "entity_type": 3})["data"]["entity_type"] == "company"
    assert fallback_body("outreach", {"leads": "junk"})["data"]["outreach_items"] == []
    assert fallback_body("outreach", {"leads": [1, None]})["data"]["total"] == 0
    channel = fallback_body("outreach", {"leads": [{}], "options": {"channel": "fax"}})["data"]["outreach_items"][0]
    assert channel["channel"] == "email"
    assert fallback_body("discovery")["data"]["total"] == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("  ", None), ("12", 12.0), ("-3", 0.0), ("soon", None), ("nan", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, datetime.now(UTC)) == expected


def test_parse_retry_after_past_date_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", datetime.now(UTC)) == 0.0
