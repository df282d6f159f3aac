"""/openapi.json documents every /api/os endpoint: request model with examples, answers, refusals."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from leadstream.edge.app import create_app
from leadstream.schemas.os_requests import REQUEST_MODELS
from leadstream.settings import Settings


@pytest.fixture(scope="module")
def openapi() -> dict:
    return create_app(Settings()).api.openapi()


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/api/os/discovery", "DiscoveryRequest"),
        ("/api/os/discovery-v2", "DiscoveryV2Request"),
        ("/api/os/score", "ScoreRequest"),
        ("/api/os/outreach", "OutreachRequest"),
        ("/api/os/pipeline", "PipelineRequest"),
        ("/api/os/signals", "SignalsLoad"),
    ],
)
def test_each_endpoint_has_its_request_schema(openapi: dict, path: str, model: str) -> None:
    post = openapi["paths"][path]["post"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{model}"
    assert model in openapi["components"]["schemas"]
    for status in ("400", "401", "403"):
        error = post["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert error == "#/components/schemas/OSErrorBody"


def test_every_reference_resolves(openapi: dict) -> None:
    text = str(openapi)
    schemas = openapi["components"]["schemas"]
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(schemas), refs - set(schemas)


@pytest.mark.parametrize("name", sorted(REQUEST_MODELS))
def test_request_examples_validate_against_their_model(name: str) -> None:
    model: type[BaseModel] = REQUEST_MODELS[name]
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


def test_answers_are_documented(openapi: dict) -> None:
    score = openapi["paths"]["/api/os/score"]["post"]["responses"]["200"]["content"]["application/json"]
    assert score["schema"]["$ref"].endswith("/ScoreResponse")
    assert "DiscoveryV2Data" in openapi["components"]["schemas"]
