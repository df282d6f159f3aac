"""How the ``/api/os`` endpoints appear in ``/openapi.json``: their request models, their answers and
their refusals, all in the contract's envelope.

The routes read and validate the body themselves (so authentication is checked before the body, and a
bad body is the contract's 400 rather than FastAPI's 422); the request schema is therefore attached
with ``openapi_extra`` and its models registered as components by :func:`add_os_schemas`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from leadstream.schemas.os import SignalsLoad
from leadstream.schemas.os_requests import REQUEST_MODELS
from leadstream.schemas.os_responses import RESPONSE_MODELS, OSErrorBody

DOCUMENTED_REQUESTS: dict[str, type[BaseModel]] = {**REQUEST_MODELS, "signals": SignalsLoad}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": OSErrorBody, "description": "Invalid request, tenant, sales context or input (the error_code says)"},
    401: {"model": OSErrorBody, "description": "OS_AUTH_FAILED: missing or wrong x-pr-os-token / Bearer token"},
    403: {"model": OSErrorBody, "description": "OS_AUTH_DENIED: the token may not act for this tenant"},
    404: {"model": OSErrorBody, "description": "OS_SCORE_NOT_FOUND / OS_PIPELINE_NOT_FOUND"},
    413: {"model": OSErrorBody, "description": "OS_PAYLOAD_TOO_LARGE"},
}


def documented(endpoint: str) -> dict[str, Any]:
    """``router.post`` arguments documenting ``endpoint``'s request body and answers."""
    model = DOCUMENTED_REQUESTS[endpoint]
    responses = dict(ERROR_RESPONSES)
    if endpoint in RESPONSE_MODELS:
        responses[200] = {"model": RESPONSE_MODELS[endpoint], "description": "The answer, or the fallback body"}
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        },
        "responses": responses,
    }


def add_os_schemas(app: FastAPI) -> None:
    """Register the request models (and the models they use) as ``components.schemas``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        models = [(m, "validation") for m in DOCUMENTED_REQUESTS.values()]
        _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
        schema.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def validation_message(exc: ValidationError) -> str:
    """``Invalid <field path>: <why>`` for the first error, as the tracking edge words it."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"Invalid {where}: {err['msg']}"[:500]
