"""The /api/os request models: the contract's fields, lenient about unknown keys, strict about types."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadstream.api.openapi import validation_message
from leadstream.schemas.os_requests import (
    DiscoveryV2Request,
    OutreachRequest,
    PipelineRequest,
    ScoreRequest,
)


def test_unknown_keys_are_kept() -> None:
    body = ScoreRequest.model_validate({"entity_data": {"name": "x"}, "saas_extra": {"a": 1}})
    assert body.model_dump(exclude_unset=True) == {"entity_data": {"name": "x"}, "saas_extra": {"a": 1}}


def test_discovery_v2_defaults_and_bounds() -> None:
    body = DiscoveryV2Request.model_validate({"query": "banks", "options": {}})
    assert body.options is not None and (body.options.maxResults, body.options.strictMode) == (10, False)
    for bad in ({"maxResults": 0}, {"maxResults": 101}, {"strictMode": "maybe"}):
        with pytest.raises(ValidationError):
            DiscoveryV2Request.model_validate({"query": "x", "options": bad})
    with pytest.raises(ValidationError):
        DiscoveryV2Request.model_validate({"query": ["not", "text"]})


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (OutreachRequest, {"leads": []}, "leads"),
        (OutreachRequest, {"leads": [{"name": 42}]}, "leads.0.name"),
        (ScoreRequest, {"score_types": ["z_score"]}, "score_types"),
        (ScoreRequest, {"signals": [{"confidence": 2}]}, "signals.0.confidence"),
        (PipelineRequest, {"config": {"mode": "everything"}}, "config.mode"),
        (PipelineRequest, {"tenant_id": 7}, "tenant_id"),
    ],
)
def test_the_error_names_the_field(model: type, body: dict, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(body)
    assert validation_message(exc.value).startswith(f"Invalid {field}")


def test_saas_pipeline_body_is_valid() -> None:
    body = {"tenant_id": "acme", "enterprise_id": "ent-1", "region_code": "UAE", "vertical_id": "banking"}
    assert PipelineRequest.model_validate({**body, "config": {"mode": "full_pipeline"}}).enterprise_id == "ent-1"
