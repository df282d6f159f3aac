"""``POST /api/sync``: validate, apply consent, score, publish to the events topic, answer once Kafka acked."""

from __future__ import annotations

from datetime import UTC, datetime

from uuid_utils import uuid7

from leadstream.ingest.admission import check_origin, invalid, read_json, require_site, within_rate
from leadstream.ingest.consent import CONSENT_MISSING_HEADER, granted, without_marketing
from leadstream.ingest.cors import allow_origin
from leadstream.ingest.ports import TrackingEdge
from leadstream.ingest.responses import broker_unavailable
from leadstream.ingest.wire import Inbound, Reply
from leadstream.kafka.broker import BrokerUnavailable
from leadstream.observability.metrics import META_KEYS_DROPPED
from leadstream.schemas.errors import PayloadError
from leadstream.schemas.tracking import SyncEvent, encode_event_record, parse_sync_payload
from leadstream.scoring import event_lead_score


def score_event(event: SyncEvent) -> int:
    return event_lead_score(
        category=event.ec,
        action=event.ea,
        value=event.ev,
        referrer=event.r,
        click_ids=event.meta.click_ids().values(),
    )


async def handle_sync(edge: TrackingEdge, inbound: Inbound) -> Reply:
    settings = edge.settings
    origin = check_origin(inbound, edge.cors)
    _, body = await read_json(inbound, settings.max_body_bytes, origin)
    try:
        events, is_batch = parse_sync_payload(body)
    except PayloadError as exc:
        raise invalid(exc, origin) from None
    if dropped := sum(e.meta.dropped for e in events):
        META_KEYS_DROPPED.inc(dropped)
    site = require_site(edge.sites, edge.cors, events[0].s, origin)
    rate_key = f"{site.public_id}:{inbound.client_key}"
    quota = within_rate(edge.limiter, "sync", rate_key, settings.rate_sync_per_min, origin, cost=len(events))
    headers = {**quota.headers(), **allow_origin(origin)}

    events = [e for e in events if granted(e, site, "analytics")]
    if not events:
        if not is_batch:  # nothing published
            return Reply(204, b"", {**headers, CONSENT_MISSING_HEADER: "analytics"})
        return Reply.json(200, {"ok": True, "score": 0, "status": "synced", "count": 0}, headers)
    events = [e if granted(e, site, "marketing") else without_marketing(e) for e in events]

    received_at = datetime.now(UTC)
    user_agent = inbound.headers.get("user-agent")
    # What is published of the client's address: its network and a keyed hash, never the address.
    network = edge.anonymiser.network(inbound.client_ip)
    visitor = edge.anonymiser.visitor_hash(site.public_id, inbound.client_ip, user_agent)
    scores = [score_event(e) for e in events]
    records = [
        (
            str(e.sid).encode(),
            encode_event_record(
                e,
                event_id=e.event_id(str(uuid7())),
                received_at=received_at,
                score=s,
                ip_prefix=network,
                visitor_hash=visitor,
                user_agent=user_agent,
            ),
        )
        for e, s in zip(events, scores, strict=True)
    ]
    try:
        await edge.publisher.publish(settings.topics.events, records)
    except BrokerUnavailable as exc:
        return broker_unavailable(f"Event not accepted, retry later: {exc}", allow_origin(origin))

    answer: dict[str, object] = {"ok": True, "score": max(scores), "status": "synced"}
    if is_batch:
        answer["count"] = len(events)  # those with analytics consent
    return Reply.json(200, answer, headers)
