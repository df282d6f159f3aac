"""OpenAPI for the tracking endpoints.

The routes read raw bytes (size cap first, one JSON parse, errors in the contract's shape),
so FastAPI cannot infer their bodies; these declarations describe them, with examples.
Models named here are added to ``components.schemas`` by ``add_model_schemas``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from leadstream.schemas.calls import CallAnswer, CallEventRequest
from leadstream.schemas.tracking import SyncBatch, SyncEvent
from leadstream.schemas.wire import RateLimited, SigningError, SyncAccepted, TrackingError

DOC_MODELS: list[type[BaseModel]] = [
    SyncEvent,
    SyncBatch,
    CallEventRequest,
    CallAnswer,
    SyncAccepted,
    TrackingError,
    RateLimited,
    SigningError,
]
SID = "7f0c2a7e-3b7d-4a59-9d0e-5b1b6f1f2a10"
SYNC_EXAMPLE = {
    "s": "demo",
    "u": "https://shop.example/pricing",
    "sid": SID,
    "ec": "conversion",
    "ea": "form_submit",
    "meta": {"fp": "fp-1", "gclid": "Cj0KCQiA1234567"},
}


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def body(schema: dict[str, Any], examples: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema, "examples": {k: {"value": v} for k, v in examples.items()}}
            },
        }
    }


def answers(ok: dict[int, tuple[type[BaseModel], str]], errors: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {
        code: {"model": model, "description": text} for code, (model, text) in ok.items()
    }
    for code, text in errors.items():
        model = RateLimited if code == 429 else SigningError if code == 401 else TrackingError
        out[code] = {"model": model, "description": text}
    return out


TRACKING_ERRORS = {
    400: "Validation failed; `message` names the first offending field (`Invalid <field>: <why>`)",
    403: "Origin not allowed (no Access-Control-Allow-Origin header)",
    404: "Site not registered or disabled",
    413: "Body over 256 KiB",
    429: "Rate limit exceeded; see Retry-After",
    503: "Kafka did not take the record in time; nothing was accepted, retry after Retry-After",
}

SYNC_DOC: dict[str, Any] = {
    "summary": "Track visitor events",
    "description": 'One event, or `{"events": [...]}` with 1..100 events for one site. Answers 200 only once '
    "Kafka has acknowledged every event; `score` is the event lead score (the highest in a batch).",
    "openapi_extra": body(
        {"oneOf": [ref(SyncEvent), ref(SyncBatch)]},
        {
            "single": SYNC_EXAMPLE,
            "batch": {"events": [SYNC_EXAMPLE, {**SYNC_EXAMPLE, "ec": "interaction", "ea": "scroll_depth", "ev": 75}]},
        },
    ),
    "responses": answers({200: (SyncAccepted, "Durably accepted")}, TRACKING_ERRORS),
}

CALL_DOC: dict[str, Any] = {
    "summary": "Bridge a phone / WhatsApp click to the visitor's session",
    "description": "Publishes the call and waits (up to the reply deadline) for the matcher: `matched` or "
    "`unmatched` (200), or `queued` (202) when the deadline passes — the call is accepted and will still be "
    "matched. A repeat with the same `event_id` returns the first answer. Sites with a signing secret require "
    "`X-Ops-Ts` and `X-Ops-Signature` (hex HMAC-SHA256 of `<ts>.<raw body>`).",
    "openapi_extra": body(
        ref(CallEventRequest),
        {"phone": {"site_id": "demo", "phone_number": "tel:+15550100", "fingerprint": "fp-1", "event_id": SID}},
    ),
    "responses": answers(
        {200: (CallAnswer, "Matched or unmatched"), 202: (CallAnswer, "Queued: accepted, not matched in time")},
        {**TRACKING_ERRORS, 401: "Signature missing, stale or wrong (signed sites only)"},
    ),
}


def add_model_schemas(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the documented models appear under components.schemas."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in DOC_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
