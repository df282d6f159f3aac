"""/openapi.json documents the SaaS's other OS calls: request models with examples, answers, refusals."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from leadstream.edge.app import create_app
from leadstream.schemas.os_more import MORE_REQUEST_MODELS, MORE_RESPONSE_MODELS
from leadstream.settings import Settings


@pytest.fixture(scope="module")
def openapi() -> dict:
    return create_app(Settings()).api.openapi()


@pytest.mark.parametrize("endpoint", sorted(MORE_REQUEST_MODELS))
def test_each_call_has_its_request_schema_answer_and_refusals(openapi: dict, endpoint: str) -> None:
    post = openapi["paths"][f"/api/os/{endpoint}"]["post"]
    model = MORE_REQUEST_MODELS[endpoint].__name__
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"] == f"#/components/schemas/{model}"
    assert model in openapi["components"]["schemas"]
    answer = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer == f"#/components/schemas/{MORE_RESPONSE_MODELS[endpoint].__name__}"
    for status in ("400", "401", "403", "404"):
        error = post["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert error == "#/components/schemas/OSErrorBody"


def test_diag_is_documented(openapi: dict) -> None:
    get = openapi["paths"]["/api/os/__diag"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/DiagResponse")
    assert "401" in get["responses"]


@pytest.mark.parametrize("endpoint", sorted(MORE_REQUEST_MODELS))
def test_request_examples_validate_against_their_model(endpoint: str) -> None:
    model: type[BaseModel] = MORE_REQUEST_MODELS[endpoint]
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)
