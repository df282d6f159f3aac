"""The OS edge under thousands of generated requests, drawn from its own ``/openapi.json``: bodies that
follow each endpoint's request schema, the same bodies with fields replaced by arbitrary JSON (at the top
level, and at any depth under any field name the schemas know), raw bytes, and every mix of token and
tenant headers. Never a 5xx; every refusal in the contract's envelope with a known error code; every
answer in the envelope, its ``data`` valid against the documented response model.

In-process edge on the real Kafka and Redis, no stream processors: the valid requests get the fallback
bodies (a short reply deadline, then the breakers open), which is also what they are checked against.
What the edge admits is then run through the stages themselves, in-process on a real chDB warehouse
holding a few of the tenant's companies: a stage may refuse (4xx) but never fail. (The edge once let
``{"config": {"limit": "abc"}}`` through to a pipeline's discovery stage, which answered 500.)
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from leadstream.api.routes import Refused, admit
from leadstream.edge.app import create_app
from leadstream.kafka.broker import core_topics, ensure_topics
from leadstream.salesos.context import ContextNotAvailable, resolve_sales_context
from leadstream.salesos.guard import scan_payload
from leadstream.schemas.os import OSRun
from leadstream.schemas.os_responses import RESPONSE_MODELS
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.os_chain import OSStages, StageError, answer
from tests.api.openapi_strategies import from_openapi
from tests.conftest import delete_topics
from tests.json_strategies import json_values
from tests.providers.tenant_rows import company, insert, signal

pytestmark = pytest.mark.integration

TOKEN = "fuzz-token"
ENDPOINTS = ("discovery", "discovery-v2", "score", "outreach", "pipeline", "signals")
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
    "OS_SCORE_NOT_FOUND",
    "OS_PIPELINE_NOT_FOUND",
    "OS_UNAVAILABLE",
}
SCHEMA_EXAMPLES = 200  # per endpoint
MUTATED_EXAMPLES = 700
RAW_EXAMPLES = 250

Bodies = dict[str, st.SearchStrategy[dict[str, Any]]]
MUTATED: Bodies = {}  # one strategy per endpoint, built once
tokens = st.sampled_from([TOKEN, TOKEN, "wrong", None, "globex-only"])
header_tenants = st.sampled_from(["acme", "acme", None, "globex", "", "evil"])


@pytest.fixture(scope="module")
def os_app(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Bodies]]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        topic_prefix=f"osfuzz-{tag}.",
        var_dir=tmp_path_factory.mktemp("osfuzz"),
        os_tokens=orjson.dumps({TOKEN: ["acme", "globex"], "globex-only": ["globex"]}).decode(),
        os_reply_timeout_s=0.05,
        os_pipeline_timeout_s=0.05,
        produce_timeout_s=1.0,
    )
    asyncio.run(ensure_topics(settings, core_topics(settings)))  # publishing never waits for a topic
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        openapi = client.get("/openapi.json").json()
        yield client, {endpoint: request_bodies(openapi, endpoint) for endpoint in ENDPOINTS}
    delete_topics((settings.topic_prefix,))


def request_bodies(openapi: dict[str, Any], endpoint: str) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies valid against the endpoint's documented request schema."""
    body = openapi["paths"][f"/api/os/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]
    return from_openapi(body["schema"], openapi["components"]["schemas"])


def check(response: Any, endpoint: str) -> None:
    assert response.status_code < 500, response.text
    assert response.status_code in {200, 202, 400, 401, 403, 404, 413}, response.status_code
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("meta"), dict), body
    assert body["meta"]["endpoint"] == f"/api/os/{endpoint}"
    if response.status_code >= 400:
        assert body["success"] is False and isinstance(body["error"], str) and body["error"], body
        assert body["error_code"] in ERROR_CODES, body
        return
    assert body["success"] is True and isinstance(body["data"], dict)
    if endpoint in RESPONSE_MODELS:
        RESPONSE_MODELS[endpoint].model_validate(body)


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


MUTABLE_KEYS = ("tenant_id", "enterprise_id", "options", "config", "leads", "query", "sales_context", "entity_data")


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A valid body with up to three fields (its own or well-known ones) replaced by any JSON value."""
    body = draw(bodies)
    keys = draw(st.lists(st.sampled_from([*sorted(body), *MUTABLE_KEYS]), max_size=3, unique=True))
    return {**body, **{key: draw(json_values) for key in keys}}


@fuzz(MUTATED_EXAMPLES)
@given(data=st.data(), endpoint=st.sampled_from(ENDPOINTS), token=tokens, tenant=header_tenants)
def test_schema_bodies_with_fields_replaced_by_anything(
    os_app: tuple[TestClient, Bodies], data: st.DataObject, endpoint: str, token: str | None, tenant: str | None
) -> None:
    client, bodies = os_app
    body = data.draw(
        MUTATED[endpoint] if endpoint in MUTATED else MUTATED.setdefault(endpoint, mutated(bodies[endpoint]))
    )
    check(client.post(f"/api/os/{endpoint}", content=json.dumps(body), headers=headers(token, tenant)), endpoint)


@fuzz(RAW_EXAMPLES)
@given(
    raw=st.binary(max_size=200)
    | st.sampled_from([b"", b"null", b"[]", b"{", b'"x"', b"1e400", b'{"leads": [' + b"{}," * 200_000 + b"{}]}"]),
    endpoint=st.sampled_from(ENDPOINTS),
    token=tokens,
)
def test_raw_bytes(os_app: tuple[TestClient, Bodies], raw: bytes, endpoint: str, token: str | None) -> None:
    client, _ = os_app
    check(client.post(f"/api/os/{endpoint}", content=raw, headers=headers(token, "acme")), endpoint)


# --- what the edge admits, through the stages ---------------------------------------------------------

STAGED = ("discovery", "discovery-v2", "score", "outreach", "pipeline")
STAGE_EXAMPLES = 250  # per endpoint
Path = tuple[str, ...]
Near = dict[Path, tuple[list[str], list[str]]]  # object's path -> (names it knows, names of its children's)
NEAR: dict[str, Near] = {}


def names_near(openapi: dict[str, Any], endpoint: str) -> Near:
    """For each object of the endpoint's request schema (by path; list items share their list's), the
    names of its own fields and of its children's fields: the latter are where a misplaced key comes from
    (``config.limit`` for ``config.discovery.limit``)."""
    components = openapi["components"]["schemas"]
    body = openapi["paths"][f"/api/os/{endpoint}"]["post"]["requestBody"]["content"]["application/json"]

    def fields(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return fields(components[schema["$ref"].rsplit("/", 1)[-1]])
        found: dict[str, Any] = dict(schema.get("properties", {}))
        for part in schema.get("anyOf", []):
            found |= fields(part)
        if schema.get("type") == "array":
            found |= fields(schema.get("items", {}))
        return found

    near: Near = {}

    def walk(path: Path, schema: dict[str, Any]) -> None:
        own = fields(schema)
        children = sorted({name for sub in own.values() for name in fields(sub)} - set(own))
        near[path] = (sorted(set(own) | set(MUTABLE_KEYS)), children)
        for name, sub in own.items():
            if fields(sub) and len(path) < 4:
                walk((*path, name), sub)

    walk((), body["schema"])
    return near


@st.composite
def nested_mutations(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]], endpoint: str) -> dict[str, Any]:
    """A valid body with up to three values set at any depth, each any JSON value: on an object anywhere
    in it (its ``config`` and ``options`` made if missing), a field its schema knows, or one of its
    children's fields one level too high."""
    body = copy.deepcopy(draw(bodies))
    for key in ("config", "options"):
        if not isinstance(body.get(key), dict) and draw(st.booleans()):
            body[key] = {}
    near = NEAR[endpoint]
    every = sorted({name for own, _ in near.values() for name in own})
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        objects = list(_objects(body, ()))
        parents = [(path, target) for path, target in objects if near.get(path, ([], []))[1]]
        if parents and draw(st.booleans()):  # a child's field, misplaced
            path, target = draw(st.sampled_from(parents))
            name = draw(st.sampled_from(near[path][1]))
        else:
            path, target = draw(st.sampled_from(objects))
            name = draw(st.sampled_from(near[path][0] if path in near else every))
        target[name] = draw(json_values)
    return body


def _objects(value: Any, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _objects(child, (*path, str(key)))
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child, path)


async def through_the_stages(stages: OSStages, run: OSRun) -> None:
    """Each planned stage in turn, as the chain runs them; a refusal must be a 4xx, and a finished run
    must have an answer."""
    for stage in list(run.stages):
        try:
            await stages.handler(stage)(run)
        except StageError as refused:
            assert refused.status < 500, refused.error
            return
    assert answer(run)["status"] == 200


# the smallest valid body of each endpoint; and values of every JSON type, some out of any range
VALID: dict[str, dict[str, Any]] = {
    "discovery": {},
    "discovery-v2": {},
    "score": {"entity_data": {"name": "Acme"}},
    "outreach": {"leads": [{"id": "l-1", "name": "Sam Lee"}]},
    "pipeline": {"config": {"mode": "full_pipeline"}},
}
ODD_VALUES: list[Any] = ["abc", "", "0", -1, 10**12, 1.5, True, None, [1, "x"], {"a": 1}, ["custom"]]


def admitted_run(endpoint: str, body: dict[str, Any]) -> OSRun | None:
    """The run the edge would publish for ``body``, or None when the edge refuses it (never a 5xx)."""
    if scan_payload(body).blocked:
        return None
    try:
        context = resolve_sales_context(body, {})
        request, planned = admit(endpoint, copy.deepcopy(body))
    except ContextNotAvailable:
        return None
    except Refused as refused:
        assert refused.status < 500
        return None
    return OSRun(
        run_id=f"fuzz-{uuid.uuid4().hex[:8]}",
        tenant_id="acme",
        request_id="fuzz",
        endpoint=f"/api/os/{endpoint}",
        stages=planned,
        planned=planned,
        request=request,
        context={**context.as_dict(), "profile": context.profile},
        started_at=datetime.now(UTC),
    )


def _placed(body: dict[str, Any], path: Path, name: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    for key in path:
        node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else node
    node[name] = value
    return out


@pytest.mark.parametrize("endpoint", STAGED)
def test_every_field_at_every_level_with_odd_values_through_the_stages(
    os_app: tuple[TestClient, Bodies], warehouse: Warehouse, settings: Settings, endpoint: str
) -> None:
    """Every field name an object of the schema knows, or one of its children knows (one level too high:
    ``config.limit``), set to each odd value on the smallest valid body: what the edge admits, the stages
    answer (or refuse with a 4xx)."""
    client, _ = os_app
    near = NEAR.setdefault(endpoint, names_near(client.get("/openapi.json").json(), endpoint))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(insert(warehouse, [company("acme", n) for n in range(1, 4)]))
    stages = OSStages(settings, warehouse)
    tried = admitted = 0
    try:
        for path, (own, children) in near.items():
            for name in [*own, *children]:
                for value in ODD_VALUES:
                    tried += 1
                    run = admitted_run(endpoint, _placed(VALID[endpoint], path, name, value))
                    if run is not None:
                        admitted += 1
                        loop.run_until_complete(through_the_stages(stages, run))
    finally:
        loop.close()
    assert tried > 100 and admitted > 0


@pytest.mark.parametrize("endpoint", STAGED)
def test_what_the_edge_admits_the_stages_answer_without_failing(
    os_app: tuple[TestClient, Bodies], warehouse: Warehouse, settings: Settings, endpoint: str
) -> None:
    client, bodies = os_app
    NEAR.setdefault(endpoint, names_near(client.get("/openapi.json").json(), endpoint))
    loop = asyncio.new_event_loop()
    companies = [company("acme", n, data={"tier": "gold"} if n == 2 else {}) for n in range(1, 4)]
    loop.run_until_complete(insert(warehouse, companies, [signal("acme", 1, k) for k in range(2)]))
    stages = OSStages(settings, warehouse)
    admitted = {"n": 0}

    @fuzz(STAGE_EXAMPLES)
    @given(body=nested_mutations(bodies[endpoint], endpoint))
    def run(body: dict[str, Any]) -> None:
        admitted_body = admitted_run(endpoint, body)
        if admitted_body is not None:
            admitted["n"] += 1
            loop.run_until_complete(through_the_stages(stages, admitted_body))

    try:
        run()
    finally:
        loop.close()
    assert admitted["n"] > 0
