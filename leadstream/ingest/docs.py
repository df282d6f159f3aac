"""OpenAPI for the tracking endpoints.

They are served as plain ASGI in front of FastAPI (``ingest.asgi``), so FastAPI does not see
them; these path items describe them, with examples, and ``add_tracking_docs`` merges them
(and the models they name) into the app's generated schema.
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
    """JSON, sent as ``application/json`` or as ``text/plain`` (what trackers send: no CORS preflight)."""
    content = {"schema": schema, "examples": {k: {"value": v} for k, v in examples.items()}}
    return {"required": True, "content": {"application/json": content, "text/plain": {"schema": schema}}}


def answers(ok: dict[int, tuple[type[BaseModel], str]], errors: dict[int, str]) -> dict[str, dict[str, Any]]:
    def one(model: type[BaseModel], text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": ref(model)}}}

    out = {str(code): one(model, text) for code, (model, text) in ok.items()}
    for code, text in errors.items():
        out[str(code)] = one(
            RateLimited if code == 429 else SigningError if code in (401, 409) else TrackingError, text
        )
    return out


TRACKING_ERRORS = {
    400: "Validation failed; `message` names the first offending field (`Invalid <field>: <why>`)",
    403: "Origin not allowed (no Access-Control-Allow-Origin header)",
    404: "Site not registered or disabled",
    413: "Body over 256 KiB",
    429: "Rate limit exceeded (a batch costs its events; answers 400/401/404/413 spend a per-client budget of "
    "their own); see Retry-After",
    503: "Kafka did not take the record in time; nothing was accepted, retry after Retry-After",
}

SYNC_DOC: dict[str, Any] = {
    "operationId": "sync",
    "summary": "Track visitor events",
    "description": 'One event, or `{"events": [...]}` with 1..100 events for one site. Answers 200 only once '
    "Kafka has acknowledged every event; `score` is the event lead score (the highest in a batch).",
    "requestBody": body(
        {"oneOf": [ref(SyncEvent), ref(SyncBatch)]},
        {
            "single": SYNC_EXAMPLE,
            "batch": {"events": [SYNC_EXAMPLE, {**SYNC_EXAMPLE, "ec": "interaction", "ea": "scroll_depth", "ev": 75}]},
        },
    ),
    "responses": answers({200: (SyncAccepted, "Durably accepted")}, TRACKING_ERRORS),
}

CALL_DOC: dict[str, Any] = {
    "operationId": "call_event",
    "summary": "Bridge a phone / WhatsApp click to the visitor's session",
    "description": "Publishes the call and waits (up to the reply deadline) for the matcher: `matched` or "
    "`unmatched` (200), or `queued` (202) when the deadline passes — the call is accepted and will still be "
    "matched. A repeat with the same `event_id` returns the first answer. Sites with a signing secret require "
    "`X-Ops-Ts` and `X-Ops-Signature` (hex HMAC-SHA256 of `<ts>.<raw body>`); a signed call without `event_id` "
    "is accepted once: a replay gets the first answer, or 409 while there is none.",
    "requestBody": body(
        ref(CallEventRequest),
        {"phone": {"site_id": "demo", "phone_number": "tel:+15550100", "fingerprint": "fp-1", "event_id": SID}},
    ),
    "responses": answers(
        {200: (CallAnswer, "Matched or unmatched"), 202: (CallAnswer, "Queued: accepted, not matched in time")},
        {
            **TRACKING_ERRORS,
            401: "Signature missing, malformed, stale or wrong (signed sites only)",
            409: "A signed call replayed (no event_id, same signature) before its first answer is known",
        },
    ),
}


CALL_V2_DOC: dict[str, Any] = {
    **CALL_DOC,
    "operationId": "callEventV2",
    "summary": "Bridge a phone / WhatsApp click (the path OpsMantik's tracker posts to)",
    "description": "Served exactly like `/api/call-event`. A sent `X-Ops-Site-Id` must equal the body's "
    "`site_id` (else 401), on either path.",
}

SCRIPT_DOC: dict[str, Any] = {
    "operationId": "trackerScript",
    "summary": "The tracker script",
    "description": 'Add it with one tag: `<script defer src="https://EDGE/t.js" data-site="SITE_ID"></script>`. '
    "Cached 5 minutes, with an ETag (304) and gzip when asked.",
    "responses": {
        "200": {"description": "The script", "content": {"application/javascript": {"schema": {"type": "string"}}}},
        "304": {"description": "Not modified (If-None-Match)"},
    },
}


def add_tracking_docs(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the tracking paths and their models are part of the schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
        schema.setdefault("paths", {}).update(
            {
                "/api/sync": {"post": SYNC_DOC},
                "/api/call-event": {"post": CALL_DOC},
                "/api/call-event/v2": {"post": CALL_V2_DOC},
                "/t.js": {"get": SCRIPT_DOC},
            }
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in DOC_MODELS:
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
