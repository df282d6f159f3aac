"""``POST /api/sync``: validate, score, publish to the events topic, answer once Kafka acked."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import Response
from uuid_utils.compat import uuid7

from leadstream.broker import BrokerUnavailable
from leadstream.http import JSONResponse
from leadstream.ingest.body import BodyTooLarge, decode_json, read_capped
from leadstream.ingest.responses import broker_unavailable, rate_limited, tracking_error
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


@router.post("/api/sync")
async def sync(request: Request) -> Response:
    state = request.app.state
    try:
        raw = await read_capped(request, state.settings.max_body_bytes)
        events, is_batch = parse_sync_payload(decode_json(raw))
    except BodyTooLarge:
        return tracking_error(413, f"Payload too large: at most {state.settings.max_body_bytes} bytes")
    except PayloadError as exc:
        return tracking_error(400, exc.message)

    site_id = events[0].s
    if state.sites.get(site_id) is None:
        return tracking_error(404, "Site not found")

    ip = request.client.host if request.client else None
    quota = await state.limiter.hit("sync", f"{site_id}:{ip}", state.settings.rate_sync_per_min)
    if not quota.allowed:
        return rate_limited(quota)

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
        await state.publisher.publish(state.settings.topics.events, records)
    except BrokerUnavailable as exc:
        return broker_unavailable(f"Event not accepted, retry later: {exc}")

    body: dict[str, object] = {"ok": True, "score": max(scores), "status": "synced"}
    if is_batch:
        body["count"] = len(events)
    return JSONResponse(body, headers=quota.headers())
