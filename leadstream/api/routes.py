"""``/api/os/*``: authenticate, guard, publish the run to its first stage, await the answer.

Every response carries the envelope. When the stage chain does not answer in time, or the
endpoint's circuit breaker is open, the answer is the contract's fallback body.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from leadstream import __version__
from leadstream.api.auth import OSAuthError, tenant_of
from leadstream.api.envelope import OS_VERSION, Call
from leadstream.api.guarding import guard_body
from leadstream.api.openapi import ERROR_RESPONSES, documented, validation_message
from leadstream.api.ports import OSEdge
from leadstream.kafka.broker import BrokerUnavailable
from leadstream.observability.logs import RUN_ID
from leadstream.observability.metrics import BREAKER_OPEN, OS_FALLBACKS
from leadstream.salesos.breaker import severity
from leadstream.salesos.context import ContextNotAvailable, resolve_sales_context
from leadstream.salesos.discovery_v2 import DISCOVERY_V2_STAGES
from leadstream.salesos.fallbacks import fallback_data
from leadstream.salesos.outreach import (
    OutreachOptionError,
    normalise_channel,
    normalise_personalization,
    normalise_tone,
)
from leadstream.salesos.stages import MODES
from leadstream.schemas.os import OSRun, SignalsLoad, company_record, signal_record
from leadstream.schemas.os_requests import REQUEST_MODELS
from leadstream.scoring.os_profiles import PROFILES, UnknownProfile, resolve_profile
from leadstream.scoring.os_scores import UnknownScoreType, requested_scores

router = APIRouter(prefix="/api/os", tags=["sales OS"])
REPLY_KIND = "os"


class Refused(Exception):
    def __init__(self, status: int, error: str, error_code: str) -> None:
        self.status, self.error, self.error_code = status, error, error_code


@router.get("/health")
async def health(request: Request) -> Response:
    edge: OSEdge = request.app.state.edge
    call = Call.start("/api/os/health", request.headers)
    return call.ok(
        {
            "status": "healthy" if edge.ready else "degraded",
            "kafka": edge.publisher.ready,
            "redis": edge.replies.available,
            "breakers": edge.breakers.states(),  # the worst over tenants; tenants are not named here
        }
    )


@router.get("/version")
async def version(request: Request) -> Response:
    return Call.start("/api/os/version", request.headers).ok({"os_version": OS_VERSION, "build": __version__})


def _authorize(request: Request) -> str:
    """The tenant of a request without a body: ``x-tenant-id``."""
    try:
        return request.app.state.edge.os_auth.authorize(request.headers)
    except OSAuthError as exc:
        raise Refused(exc.status, exc.error, exc.error_code) from None


def _authenticate(request: Request) -> frozenset[str]:
    try:
        return request.app.state.edge.os_auth.authenticate(request.headers)  # type: ignore[no-any-return]
    except OSAuthError as exc:
        raise Refused(exc.status, exc.error, exc.error_code) from None


def _tenant(allowed: frozenset[str], request: Request, body: dict[str, Any]) -> str:
    """``x-tenant-id``, else the body's ``tenant_id`` (SPEC §7: the SaaS's pipeline route sends only that)."""
    body_tenant = body.get("tenant_id")
    if body_tenant is not None and not isinstance(body_tenant, str):
        raise Refused(400, "Invalid tenant_id: must be a string", "OS_INVALID_REQUEST")
    try:
        return tenant_of(allowed, request.headers.get("x-tenant-id"), body_tenant)
    except OSAuthError as exc:
        raise Refused(exc.status, exc.error, exc.error_code) from None


def _validated(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body checked against its request model, with values in their documented types (unknown keys
    kept or dropped as the model says)."""
    try:
        model = REQUEST_MODELS[endpoint].model_validate(body)
    except ValidationError as exc:
        raise Refused(400, validation_message(exc), "OS_INVALID_REQUEST") from None
    return model.model_dump(mode="json", exclude_unset=True)


def admit(endpoint: str, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The body as the stages get it (validated, in its documented types) and the stages the run goes
    through, or :class:`Refused`. Pure: the fuzz tests run what it admits through the stages."""
    body = _validated(endpoint, body)
    return body, _check_endpoint(endpoint, body)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > request.app.state.edge.settings.max_body_bytes:
        raise Refused(413, "Body too large", "OS_PAYLOAD_TOO_LARGE")
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise Refused(400, "Body is not valid JSON", "OS_INVALID_REQUEST") from None
    if not isinstance(body, dict):
        raise Refused(400, "Body must be a JSON object", "OS_INVALID_REQUEST")
    return body


def _check_profile(options: dict[str, Any]) -> None:
    try:  # the scoring module's own rule, so the edge never refuses what scoring accepts (or the reverse)
        resolve_profile(options.get("profile"))
    except UnknownProfile as exc:
        raise Refused(
            400, f"Unknown profile {str(exc.profile)[:64]!r}; known: {', '.join(PROFILES)}", "OS_INVALID_PROFILE"
        ) from None


def _check_outreach_options(options: dict[str, Any]) -> None:
    """The outreach stage's own rules, so a value it would refuse is a 400 here and never its failure."""
    try:
        normalise_channel(options.get("channel"))
        normalise_tone(options.get("tone"))
        normalise_personalization(options.get("personalization_level"))
    except OutreachOptionError as exc:
        raise Refused(400, str(exc), "OS_INVALID_REQUEST") from None


def _check_endpoint(endpoint: str, body: dict[str, Any]) -> list[str]:
    """Endpoint-specific validation; returns the stages the run goes through."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise Refused(400, "options must be an object", "OS_INVALID_REQUEST")
    _check_profile(options)
    if endpoint == "score":
        if not body.get("entity_id") and not body.get("entity_data"):
            raise Refused(400, "entity_id or entity_data is required", "OS_INVALID_REQUEST")
        try:
            requested_scores(body.get("score_types"))
        except UnknownScoreType as exc:
            raise Refused(400, str(exc), "OS_INVALID_REQUEST") from None
        return ["score"]
    if endpoint == "outreach":
        leads = body.get("leads")
        if not isinstance(leads, list) or not leads or not all(isinstance(x, dict) for x in leads):
            raise Refused(400, "leads must be a non-empty array of objects", "OS_INVALID_REQUEST")
        _check_outreach_options(options)
        return ["outreach"]
    if endpoint == "discovery":
        return ["discovery"]
    if endpoint == "discovery-v2":
        return list(DISCOVERY_V2_STAGES)
    config = body.get("config") or {}
    for part in ("scoring", "outreach"):  # the pipeline's own stage options
        _check_profile(config.get(part) or {})
    _check_outreach_options(config.get("outreach") or {})
    mode = config.get("mode") or body.get("mode") or "full_pipeline"
    if mode not in MODES:
        raise Refused(400, f"Unknown mode {str(mode)[:64]!r}; known: {', '.join(MODES)}", "OS_INVALID_REQUEST")
    return list(MODES[mode])


async def _run(request: Request, endpoint: str) -> Response:
    edge: OSEdge = request.app.state.edge
    call = Call.start(f"/api/os/{endpoint}", request.headers)
    try:
        allowed = _authenticate(request)
        body = await _json_body(request)
        tenant = _tenant(allowed, request, body)
        await _guard(body)
        try:
            context = resolve_sales_context(body, {k.lower(): v for k, v in request.headers.items()})
        except ContextNotAvailable as exc:
            response = call.fail(400, "Coming Soon", exc.error_code, message=exc.message)
            return response
        body, stages = admit(endpoint, body)
    except Refused as refused:
        return call.fail(refused.status, refused.error, refused.error_code)

    run_id = f"run-{uuid.uuid4().hex}"
    RUN_ID.set(run_id)
    key = endpoint.replace("-", "_")  # breakers and fallbacks: discovery_v2
    breaker = edge.breakers.get(key, tenant)  # one tenant's failures open its own breaker only
    if not breaker.allow():
        OS_FALLBACKS.labels(endpoint, "breaker_open").inc()
        return call.ok(fallback_data(key, {**body, "pipeline_id": run_id}), fallback=True)
    run = OSRun(
        run_id=run_id,
        tenant_id=tenant,
        enterprise_id=body.get("enterprise_id"),
        user_id=request.headers.get("x-user-id"),
        request_id=call.request_id,
        client=request.headers.get("x-client"),
        endpoint=call.endpoint,
        mode=(body.get("config") or {}).get("mode") or body.get("mode") if endpoint == "pipeline" else None,
        stages=stages,
        planned=stages,
        request=body,
        context={**context.as_dict(), "profile": context.profile},
        started_at=datetime.now(UTC),
    )
    try:
        answer = await _through_the_chain(edge, run, stages[0], endpoint)
    except BaseException:
        breaker.release()  # cancelled or a bug: no verdict on the chain's health
        raise
    if answer is None:  # no reply in time, or Kafka refused the run
        breaker.record_failure()
        breaker_state(edge, key, tenant)
        OS_FALLBACKS.labels(endpoint, "no_reply").inc()
        return call.ok(fallback_data(key, {**body, "pipeline_id": run_id}), fallback=True)
    if answer["status"] >= 500:  # a stage failed on this run: the chain answered, but not well
        breaker.record_failure()
    else:
        breaker.record_success()
    breaker_state(edge, key, tenant)
    if answer["status"] != 200:
        return _failed(call, answer)
    return call.ok(answer["data"])


def _failed(call: Call, answer: dict[str, Any]) -> Response:
    """A refusal the chain answered, in the contract's shape; a stage's own failure is told without its
    exception's text (that is for the worker's log)."""
    if answer["status"] >= 500:
        return call.fail(500, "The OS could not complete this request", "OS_STAGE_FAILED")
    return call.fail(answer["status"], answer["error"], answer["error_code"])


async def _guard(body: dict[str, Any]) -> None:
    if (await guard_body(body)).blocked:
        raise Refused(400, "Invalid input detected", "INPUT_VALIDATION_FAILED")


def breaker_state(edge: OSEdge, key: str, tenant: str) -> None:
    """After an outcome: the breaker gauge of ``key`` is the worst over its tenants."""
    BREAKER_OPEN.labels(key).set(severity(edge.breakers.observe(key, tenant)))


async def _through_the_chain(edge: OSEdge, run: OSRun, first: str, endpoint: str) -> dict[str, Any] | None:
    """Publish the run to its first stage and wait for the chain's answer (None: none in time)."""
    replies = edge.replies
    waiting = replies.expect(REPLY_KIND, run.run_id) if replies.available else None
    try:
        payload = run.model_dump_json().encode()
        await edge.publisher.publish(edge.settings.topics.os_stage(first), [(run.run_id.encode(), payload)])
    except BrokerUnavailable:
        if waiting is not None:
            replies.forget(REPLY_KIND, run.run_id, waiting)
        return None
    if waiting is None:  # no Redis: the run goes on, but nobody can hear its answer
        return None
    timeout = edge.settings.os_pipeline_timeout_s if endpoint == "pipeline" else edge.settings.os_reply_timeout_s
    return await replies.wait(REPLY_KIND, run.run_id, waiting, timeout)  # type: ignore[no-any-return]


@router.post("/discovery", **documented("discovery"))
async def discovery(request: Request) -> Response:
    return await _run(request, "discovery")


@router.post("/score", **documented("score"))
async def score(request: Request) -> Response:
    return await _run(request, "score")


@router.post("/outreach", **documented("outreach"))
async def outreach(request: Request) -> Response:
    return await _run(request, "outreach")


@router.post("/pipeline", **documented("pipeline"))
async def pipeline(request: Request) -> Response:
    return await _run(request, "pipeline")


@router.post("/discovery-v2", **documented("discovery-v2"))
async def discovery_v2(request: Request) -> Response:
    return await _run(request, "discovery-v2")


@router.get("/pipeline/{pipeline_id}", responses=ERROR_RESPONSES)
async def pipeline_run(pipeline_id: str, request: Request) -> Response:
    edge: OSEdge = request.app.state.edge
    call = Call.start("/api/os/pipeline/{id}", request.headers)
    try:
        tenant = _authorize(request)
    except Refused as refused:
        return call.fail(refused.status, refused.error, refused.error_code)
    stored = await edge.replies.stored(REPLY_KIND, pipeline_id[:128])
    # Another tenant's run is reported exactly like a missing one.
    if stored is None or stored.get("tenant_id") != tenant or not str(stored.get("endpoint", "")).endswith("pipeline"):
        return call.fail(404, "No pipeline run with this id", "OS_PIPELINE_NOT_FOUND")
    if stored["status"] != 200:
        return _failed(call, stored)
    return call.ok(stored["data"])


@router.post("/signals", **documented("signals"))
async def load_signals(request: Request) -> Response:
    """A tenant's companies and signals for the ``custom`` discovery source."""
    edge: OSEdge = request.app.state.edge
    call = Call.start("/api/os/signals", request.headers)
    try:
        allowed = _authenticate(request)
        body = await _json_body(request)
        tenant = _tenant(allowed, request, body)
        await _guard(body)
        try:
            load = SignalsLoad.model_validate(body)
        except ValidationError as exc:
            raise Refused(400, validation_message(exc), "OS_INVALID_REQUEST") from None
    except Refused as refused:
        return call.fail(refused.status, refused.error, refused.error_code)
    topics = edge.settings.topics
    companies = [company_record(tenant, c) for c in load.companies]
    signals = [signal_record(tenant, s) for s in load.signals]
    try:
        if companies:
            await edge.publisher.publish(topics.os_companies, companies)
        if signals:
            await edge.publisher.publish(topics.os_signals, signals)
    except BrokerUnavailable as exc:
        return call.fail(503, f"Not accepted, retry later: {exc}", "OS_UNAVAILABLE")
    return call.ok({"companies": len(companies), "signals": len(signals)}, status=202)
