"""OpsMantik's Google Ads Script contract, on the edge, so the Script works unchanged against
leadstream (base URL, site id and key changed only).

| endpoint | caller |
|---|---|
| ``POST /api/oci/v2/verify`` | the Script: ``x-api-key: <site key>``, ``{"siteId"}`` -> a 5-minute session token |
| ``GET /api/oci/google-ads-export`` | the Script: ``Bearer <token>`` (or the key): a page of conversions; sync claims |
| ``POST /api/oci/ack``, ``/ack-failed`` | the Script: ``Bearer <token>``, optionally ``x-oci-signature`` |
| ``GET /api/oci/export.csv?siteId=`` | a site owner: the key (``x-api-key`` or ``Bearer``): the import CSV |

Errors are ``{"error", "code"}``. The queue lives with the warehouse writer (``oci/queue.py``);
the edge authenticates, checks the request against the contract, and asks the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError
from starlette.responses import Response

from leadstream.edge.http import JSONResponse
from leadstream.edge.site_auth import presented_key
from leadstream.leads.worker_reads import WorkerUnavailable, ask_worker
from leadstream.oci.csv_file import import_file
from leadstream.oci.queue import new_run_id, payload_hash
from leadstream.oci.sessions import TOKEN_PREFIX, open_session, session_of

router = APIRouter(tags=["google ads offline conversions"])
EXPORT_KEYS = frozenset(
    {
        "siteId",
        "cursor",
        "limit",
        "markAsExported",
        "providerKey",
        "canaryMode",
        "canaryExpectedQueueId",
        "allowlistIds",
        "allowlist_ids",
    }
)
DRAIN_APPROVAL = "I_APPROVE_SCRIPT_DRAIN"
SiteId = Annotated[StrictStr, Field(min_length=1, max_length=128)]
RunId = Annotated[StrictStr, Field(max_length=200)]
QueueIds = Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=200)]], Field(max_length=5000)]


def error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"Retry-After": "5"} if status in (429, 503) else None
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


# Field names are the Script's own (camelCase).
class VerifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    siteId: SiteId


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    siteId: SiteId
    queueIds: QueueIds
    pendingConfirmation: StrictBool = False
    providerConfirmationMode: Annotated[StrictStr, Field(max_length=100)] | None = None
    exportRunId: RunId | None = None
    export_run_id: RunId | None = None


class AckFailedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    siteId: SiteId
    queueIds: QueueIds
    errorCode: Annotated[StrictStr, Field(max_length=200)] = ""
    errorMessage: Annotated[StrictStr, Field(max_length=5000)] = ""
    errorCategory: Literal["VALIDATION", "TRANSIENT", "AUTH", "RATE_LIMIT", "UNKNOWN"] = "UNKNOWN"
    exportRunId: RunId | None = None
    export_run_id: RunId | None = None


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def _looks_like_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _site_public(edge: Any, site_id: str) -> dict[str, Any] | None:
    site = edge.sites.get(site_id)
    return None if site is None else site.model_dump(mode="json", exclude={"signing_secret", "signing_secret_sealed"})


async def _read_json(request: Request, model: type[BaseModel]) -> tuple[bytes, BaseModel | JSONResponse]:
    raw = await request.body()
    if len(raw) > 1 << 20:
        return raw, error(413, "PAYLOAD_TOO_LARGE", "the body is larger than 1 MB")
    try:
        return raw, model.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        where = ""
        if isinstance(exc, ValidationError):
            where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        return raw, error(
            400, "INVALID_BODY", f"the body is not what this endpoint takes{': ' + where if where else ''}"
        )


async def _caller(request: Request) -> tuple[str, str] | None:
    """(site, key) of a live session token or a site key the request presents."""
    edge = request.app.state.edge
    given = presented_key(request.headers)
    if given.startswith(TOKEN_PREFIX):
        try:
            found = await session_of(edge.redis, edge.settings.topic_prefix, given)
        except Exception:
            return None
        if found is None or edge.sites.get(found[0]) is None:
            return None
        return found
    record = edge.site_keys.record_for(given) if given else None
    if record is None or edge.sites.get(record.site_id) is None:
        return None
    return record.site_id, given


@router.post("/api/oci/v2/verify", summary="A session token for the Script", openapi_extra=_body_doc(VerifyBody))
async def verify(request: Request) -> JSONResponse:
    edge = request.app.state.edge
    _, body = await _read_json(request, VerifyBody)
    if isinstance(body, JSONResponse):
        return body
    assert isinstance(body, VerifyBody)
    if _looks_like_uuid(body.siteId):
        return error(400, "INVALID_BODY", "siteId is the site's public id, not a UUID")
    key = request.headers.get("x-api-key", "").strip()
    record = edge.site_keys.record_for(key) if key else None
    if record is None or record.site_id != body.siteId or edge.sites.get(body.siteId) is None:
        return error(401, "INVALID_CREDENTIALS", "the key is not valid for this site")
    try:
        token, expires = await open_session(edge.redis, edge.settings.topic_prefix, body.siteId, key)
    except Exception:
        return error(503, "UNAVAILABLE", "sessions cannot be opened now; retry")
    return JSONResponse(
        {"session_token": token, "expires_at": expires.isoformat(), "site_id": body.siteId, "public_id": body.siteId}
    )


def _drain_blocked(request: Request, site_id: str, limit: int) -> str | None:
    h = request.headers
    if h.get("x-opsmantik-drain-approval", "") != DRAIN_APPROVAL:
        return f"x-opsmantik-drain-approval must be {DRAIN_APPROVAL}"
    if h.get("x-opsmantik-drain-site-id", "") != site_id:
        return "x-opsmantik-drain-site-id must be the site's id"
    size = h.get("x-opsmantik-drain-max-batch-size", "")
    if not size.isdigit() or int(size) < limit:
        return "x-opsmantik-drain-max-batch-size must be at least the limit"
    if h.get("x-opsmantik-drain-include-braids", "").lower() != "true":
        return "x-opsmantik-drain-include-braids must be true"
    return None


@router.get("/api/oci/google-ads-export", summary="A page of conversions (sync mode claims them)")
async def export(
    request: Request,
    siteId: Annotated[str | None, Query()] = None,
    markAsExported: Annotated[str | None, Query()] = None,
    providerKey: Annotated[str | None, Query()] = None,
    limit: Annotated[str | None, Query(description="1-1000, default 250")] = None,
    cursor: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    edge = request.app.state.edge
    keys = [k for k, _ in request.query_params.multi_items()]
    unknown = sorted(set(keys) - EXPORT_KEYS)
    if unknown:
        return error(400, "INVALID_QUERY", f"unknown query parameter(s): {', '.join(unknown)[:200]}")
    if len(keys) != len(set(keys)):
        return error(400, "INVALID_QUERY", "a query parameter is repeated")
    if not siteId:
        return error(400, "INVALID_QUERY", "siteId is required")
    if providerKey not in (None, "google_ads"):
        return error(400, "INVALID_QUERY", "providerKey must be google_ads")
    if markAsExported not in (None, "true", "false"):
        return error(400, "INVALID_QUERY", "markAsExported must be true or false")
    size = 250
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return error(400, "INVALID_QUERY", "limit must be a whole number from 1 to 1000")
        size = int(limit)
    if cursor is not None and len(cursor) > 1024:
        return error(400, "INVALID_CURSOR", "cursor is not one this server gave")
    caller = await _caller(request)
    if caller is None:
        return error(401, "AUTH_FAILED", "send a session token from /api/oci/v2/verify, or the site key")
    if caller[0] != siteId:
        return error(403, "FORBIDDEN", "this token is for another site")
    claim = markAsExported == "true"
    if claim and (blocked := _drain_blocked(request, siteId, size)):
        return error(409, "SCRIPT_DRAIN_BLOCKED", blocked)
    if not edge.limiter.hit("oci-export", siteId, edge.settings.oci_rate_per_min).allowed:
        return error(429, "RATE_LIMITED", "at most 120 export calls a minute per site; wait a minute")
    site = _site_public(edge, siteId)
    if site is None:
        return error(404, "NOT_FOUND", "no such site")
    run_id = new_run_id()
    payload = {"site": site, "limit": size, "cursor": cursor, "claim": claim, "run_id": run_id}
    try:
        status, answer = await ask_worker(edge.settings, "/leadstream/oci/export", payload)
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"the export cannot be read now: {exc}")
    if status != 200:
        return error(400, str(answer.get("code", "INVALID_QUERY")), str(answer.get("error", "bad request")))
    items = [{k: v for k, v in item.items() if k not in ("stage", "conversionTimeUtc")} for item in answer["items"]]
    next_cursor = answer.get("next_cursor")
    return JSONResponse(
        {
            "data": items,
            "items": items,
            "meta": {"hasNextPage": next_cursor is not None, "nextCursor": next_cursor},
            "next_cursor": next_cursor,
            "export_run_id": run_id,
            "siteId": siteId,
            "counts": answer.get("counts", {}),
            "warnings": [],
            "adjustments": [],
            "markAsExported": claim,
        }
    )


async def _signed_call(request: Request, model: type[BaseModel], path: str) -> JSONResponse:
    """Ack and ack-failed: the session (or key), the site, the signature, then the worker."""
    edge = request.app.state.edge
    caller = await _caller(request)
    if caller is None:
        return error(401, "AUTH_FAILED", "send a session token from /api/oci/v2/verify")
    site_id, key = caller
    raw, body = await _read_json(request, model)
    if isinstance(body, JSONResponse):
        return body
    given = request.headers.get("x-oci-signature")
    site = edge.sites.get(site_id)
    if given is not None:
        expected = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            return error(401, "AUTH_FAILED", "x-oci-signature does not match the body")
    elif site is not None and site.conversions.require_signature:
        return error(
            401, "AUTH_FAILED", "this site requires x-oci-signature (HMAC-SHA256 of the body, keyed by the key)"
        )
    if body.siteId != site_id:  # type: ignore[attr-defined]
        return error(403, "FORBIDDEN", "this token is for another site")
    values = body.model_dump()
    payload: dict[str, Any] = {
        "site_id": site_id,
        "ids": values["queueIds"],
        "payload_hash": payload_hash(path, raw),
    }
    if isinstance(body, AckBody):
        payload.update(
            pending_confirmation=body.pendingConfirmation, run_id=body.exportRunId or body.export_run_id or ""
        )
        endpoint = "/leadstream/oci/ack"
    else:
        payload.update(category=values["errorCategory"], code=values["errorCode"], message=values["errorMessage"])
        endpoint = "/leadstream/oci/ack-failed"
    try:
        status, answer = await ask_worker(edge.settings, endpoint, payload)
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"the queue cannot be changed now: {exc}")
    if status == 409:
        return error(409, "QUEUE_ACK_MISMATCH", str(answer.get("error", "unknown queueIds")))
    if status != 200:
        return error(400, "INVALID_BODY", str(answer.get("error", "bad request")))
    return JSONResponse({"ok": bool(answer.get("ok")), "updated": int(answer.get("updated", 0))})


@router.post("/api/oci/ack", summary="Conversions uploaded", openapi_extra=_body_doc(AckBody))
async def ack(request: Request) -> JSONResponse:
    return await _signed_call(request, AckBody, "/api/oci/ack")


@router.post("/api/oci/ack-failed", summary="Conversions that failed", openapi_extra=_body_doc(AckFailedBody))
async def ack_failed(request: Request) -> JSONResponse:
    return await _signed_call(request, AckFailedBody, "/api/oci/ack-failed")


@router.get(
    "/api/oci/export.csv",
    summary="Google Ads' offline-conversion import file (claims nothing)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_csv(
    request: Request,
    siteId: Annotated[str | None, Query()] = None,
    since: Annotated[str | None, Query(description="ISO 8601: conversions from then")] = None,
) -> Response:
    edge = request.app.state.edge
    caller = await _caller(request)
    if caller is None or presented_key(request.headers).startswith(TOKEN_PREFIX):
        return error(401, "AUTH_FAILED", "send the site key as x-api-key or Authorization: Bearer")
    if not siteId or caller[0] != siteId:
        return error(
            403 if siteId else 400, "FORBIDDEN" if siteId else "INVALID_QUERY", "siteId must be the key's site"
        )
    if since is not None:
        from leadstream.leads.api import _parse_since

        try:
            when = _parse_since(since)
        except ValueError:
            return error(400, "INVALID_QUERY", "since must be an ISO 8601 date-time")
    else:
        when = None
    site = _site_public(edge, siteId)
    if site is None:
        return error(404, "NOT_FOUND", "no such site")
    try:
        status, answer = await ask_worker(edge.settings, "/leadstream/oci/pending", {"site": site, "since": when})
    except WorkerUnavailable as exc:
        return error(503, "UNAVAILABLE", f"the export cannot be read now: {exc}")
    if status != 200:
        return error(400, "INVALID_QUERY", str(answer.get("error", "bad request")))
    body = import_file(answer["items"], site["timezone"])
    disposition = f'attachment; filename="{siteId}-conversions.csv"'
    return Response(body, 200, {"Content-Disposition": disposition}, media_type="text/csv")


def install(api: FastAPI) -> None:
    api.include_router(router)
