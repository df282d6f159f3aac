"""The worker's endpoints behind the leads API and the OCI export (the edge never opens the
warehouse: it authenticates the site's key, then asks here).

| endpoint (POST, JSON) | caller |
|---|---|
| ``/leadstream/leads/list``, ``/leadstream/leads/get`` | the edge: ``LEADSTREAM_WORKER_TOKEN`` |
| ``/leadstream/oci/export``, ``ack``, ``ack-failed``, ``pending``, ``figures`` | the edge and the CLI: the same token |

The caller names the site it authenticated; the answers hold that site's rows only. One queue
(``oci.queue.OciQueue``) serialises every claim and ack of this process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadstream.leads.queries import BadCursor, get_lead, list_leads
from leadstream.oci import rules
from leadstream.oci.queue import AckMismatch, CursorInvalid, OciQueue
from leadstream.schemas.conversions import Stage
from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

OCI_ITEMS = Gauge("leadstream_oci_queue_items", "Offline conversions per site and state", ["site", "state"])
OCI_EXCLUDED = Gauge("leadstream_oci_excluded", "Offline conversions excluded, per site and reason", ["site", "reason"])
FIGURES_INTERVAL_S = 30.0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListBody(_Body):
    site_id: str
    since: datetime | None = None
    stage: Stage | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class GetBody(_Body):
    site_id: str
    lead_id: uuid.UUID


class ExportBody(_Body):
    site: SiteRecord
    limit: int = Field(ge=1, le=1000)
    cursor: str | None = None
    claim: bool = False
    run_id: str = ""


class AckBody(_Body):
    site_id: str
    payload_hash: str = ""  # a payload seen before gets the answer it got
    ids: list[str] = Field(max_length=5000)
    pending_confirmation: bool = True
    run_id: str = ""


class AckFailedBody(_Body):
    site_id: str
    payload_hash: str = ""
    ids: list[str] = Field(max_length=5000)
    category: str
    code: str = ""
    message: str = ""


class PendingBody(_Body):
    site: SiteRecord
    since: datetime | None = None


def item_json(item: rules.Item, timezone: str) -> dict[str, Any]:
    return {**rules.script_item(item, timezone), "stage": item.stage, "conversionTimeUtc": item.conversion_time}


def publish_figures(found: dict[str, dict[str, Any]]) -> None:
    for site, figures in found.items():
        for state in ("pending", "claimed", "acked", "failed", "voided"):
            OCI_ITEMS.labels(site, state).set(figures[state])
        for reason, n in figures["excluded"].items():
            OCI_EXCLUDED.labels(site, reason).set(n)


async def keep_figures(queue_source: Callable[[], OciQueue | None]) -> None:
    """The queue's figures in /metrics, read every 30 s (a worker task)."""
    while True:
        await asyncio.sleep(FIGURES_INTERVAL_S)
        queue = queue_source()
        if queue is None:
            continue
        try:
            publish_figures(await queue.figures())
        except Exception as exc:  # the next reading tries again
            log.warning("could not read the OCI queue's figures: %r", exc)


_QUEUES: dict[int, OciQueue] = {}  # warehouse -> its one queue (one lock per process and warehouse)


def queue_for(warehouse: Warehouse, settings: Settings) -> OciQueue:
    queue = _QUEUES.get(id(warehouse))
    if queue is None:
        queue = _QUEUES[id(warehouse)] = OciQueue(warehouse, settings.oci_claim_timeout_s)
    return queue


def leads_routes(settings: Settings, warehouse: Warehouse) -> list[Route]:
    from leadstream.streams import web  # its request checks (the worker token, JSON only)

    queue = queue_for(warehouse, settings)

    def endpoint(model: type[BaseModel], work: Callable[[Any], Awaitable[Response]]) -> Callable[..., Any]:
        async def handle(request: Request) -> Response:
            if refusal := web.token_refusal(web.bearer_token(request), [settings.worker_token], web.WORKER_TOKEN):
                return refusal
            if refusal := web.content_type_refusal(request):
                return refusal
            raw = await web.read_body(request, 4 << 20)
            if raw is None:
                return _json({"error": "the request is too large"}, 413)
            try:
                body = model.model_validate_json(raw)
            except ValidationError as exc:
                return _json(
                    {"error": "invalid body", "problems": exc.errors(include_url=False, include_input=False)}, 400
                )
            try:
                return await work(body)
            except (BadCursor, CursorInvalid) as exc:
                return _json({"error": str(exc), "code": "INVALID_CURSOR"}, 400)
            except AckMismatch as exc:
                return _json({"error": str(exc), "code": "QUEUE_ACK_MISMATCH"}, 409)

        return handle

    async def leads_list(body: ListBody) -> Response:
        found = await list_leads(
            warehouse, body.site_id, since=body.since, stage=body.stage, limit=body.limit, cursor=body.cursor
        )
        return _json(found)

    async def leads_get(body: GetBody) -> Response:
        lead = await get_lead(warehouse, body.site_id, body.lead_id)
        return _json({"lead": lead}, 200 if lead else 404)

    async def export(body: ExportBody) -> Response:
        page = await queue.export(body.site, body.limit, body.cursor, body.claim, body.run_id)
        publish_figures({body.site.public_id: page.counts})  # as they were before this page's claims
        items = [item_json(i, body.site.timezone) for i in page.items]
        return _json({"items": items, "next_cursor": page.next_cursor, "counts": page.counts})

    async def once(site_id: str, payload_hash: str, work: Callable[[], Awaitable[int]]) -> Response:
        """A replayed payload gets the stored answer (an ack-failed replayed would count twice)."""
        if payload_hash and (stored := await queue.stored_reply(site_id, payload_hash)) is not None:
            return _json(stored)
        answer = {"ok": True, "updated": await work()}
        if payload_hash:
            await queue.store_reply(site_id, payload_hash, answer)
        return _json(answer)

    async def ack(body: AckBody) -> Response:
        return await once(
            body.site_id,
            body.payload_hash,
            lambda: queue.ack(body.site_id, body.ids, body.pending_confirmation, body.run_id),
        )

    async def ack_failed(body: AckFailedBody) -> Response:
        return await once(
            body.site_id,
            body.payload_hash,
            lambda: queue.ack_failed(body.site_id, body.ids, body.category, body.code, body.message),
        )

    async def pending(body: PendingBody) -> Response:
        items = await queue.pending(body.site, body.since)
        return _json({"items": [item_json(i, body.site.timezone) for i in items]})

    async def figures(_: _Body) -> Response:
        found = await queue.figures()
        publish_figures(found)
        return _json({"sites": found})

    routes = {
        "/leadstream/leads/list": (ListBody, leads_list),
        "/leadstream/leads/get": (GetBody, leads_get),
        "/leadstream/oci/export": (ExportBody, export),
        "/leadstream/oci/ack": (AckBody, ack),
        "/leadstream/oci/ack-failed": (AckFailedBody, ack_failed),
        "/leadstream/oci/pending": (PendingBody, pending),
        "/leadstream/oci/figures": (_Body, figures),
    }
    return [Route(path, endpoint(model, work), methods=["POST"]) for path, (model, work) in routes.items()]


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload, default=str), status, media_type="application/json")
