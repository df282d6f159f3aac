"""The generated OpenAPI describes both tracking endpoints, and its examples are valid requests."""

from __future__ import annotations

from typing import Any

import pytest

from leadstream.edge.app import create_app
from leadstream.schemas.calls import CallEventRequest
from leadstream.schemas.tracking import parse_sync_payload


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def examples(spec: dict[str, Any], path: str) -> dict[str, Any]:
    return spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]


def test_both_endpoints_with_every_status(spec: dict[str, Any]) -> None:
    sync = spec["paths"]["/api/sync"]["post"]["responses"]
    call = spec["paths"]["/api/call-event"]["post"]["responses"]
    assert {"200", "400", "403", "404", "413", "429", "503"} <= set(sync)
    assert {"200", "202", "400", "401", "403", "404", "413", "429", "503"} <= set(call)


def test_schemas_resolve(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    text = repr(spec)
    for name in ("SyncEvent", "SyncBatch", "EventMeta", "CallEventRequest", "CallAnswer", "TrackingError"):
        assert name in schemas
    for ref in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert ref in schemas, f"dangling $ref {ref}"
    assert "extra" not in schemas["EventMeta"]["properties"]  # wire shape, not the parsed one


def test_examples_are_valid(spec: dict[str, Any]) -> None:
    for example in examples(spec, "/api/sync").values():
        parse_sync_payload(example["value"])
    for example in examples(spec, "/api/call-event").values():
        CallEventRequest.model_validate(example["value"])
