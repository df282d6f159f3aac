"""``POST /api/sync``: validate, score, publish to the events topic, answer once Kafka acked."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response
from uuid_utils.compat import uuid7

from leadstream.broker import BrokerUnavailable
from leadstream.http import JSONResponse
from leadstream.ingest.admission import (
    Rejected,
    check_origin,
    client_ip,
    invalid,
    read_json,
    require_site,
    within_rate,
)
from leadstream.ingest.cors import allow_origin
from leadstream.ingest.docs import SYNC_DOC
from leadstream.ingest.responses import broker_unavailable
from leadstream.schemas.errors import PayloadError
from leadstream.schemas.tracking import EventRecord, SyncEvent, parse_sync_payload
from leadstream.scoring import event_lead_score

router = APIRouter()


def score_event(event: SyncEvent) -> int:
    return event_lead_score(
        category=event.ec,
        action=event.ea,
        value=event.ev,
        referrer=event.r,
        click_ids=event.meta.click_ids().values(),
    )


@router.post("/api/sync", **SYNC_DOC)
async def sync(request: Request) -> Response:
    try:
        return await _sync(request)
    except Rejected as rejected:
        return rejected.response


async def _sync(request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    origin = check_origin(request, state.cors)
    _, body = await read_json(request, settings.max_body_bytes, origin)
    try:
        events, is_batch = parse_sync_payload(body)
    except PayloadError as exc:
        raise invalid(exc, origin) from None
    site = require_site(state.sites, state.cors, events[0].s, origin)
    ip = client_ip(request)
    quota = await within_rate(state.limiter, "sync", f"{site.public_id}:{ip}", settings.rate_sync_per_min, origin)

    received_at = datetime.now(UTC)
    user_agent = request.headers.get("user-agent")
    scores = [score_event(e) for e in events]
    records = [
        (
            str(e.sid).encode(),
            EventRecord.from_sync(e, event_id=uuid7(), received_at=received_at, score=s, ip=ip, user_agent=user_agent)
            .model_dump_json()
            .encode(),
        )
        for e, s in zip(events, scores, strict=True)
    ]
    try:
        await state.publisher.publish(settings.topics.events, records)
    except BrokerUnavailable as exc:
        response = broker_unavailable(f"Event not accepted, retry later: {exc}")
        response.headers.update(allow_origin(origin))
        return response

    answer: dict[str, object] = {"ok": True, "score": max(scores), "status": "synced"}
    if is_batch:
        answer["count"] = len(events)
    return JSONResponse(answer, headers={**quota.headers(), **allow_origin(origin)})
