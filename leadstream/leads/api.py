"""The leads API on the edge, for a site's owner: ``Authorization: Bearer <site key>``.

| endpoint | answers |
|---|---|
| ``GET /api/leads?site_id=&since=&stage=&limit=&cursor=`` | the key's site's leads, newest first, a page at a time |
| ``GET /api/leads/{id}`` | one lead of the key's site |
| ``POST /api/leads/{id}/stage`` | ``{id, stage, version}`` once the stage processor accepted the change |

Errors are ``{"error", "code"}``: 400 a bad query or body, 422 a body that is JSON but not a stage
change (an unknown stage), 401 no valid key, 404 a lead (or site) the key's site does not own
(another site's ids are not revealed), 409 a stale ``version``, 503 when the worker or Redis does
not answer. The phone number is shown in full here only: this is the owner's own view.
The owner's dashboard calls with its session cookie (plus its CSRF token on changes) instead of a key.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Request
from pydantic import ValidationError
from uuid_utils.compat import uuid7

from leadstream.dashboard.auth import dashboard_site
from leadstream.edge.http import JSONResponse
from leadstream.edge.site_auth import presented_key, site_of
from leadstream.kafka.broker import BrokerUnavailable
from leadstream.leads.worker_reads import WorkerUnavailable, ask_worker
from leadstream.schemas.conversions import STAGES
from leadstream.schemas.leads import StageAnswer, StageChange, StageCommand
from leadstream.schemas.site_keys import key_prefix

REPLY_KIND = "lead-stage"
VISIBLE_WAIT_S = 3.0  # after an accepted change, how long a reply waits for the warehouse to show it
router = APIRouter(tags=["leads"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad query or body: `{error, code}`"},
    401: {"description": "no valid site key: `{error, code: UNAUTHORIZED}`"},
    404: {"description": "no such lead for this key's site"},
    503: {"description": "the worker or Redis did not answer; retry"},
}


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "2"} if status == 503 else None
    return JSONResponse({"error": message, "code": code, **extra}, status_code=status, headers=headers)


def unauthorized() -> JSONResponse:
    return error(401, "UNAUTHORIZED", "send Authorization: Bearer <site key> (`leadstream sites key SITE`)")


def not_found() -> JSONResponse:
    return error(404, "NOT_FOUND", "no such lead")


def _parse_since(since: str | None) -> datetime | None:
    if since is None or not since.strip():
        return None
    at = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@router.get("/api/leads", responses=ERRORS, summary="The site's leads, newest first")
async def list_leads(
    request: Request,
    site_id: Annotated[str | None, Query(description="the key's site (optional)")] = None,
    since: Annotated[str | None, Query(description="ISO 8601: leads created from then")] = None,
    stage: Annotated[str | None, Query(description="only leads at this stage")] = None,
    limit: Annotated[str | None, Query(description="1-500, default 50")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JSONResponse:
    edge = request.app.state.edge
    site = site_of(edge, request.headers) or await dashboard_site(request, share_ok=False)
    if site is None:
        return unauthorized()
    if site_id is not None and site_id != site:
        return error(404, "NOT_FOUND", "no such site for this key")
    try:
        when = _parse_since(since)
    except ValueError:
        return error(400, "INVALID_SINCE", "since must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z")
    if stage is not None and stage not in STAGES:
        return error(400, "INVALID_STAGE", f"stage must be one of {', '.join(STAGES)}")
    size = 50
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= 500:
            return error(400, "INVALID_LIMIT", "limit must be a whole number from 1 to 500")
        size = int(limit)
    if cursor is not None and len(cursor) > 512:
        return error(400, "INVALID_CURSOR", "cursor is not one this API gave")
    payload = {"site_id": site, "since": when, "stage": stage, "limit": size, "cursor": cursor or None}
    try:
        status, answer = await ask_worker(edge.settings, "/leadstream/leads/list", payload)
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"leads cannot be read now: {exc}")
    if status != 200:
        return error(400, answer.get("code", "INVALID_QUERY"), str(answer.get("error", "bad query")))
    return JSONResponse({"site_id": site, **answer})


async def _lead(request: Request, site: str, lead_id: uuid.UUID) -> dict[str, Any] | None:
    status, answer = await ask_worker(
        request.app.state.edge.settings, "/leadstream/leads/get", {"site_id": site, "lead_id": lead_id}
    )
    return answer.get("lead") if status == 200 else None


def _lead_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@router.get("/api/leads/{lead_id}", responses=ERRORS, summary="One lead of the key's site")
async def get_lead(request: Request, lead_id: Annotated[str, Path(description="the lead's id")]) -> JSONResponse:
    site = site_of(request.app.state.edge, request.headers) or await dashboard_site(request, share_ok=False)
    if site is None:
        return unauthorized()
    parsed = _lead_id(lead_id)
    if parsed is None:
        return not_found()
    try:
        lead = await _lead(request, site, parsed)
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"leads cannot be read now: {exc}")
    return JSONResponse(lead) if lead is not None else not_found()


STAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": StageChange.model_json_schema()}},
    }
}


@router.post(
    "/api/leads/{lead_id}/stage",
    responses={**ERRORS, 409: {"description": "stale version: `{error, code: STALE_VERSION, version}`"}, 422: {}},
    summary="Set a lead's stage",
    openapi_extra=STAGE_BODY,
)
async def set_stage(request: Request, lead_id: Annotated[str, Path(description="the lead's id")]) -> JSONResponse:
    edge = request.app.state.edge
    site = site_of(edge, request.headers) or await dashboard_site(request, share_ok=False)
    if site is None:
        return unauthorized()
    raw = await request.body()
    if len(raw) > 16 * 1024:
        return error(413, "TOO_LARGE", "the body is larger than 16 KB")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error(400, "INVALID_JSON", 'the body must be JSON: {"stage": ...}')
    try:
        change = StageChange.model_validate(body)
    except ValidationError as exc:
        problems = [{"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in exc.errors()]
        return error(422, "INVALID_STAGE_CHANGE", "not a stage change", problems=problems)
    parsed = _lead_id(lead_id)
    if parsed is None:
        return not_found()
    try:
        if await _lead(request, site, parsed) is None:
            return not_found()
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"leads cannot be read now: {exc}")
    answer = await _command(edge, site, parsed, change, request)
    if answer is None:
        return error(503, "UNAVAILABLE", "the stage processor did not answer in time; send the change again")
    if answer.status == "not_found":
        return not_found()
    if answer.status == "stale":
        message = f"the lead is at version {answer.version}: read it again, then send that version"
        return error(409, "STALE_VERSION", message, version=answer.version, stage=answer.stage)
    await _until_visible(request, site, parsed, answer.version)
    return JSONResponse({"id": str(answer.id), "stage": answer.stage, "version": answer.version})


async def _command(
    edge: Any, site: str, lead_id: uuid.UUID, change: StageChange, request: Request
) -> StageAnswer | None:
    """Publish the change for the stage processor and wait for its answer (None: none in time)."""
    replies = edge.replies
    if not replies.available:
        return None
    prefix = key_prefix(presented_key(request.headers))
    who = f"key:{prefix}" if prefix else "dashboard"
    command = StageCommand(
        command_id=uuid7(), lead_id=lead_id, site_id=site, change=change, who=who, at=datetime.now(UTC)
    )
    waiting = replies.expect(REPLY_KIND, str(command.command_id))
    try:
        key = str(lead_id).encode()
        await edge.publisher.publish(
            edge.settings.topics.lead_stage_commands, [(key, command.model_dump_json().encode())]
        )
    except BrokerUnavailable:
        replies.forget(REPLY_KIND, str(command.command_id), waiting)
        return None
    answer = await replies.wait(REPLY_KIND, str(command.command_id), waiting, edge.settings.lead_stage_timeout_s)
    return StageAnswer.model_validate(answer) if answer is not None else None


async def _until_visible(request: Request, site: str, lead_id: uuid.UUID, version: int) -> None:
    """Read-your-writes: wait (a little) until the warehouse shows the change, so a read right
    after the answer, or a Google Ads export, sees it."""
    deadline = asyncio.get_running_loop().time() + VISIBLE_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        try:
            lead = await _lead(request, site, lead_id)
        except WorkerUnavailable:
            return
        if lead is not None and lead["version"] >= version:
            return
        await asyncio.sleep(0.1)


def install(api: FastAPI) -> None:
    api.include_router(router)
