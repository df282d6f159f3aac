"""The SaaS's other OS calls under generated requests drawn from ``/openapi.json``: schema bodies, the same
with fields replaced by any JSON, raw bytes, every mix of token and tenant. Never a 5xx; every refusal in
the contract's envelope with a known code; every answer valid against its documented model.

In-process edge on the real Kafka and Redis, no stream processors: ``/rank`` answers for real (it needs
none), the others with their fallback bodies (a short reply deadline, then their breakers open).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from leadstream.edge.app import create_app
from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.schemas.os_more import MORE_RESPONSE_MODELS
from leadstream.settings import Settings
from tests.api.openapi_strategies import from_openapi
from tests.conftest import delete_topics
from tests.json_strategies import json_values

pytestmark = pytest.mark.integration

TOKEN = "fuzz-more-token"
ENDPOINTS = ("rank", "enrich", "intelligence/session", "intelligence/feedback", "intelligence/deal-evaluation")
ERROR_CODES = {
    "OS_AUTH_FAILED",
    "OS_AUTH_DENIED",
    "OS_TENANT_REQUIRED",
    "OS_TENANT_MISMATCH",
    "OS_INVALID_REQUEST",
    "OS_INVALID_PROFILE",
    "OS_PAYLOAD_TOO_LARGE",
    "INPUT_VALIDATION_FAILED",
    "VERTICAL_NOT_AVAILABLE",
    "SUB_VERTICAL_NOT_AVAILABLE",
    "REGION_NOT_AVAILABLE",
    "SESSION_NOT_FOUND",
}
SCHEMA_EXAMPLES = 120  # per endpoint
MUTATED_EXAMPLES = 400
RAW_EXAMPLES = 150
MUTABLE_KEYS = ("tenant_id", "entities", "options", "entity_ids", "leads", "session_id", "action", "deal_context")

Bodies = dict[str, st.SearchStrategy[dict[str, Any]]]
tokens = st.sampled_from([TOKEN, TOKEN, "wrong", None, "acme-only"])
header_tenants = st.sampled_from(["acme", "acme", None, "system", "", "evil"])


@pytest.fixture(scope="module")
def os_app(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Bodies]]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        topic_prefix=f"osmorefuzz-{tag}.",
        var_dir=tmp_path_factory.mktemp("osmorefuzz"),
        os_tokens=orjson.dumps({TOKEN: ["acme", "system"], "acme-only": ["acme"]}).decode(),
        os_reply_timeout_s=0.05,
        produce_timeout_s=1.0,
    )
    asyncio.run(ensure_topics(settings, core_topics(settings)))  # publishing never waits for a topic
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        openapi = client.get("/openapi.json").json()
        yield client, {endpoint: request_bodies(openapi, endpoint) for endpoint in ENDPOINTS}
    delete_topics((settings.topic_prefix,))


def request_bodies(openapi: dict[str, Any], endpoint: str) -> st.SearchStrategy[dict[str, Any]]:
    body = openapi["paths"][f"/api/os/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]
    return from_openapi(body["schema"], openapi["components"]["schemas"])


def check(response: Any, endpoint: str) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code in {200, 400, 401, 403, 404, 413}, response.status_code
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("meta"), dict), body
    assert body["meta"]["endpoint"] == f"/api/os/{endpoint}"
    if response.status_code >= 400:
        assert body["success"] is False and isinstance(body["error"], str) and body["error"], body
        assert body["error_code"] in ERROR_CODES, body
        return
    assert body["success"] is True and isinstance(body["data"], dict)
    MORE_RESPONSE_MODELS[endpoint].model_validate(body)


def headers(token: str | None, tenant: str | None) -> dict[str, str]:
    out = {"content-type": "application/json"}
    if token is not None:
        out["x-pr-os-token"] = token
    if tenant is not None:
        out["x-tenant-id"] = tenant
    return out


def fuzz(examples: int) -> hsettings:
    return hsettings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bodies_drawn_from_the_openapi_schema(os_app: tuple[TestClient, Bodies], endpoint: str) -> None:
    client, bodies = os_app
    seen = {"ok": 0}

    @fuzz(SCHEMA_EXAMPLES)
    @given(body=bodies[endpoint], token=tokens, tenant=header_tenants)
    def run(body: dict[str, Any], token: str | None, tenant: str | None) -> None:
        response = client.post(f"/api/os/{endpoint}", content=json.dumps(body), headers=headers(token, tenant))
        check(response, endpoint)
        seen["ok"] += response.status_code < 300

    run()
    assert seen["ok"] > 0  # the schema's bodies do get through, not only refusals


MUTATED: Bodies = {}


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    body = draw(bodies)
    keys = draw(st.lists(st.sampled_from([*sorted(body), *MUTABLE_KEYS]), max_size=3, unique=True))
    return {**body, **{key: draw(json_values) for key in keys}}


@fuzz(MUTATED_EXAMPLES)
@given(data=st.data(), endpoint=st.sampled_from(ENDPOINTS), token=tokens, tenant=header_tenants)
def test_schema_bodies_with_fields_replaced_by_anything(
    os_app: tuple[TestClient, Bodies], data: st.DataObject, endpoint: str, token: str | None, tenant: str | None
) -> None:
    client, bodies = os_app
    body = data.draw(MUTATED.setdefault(endpoint, mutated(bodies[endpoint])))
    check(client.post(f"/api/os/{endpoint}", content=json.dumps(body), headers=headers(token, tenant)), endpoint)


@fuzz(RAW_EXAMPLES)
@given(
    raw=st.binary(max_size=200)
    | st.sampled_from([b"", b"null", b"[]", b"{", b'"x"', b"1e400", b'{"entities": [' + b"{}," * 100_000 + b"{}]}"]),
    endpoint=st.sampled_from(ENDPOINTS),
    token=tokens,
)
def test_raw_bytes(os_app: tuple[TestClient, Bodies], raw: bytes, endpoint: str, token: str | None) -> None:
    client, _ = os_app
    check(client.post(f"/api/os/{endpoint}", content=raw, headers=headers(token, "acme")), endpoint)


@fuzz(60)
@given(token=tokens, tenant=header_tenants)
def test_diag_answers_a_token_and_refuses_the_rest(
    os_app: tuple[TestClient, Bodies], token: str | None, tenant: str | None
) -> None:
    client, _ = os_app
    response = client.get("/api/os/__diag", headers=headers(token, tenant))
    if token in (TOKEN, "acme-only"):
        assert response.status_code == 200
        MORE_RESPONSE_MODELS["__diag"].model_validate(response.json())
    else:
        assert response.status_code == 401 and response.json()["error_code"] == "OS_AUTH_FAILED"
