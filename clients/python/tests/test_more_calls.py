"""The client's calls beyond the contract (rank, enrich, Decision Mode, feedback, deal evaluation, diag)
against httpx.MockTransport: paths, bodies and headers as the SaaS sends them, which calls fall back (with
their fields at the top level, where the SaaS reads them) and which raise."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from leadstream_client import Backoff, OSClient, OSUnavailableError, SyncOSClient, fallback_body

BASE = "http://os.test"
OK = {"success": True, "data": {"ok": 1}}


class Harness:
    def __init__(self, client: OSClient | SyncOSClient, requests: list[httpx.Request]) -> None:
        self.client, self.requests = client, requests

    async def call(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = getattr(self.client, method)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    def sent(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[i].content)


Make = Callable[..., Harness]


@pytest.fixture(params=["async", "sync"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    made: list[Harness] = []

    def factory(status: int = 200, body: Any = OK) -> Harness:
        requests: list[httpx.Request] = []

        def answer(r: httpx.Request) -> httpx.Response:
            requests.append(r)
            return httpx.Response(status, json=body)

        kw: dict[str, Any] = {"transport": httpx.MockTransport(answer), "backoff": Backoff(0, 0, 0)}
        if request.param == "async":

            async def no_wait(_: float) -> None:
                return None

            client: OSClient | SyncOSClient = OSClient(BASE, "tok", "acme", "u-1", sleep=no_wait, **kw)
        else:
            client = SyncOSClient(BASE, "tok", "acme", "u-1", sleep=lambda _: None, **kw)
        made.append(Harness(client, requests))
        return made[-1]

    yield factory
    for h in made:
        if isinstance(h.client, OSClient):
            await h.client.aclose()
        else:
            h.client.close()


async def test_rank_sends_the_entities_options_and_tenant(make: Make) -> None:
    h = make()
    scores = {"q_score": 80, "t_score": 70, "l_score": 60, "e_score": 50}
    assert await h.call("rank", [{"id": "c-1", "scores": scores}], profile="banking_employee", limit=10, explain=True)
    assert h.requests[0].url.path == "/api/os/rank" and h.requests[0].method == "POST"
    assert h.sent() == {
        "entities": [{"id": "c-1", "scores": scores}],
        "tenant_id": "acme",
        "options": {"profile": "banking_employee", "limit": 10, "explain": True},
    }


async def test_enrich_for_system_names_the_tenant_in_the_body_only(make: Make) -> None:
    h = make()
    await h.call("enrich", ["emiratesnbd.com"], tenant_id="system", enrichment_sources=["clearbit", "apollo"])
    assert h.requests[0].url.path == "/api/os/enrich"
    assert h.sent() == {
        "tenant_id": "system",
        "entity_ids": ["emiratesnbd.com"],
        "enrichment_sources": ["clearbit", "apollo"],
    }
    assert "x-tenant-id" not in h.requests[0].headers  # the header would contradict the body
    await h.call("enrich", ["widgets.ae"])
    assert h.sent()["tenant_id"] == "acme" and h.requests[-1].headers["x-tenant-id"] == "acme"


async def test_decision_mode_feedback_and_deal_evaluation_bodies(make: Make) -> None:
    h = make()
    await h.call("intelligence_session", [{"id": "c-1", "name": "A"}], user_id="u-1", persona_id="2")
    assert h.requests[-1].url.path == "/api/os/intelligence/session"
    assert h.sent() == {
        "tenant_id": "acme",
        "persona_id": "2",
        "vertical": "banking",
        "sub_vertical": "employee_banking",
        "region_code": "UAE",
        "leads": [{"id": "c-1", "name": "A"}],
        "user_id": "u-1",
    }
    await h.call("intelligence_feedback", "sess_1", "c-1", "LIKE", metadata={"company_name": "A", "size_bucket": ""})
    assert h.requests[-1].url.path == "/api/os/intelligence/feedback"
    assert h.sent() == {"session_id": "sess_1", "company_id": "c-1", "action": "LIKE",
                        "metadata": {"company_name": "A", "size_bucket": ""}}  # fmt: skip
    await h.call("deal_evaluation", {"company_name": "A", "stage": "proposal"}, vertical="saas-sales")
    assert h.requests[-1].url.path == "/api/os/intelligence/deal-evaluation"
    assert h.sent() == {
        "tenant_id": "acme",
        "vertical": "saas-sales",
        "deal_context": {"company_name": "A", "stage": "proposal"},
    }
    await h.call("diag")
    assert (h.requests[-1].method, h.requests[-1].url.path) == ("GET", "/api/os/__diag")
    assert all(r.headers["x-pr-os-token"] == "tok" for r in h.requests)


@pytest.mark.parametrize(
    ("method", "args", "fields"),
    [
        ("intelligence_session", ([{"id": "c-1"}],), {"primary_recommendation": None, "shortlist": []}),
        ("intelligence_feedback", ("s", "c", "LIKE"), {"feedback_recorded": False}),
        ("deal_evaluation", ({"company_name": "A"},), {"verdict": "HIGH_RISK", "confidence": 0.5}),
    ],
)
async def test_these_fall_back_with_their_fields_at_the_top_level(
    make: Make, method: str, args: tuple[Any, ...], fields: dict[str, Any]
) -> None:
    out = await make(503, {"error": "down"}).call(method, *args)
    assert out["success"] is True and out["fallback"] is True and out["data"]["fallback"] is True
    for key, value in fields.items():
        assert out[key] == value and out["data"][key] == value


@pytest.mark.parametrize(("method", "args"), [("rank", ([],)), ("enrich", (["a.ae"],)), ("diag", ())])
async def test_rank_enrich_and_diag_raise_rather_than_make_up_an_answer(
    make: Make, method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(OSUnavailableError):
        await make(503, {"error": "down"}).call(method, *args)


def test_fallback_bodies_of_the_new_calls_never_raise() -> None:
    for endpoint in ("enrich", "intelligence_session", "intelligence_feedback", "deal_evaluation"):
        for request in (None, {}, {"entity_ids": "x", "leads": 3}, {"entity_id": "a.ae"}):
            assert fallback_body(endpoint, request)["data"]["fallback"] is True
    assert fallback_body("enrich", {"entity_ids": ["a.ae"]})["data"]["entities"] == [
        {"entity_id": "a.ae", "domain": None, "industry": None, "sources": []}
    ]
