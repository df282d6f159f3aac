"""The SaaS's other OS calls: ``/rank``, ``/enrich``, ``/intelligence/session|feedback|deal-evaluation`` and
``GET /__diag``, authenticated and guarded like the contract's calls (``routes.py``, whose helpers they use).

* ``/rank`` is answered here: pure computation over the scores it is given (``scoring/os_rank.py``).
* The others need the warehouse, so they run on the chain's ``intelligence`` stage (``streams/os_more.py``)
  with a breaker each and, when the chain does not answer, a fallback body in the SaaS's shape.
* Decision Mode, feedback and deal evaluation answer at the top level of the body, where the SaaS reads
  them (``data`` holds the same).
* Deal evaluation is not behind the sales-context gate: the SaaS sends ``vertical: "saas-sales"`` there.
* A feedback's session is looked up here in the stored answers (a day in Redis), else by the stage in
  ``os_runs``; another tenant's session is answered exactly like a missing one: 404.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.responses import Response

from leadstream import __version__
from leadstream.api.envelope import OS_VERSION, Call
from leadstream.api.openapi import ERROR_RESPONSES, validation_message
from leadstream.api.ports import OSEdge
from leadstream.api.routes import (
    REPLY_KIND,
    Refused,
    _authenticate,
    _failed,
    _guard,
    _json_body,
    _tenant,
    _through_the_chain,
    breaker_state,
)
from leadstream.edge.http import JSONResponse
from leadstream.kafka.broker import BrokerUnavailable
from leadstream.observability.logs import RUN_ID
from leadstream.observability.metrics import OS_FALLBACKS
from leadstream.providers import CONNECTORS
from leadstream.salesos.breaker import CircuitBreaker
from leadstream.salesos.context import ContextNotAvailable, SalesContext, resolve_sales_context
from leadstream.salesos.fallbacks import fallback_data
from leadstream.salesos.more_calls import (
    DEAL_EVALUATION,
    DIAG,
    ENRICH,
    FEEDBACK,
    INTELLIGENCE_STAGE,
    MORE_STAGES,
    SESSION,
)
from leadstream.salesos.preferences import UnknownAction, normalise_action
from leadstream.salesos.stages import STAGES
from leadstream.schemas.os import OSRun
from leadstream.schemas.os_more import MORE_REQUEST_MODELS, MORE_RESPONSE_MODELS, RankOptions, RankRequest
from leadstream.scoring.os_profiles import PROFILES, UnknownProfile
from leadstream.scoring.os_rank import rank_entities

router = APIRouter(prefix="/api/os", tags=["sales OS"])
DIAG_WAIT_S = 3.0  # at most this long for the worker's word on the warehouse
# endpoint -> (its key for breakers, fallbacks and metrics; answered at the top level of the body)
CHAINED = {
    ENRICH: ("enrich", False),
    SESSION: ("intelligence_session", True),
    FEEDBACK: ("intelligence_feedback", True),
    DEAL_EVALUATION: ("deal_evaluation", True),
}
NOT_FOUND_DOC = {"model": ERROR_RESPONSES[404]["model"], "description": "SESSION_NOT_FOUND (feedback)"}


def _documented(endpoint: str) -> dict[str, Any]:
    model = MORE_REQUEST_MODELS[endpoint]
    responses = {**ERROR_RESPONSES, 404: NOT_FOUND_DOC}
    responses[200] = {"model": MORE_RESPONSE_MODELS[endpoint], "description": "The answer, or the fallback body"}
    return {
        "openapi_extra": {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        },
        "responses": responses,
    }


def install(app: FastAPI) -> None:
    """Serve these routes on ``app`` and document their request models in its ``/openapi.json``."""
    app.include_router(router)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if RankRequest.__name__ not in components:
            models = [(m, "validation") for m in MORE_REQUEST_MODELS.values()]
            _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
            components.update(top.get("$defs", {}))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- shared steps ---------------------------------------------------------------------------------


def _validated(endpoint: str, body: dict[str, Any]) -> BaseModel:
    try:
        return MORE_REQUEST_MODELS[endpoint].model_validate(body)
    except ValidationError as exc:
        raise Refused(400, validation_message(exc), "OS_INVALID_REQUEST") from None


def _context(request: Request, body: dict[str, Any]) -> SalesContext:
    return resolve_sales_context(body, {k.lower(): v for k, v in request.headers.items()})


def _top_level(call: Call, data: dict[str, Any], fallback: bool = False) -> JSONResponse:
    """The SaaS reads these answers' fields at the top level; ``data`` carries them too, as in every answer."""
    body: dict[str, Any] = {"success": True, **data, "data": data, "meta": call.meta()}
    if fallback:
        body["timestamp"] = body["meta"]["timestamp"]
    return JSONResponse(body, headers={"x-request-id": call.request_id})


def _breaker(edge: OSEdge, key: str, tenant: str) -> CircuitBreaker:
    return edge.breakers.get(key, tenant)


def _breaker_states(edge: OSEdge) -> dict[str, Any]:
    return dict(edge.breakers.states())


async def _chain(
    request: Request,
    call: Call,
    body: dict[str, Any],
    tenant: str,
    context: SalesContext,
    *,
    run_id: str | None = None,
    user: str | None = None,
    known: dict[str, Any] | None = None,
) -> Response:
    """Publish the call to the ``intelligence`` stage and answer with what it says, or the fallback."""
    edge: OSEdge = request.app.state.edge
    key, top_level = CHAINED[call.endpoint]
    run_id = run_id or f"run-{uuid.uuid4().hex}"
    RUN_ID.set(run_id)
    breaker = _breaker(edge, key, tenant)

    def fallback(reason: str) -> Response:
        OS_FALLBACKS.labels(key, reason).inc()
        data = fallback_data(key, body)
        return _top_level(call, data, fallback=True) if top_level else call.ok(data, fallback=True)

    if not breaker.allow():
        return fallback("breaker_open")
    run = OSRun(
        run_id=run_id,
        tenant_id=tenant,
        enterprise_id=body.get("enterprise_id") if isinstance(body.get("enterprise_id"), str) else None,
        user_id=user or request.headers.get("x-user-id"),
        request_id=call.request_id,
        client=request.headers.get("x-client"),
        endpoint=call.endpoint,
        stages=[INTELLIGENCE_STAGE],
        planned=[INTELLIGENCE_STAGE],
        request=body,
        context={**context.as_dict(), "profile": context.profile},
        results=known or {},
        started_at=datetime.now(UTC),
    )
    try:
        answer = await _through_the_chain(edge, run, INTELLIGENCE_STAGE, key)
    except BaseException:
        breaker.release()  # cancelled or a bug: no verdict on the chain's health
        raise
    if answer is None:
        breaker.record_failure()
        breaker_state(edge, key, tenant)
        return fallback("no_reply")
    if answer["status"] >= 500:  # the stage failed on this run: the chain answered, but not well
        breaker.record_failure()
    else:
        breaker.record_success()
    breaker_state(edge, key, tenant)
    if answer["status"] != 200:
        return _failed(call, answer)
    return _top_level(call, answer["data"]) if top_level else call.ok(answer["data"])


async def _accepted(request: Request, endpoint: str, *, gated: bool = True) -> tuple[BaseModel, str, SalesContext]:
    """Authenticated, parsed, tenant known, guarded, in an active sales context (when ``gated``), valid:
    the body's model, the tenant and the context."""
    allowed = _authenticate(request)
    body = await _json_body(request)
    tenant = _tenant(allowed, request, body)
    await _guard(body)
    context = _context(request, body) if gated else resolve_sales_context({}, {})
    return _validated(endpoint, body), tenant, context


def _dumped(model: BaseModel) -> dict[str, Any]:
    """The body as the run carries it: the fields sent, in their documented types (unknown keys kept)."""
    return model.model_dump(mode="json", exclude_unset=True)


def _refused(call: Call, refusal: Refused | ContextNotAvailable) -> JSONResponse:
    if isinstance(refusal, ContextNotAvailable):
        return call.fail(400, "Coming Soon", refusal.error_code, message=refusal.message)
    return call.fail(refusal.status, refusal.error, refusal.error_code)


# --- the routes -----------------------------------------------------------------------------------


@router.post("/rank", **_documented("rank"))
async def rank(request: Request) -> Response:
    call = Call.start("/api/os/rank", request.headers)
    try:
        model, _, _ = await _accepted(request, "rank")
        assert isinstance(model, RankRequest)
        options = model.options or RankOptions()
        weights = options.weights.model_dump(exclude_none=True) if options.weights is not None else None
        entities = [(e.id, e.scores.model_dump()) for e in model.entities]
        data = rank_entities(entities, options.profile, weights, options.limit, options.explain)
    except (Refused, ContextNotAvailable) as refusal:
        return _refused(call, refusal)
    except UnknownProfile as exc:
        error = f"Unknown profile {str(exc.profile)[:64]!r}; known: {', '.join(PROFILES)}"
        return call.fail(400, error, "OS_INVALID_PROFILE")
    return call.ok(data)


@router.post("/enrich", **_documented("enrich"))
async def enrich(request: Request) -> Response:
    call = Call.start(ENRICH, request.headers)
    try:
        model, tenant, context = await _accepted(request, "enrich")
        body = _dumped(model)
        if not body.get("entity_ids") and not body.get("entity_id"):
            raise Refused(400, "Invalid entity_ids: a domain or company id is required", "OS_INVALID_REQUEST")
    except (Refused, ContextNotAvailable) as refusal:
        return _refused(call, refusal)
    return await _chain(request, call, body, tenant, context)


@router.post("/intelligence/session", **_documented("intelligence/session"))
async def intelligence_session(request: Request) -> Response:
    call = Call.start(SESSION, request.headers)
    try:
        model, tenant, context = await _accepted(request, "intelligence/session")
        body = _dumped(model)
    except (Refused, ContextNotAvailable) as refusal:
        return _refused(call, refusal)
    user = body.get("user_id") or request.headers.get("x-user-id") or tenant
    return await _chain(request, call, body, tenant, context, run_id=f"sess_{uuid.uuid4().hex}", user=user)


@router.post("/intelligence/feedback", **_documented("intelligence/feedback"))
async def intelligence_feedback(request: Request) -> Response:
    call = Call.start(FEEDBACK, request.headers)
    edge: OSEdge = request.app.state.edge
    try:
        model, tenant, context = await _accepted(request, "intelligence/feedback")
        body = _dumped(model)
        body["action"] = normalise_action(body["action"])
    except UnknownAction as exc:
        return call.fail(400, str(exc), "OS_INVALID_REQUEST")
    except (Refused, ContextNotAvailable) as refusal:
        return _refused(call, refusal)
    stored = await edge.replies.stored(REPLY_KIND, body["session_id"])
    known = None
    if stored is not None:  # answered within the day; older sessions are looked up in os_runs by the stage
        if stored.get("tenant_id") != tenant or stored.get("endpoint") != SESSION or stored.get("status") != 200:
            return call.fail(404, "Session not found", "SESSION_NOT_FOUND")
        session = stored.get("data") or {}
        known = {"session": {"user_id": session.get("user_id"), "shortlist": session.get("shortlist") or []}}
    return await _chain(request, call, body, tenant, context, known=known)


@router.post("/intelligence/deal-evaluation", **_documented("intelligence/deal-evaluation"))
async def deal_evaluation(request: Request) -> Response:
    call = Call.start(DEAL_EVALUATION, request.headers)
    try:  # not gated: the SaaS names its own vertical ("saas-sales") for this call
        model, tenant, context = await _accepted(request, "intelligence/deal-evaluation", gated=False)
        body = _dumped(model)
    except (Refused, ContextNotAvailable) as refusal:
        return _refused(call, refusal)
    user = body.get("user_id") or request.headers.get("x-user-id")
    return await _chain(request, call, body, tenant, context, run_id=f"deal_{uuid.uuid4().hex}", user=user)


@router.get("/__diag", responses={**ERROR_RESPONSES, 200: {"model": MORE_RESPONSE_MODELS["__diag"]}})
async def diag(request: Request) -> Response:
    """The service's own view of itself, for a token holder: version, stages and breakers, configured
    providers (names only), and whether Kafka, Redis and (through the worker) the warehouse answer."""
    edge: OSEdge = request.app.state.edge
    call = Call.start(DIAG, request.headers)
    try:
        _authenticate(request)
    except Refused as refused:
        return call.fail(refused.status, refused.error, refused.error_code)
    settings = edge.settings
    providers = [c.name for c in CONNECTORS.values() if c.configured(settings)]
    if settings.llm_base_url.strip():
        providers.append("llm")
    data = {
        "version": __version__,
        "os_version": OS_VERSION,
        "stages": [*STAGES, *MORE_STAGES],
        "breakers": _breaker_states(edge),
        "providers": providers,
        "kafka": bool(edge.publisher.ready),
        "redis": bool(edge.replies.available),
        "warehouse": await _warehouse_answers(edge, request, call),
    }
    return call.ok(data)


async def _warehouse_answers(edge: OSEdge, request: Request, call: Call) -> bool | None:
    """Whether the worker could read the warehouse; None when it did not say in time."""
    run = OSRun(
        run_id=f"diag-{uuid.uuid4().hex}",
        tenant_id="system",  # no tenant's data is read; an unchecked x-tenant-id must not label rows
        request_id=call.request_id,
        client=request.headers.get("x-client"),
        endpoint=DIAG,
        stages=[INTELLIGENCE_STAGE],
        planned=[INTELLIGENCE_STAGE],
        request={},
        started_at=datetime.now(UTC),
    )
    replies = edge.replies
    if not replies.available:
        return None
    waiting = replies.expect(REPLY_KIND, run.run_id)
    try:
        topic = edge.settings.topics.os_stage(INTELLIGENCE_STAGE)
        await edge.publisher.publish(topic, [(run.run_id.encode(), run.model_dump_json().encode())])
    except BrokerUnavailable:
        replies.forget(REPLY_KIND, run.run_id, waiting)
        return None
    answer = await replies.wait(REPLY_KIND, run.run_id, waiting, min(DIAG_WAIT_S, edge.settings.os_reply_timeout_s))
    if not isinstance(answer, dict) or answer.get("status") != 200:
        return None
    return bool((answer.get("data") or {}).get("warehouse"))


__all__ = ["install", "router"]
