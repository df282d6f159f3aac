"""``POST /api/call-event``: a phone / WhatsApp click, matched to the visitor's session.

The edge publishes the call (keyed by site and fingerprint, like the session updates the
matcher reads) and waits for the matcher's answer through Redis up to a deadline; past it,
the call is still durably accepted and the answer is ``queued`` (202).

A call is accepted once: a repeat of an ``event_id`` gets the first answer. A signed call without
one is known by its signature; a replay of it gets the first answer when it is stored, else 409
``{"status": "error", "message": ...}`` (the signing errors' shape), and its call id is derived
from the signature, so even a replay that got through would replace the first call's row.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pydantic import ValidationError
from uuid_utils.compat import uuid7

from leadstream.ingest.admission import check_origin, invalid, read_json, require_site, within_rate
from leadstream.ingest.cors import allow_origin
from leadstream.ingest.ports import TrackingEdge
from leadstream.ingest.responses import broker_unavailable
from leadstream.ingest.signing import signature_problem
from leadstream.ingest.wire import Inbound, Reply
from leadstream.kafka.broker import BrokerUnavailable
from leadstream.schemas.calls import CallAnswer, CallEventRequest, CallRecord
from leadstream.schemas.errors import PayloadError
from leadstream.schemas.sites import SiteRecord
from leadstream.scoring.phone import normalize_phone

REPLY_KIND = "call"
REPLAYED = "Replayed request: this signed call was already accepted (sign each call anew, or send an event_id)"


async def handle_call_event(edge: TrackingEdge, inbound: Inbound) -> Reply:
    """``/api/call-event`` and ``/api/call-event/v2`` (the path OpsMantik's tracker posts to): one handler."""
    settings = edge.settings
    origin = check_origin(inbound, edge.cors)
    raw, body = await read_json(inbound, settings.max_body_bytes, origin)
    try:
        call = CallEventRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid(PayloadError.from_validation(exc), origin) from None
    site = require_site(edge.sites, edge.cors, call.site_id, origin)
    rate_key = f"{site.public_id}:{inbound.client_key}"
    quota = within_rate(edge.limiter, "call", rate_key, settings.rate_call_per_min, origin)
    problem = signing_problem(site, inbound, raw)
    if problem:
        return Reply.json(401, {"status": "error", "message": problem}, allow_origin(origin))
    fp_key = f"{site.public_id}:{call.fingerprint}"
    within_rate(edge.limiter, "call-fp", fp_key, settings.rate_call_fp_per_min, origin)

    headers = {**quota.headers(), **allow_origin(origin)}
    # A signed call without an event id is known by its signature: used once (see ``replay``).
    signature = inbound.headers["x-ops-signature"] if site.signing_secret and call.event_id is None else None
    call_id = call.call_id(fresh=uuid7(), signature=signature)
    replies = edge.replies
    if call.event_id is not None and (earlier := await replies.stored(REPLY_KIND, str(call_id))):
        return Reply.json(200, earlier, headers)  # the same answer, nothing new created
    if signature is not None and not await edge.replays.first_use(site.public_id, signature):
        if earlier := await replies.stored(REPLY_KIND, str(call_id)):
            return Reply.json(200, earlier, headers)  # a replay is a repeat: the first answer
        return Reply.json(409, {"status": "error", "message": REPLAYED}, allow_origin(origin))

    user_agent = inbound.headers.get("user-agent") or ""
    record = CallRecord(
        call_id=call_id,
        event_id=call.event_id,
        site_id=site.public_id,
        fingerprint=call.fingerprint,
        phone_number=normalize_phone(call.phone_number),
        phone_raw=call.phone_number,
        action=call.action,
        url=call.url,
        click_ids=call.click_ids(),
        received_at=datetime.now(UTC),
        ip_prefix=edge.anonymiser.network(inbound.client_ip),
        visitor_hash=edge.anonymiser.visitor_hash(site.public_id, inbound.client_ip, user_agent),
        user_agent=user_agent[:512] or None,
    )
    waiting = replies.expect(REPLY_KIND, str(call_id)) if replies.available else None
    try:
        await edge.publisher.publish(settings.topics.calls, [(record.key, record.model_dump_json().encode())])
    except BrokerUnavailable as exc:
        if waiting is not None:
            replies.forget(REPLY_KIND, str(call_id), waiting)
        return broker_unavailable(f"Call not accepted, retry later: {exc}", allow_origin(origin))

    answer = None
    if waiting is not None:
        answer = await replies.wait(REPLY_KIND, str(call_id), waiting, settings.call_reply_timeout_s)
    if answer is None:
        queued = CallAnswer(status="queued", call_id=call_id)
        return Reply.json(202, queued.model_dump(mode="json"), headers)
    return Reply.json(200, answer, headers)


def signing_problem(site: SiteRecord, inbound: Inbound, raw: bytes) -> str | None:
    """Why the request fails the site's signing rules, or None.

    A sent ``X-Ops-Site-Id`` (OpsMantik's signed mode) must name the body's site, signed or not.
    """
    claimed = inbound.headers.get("x-ops-site-id")
    if claimed is not None and claimed.strip() != site.public_id:
        return "X-Ops-Site-Id does not match site_id"
    if not site.signing_secret:
        return None
    headers = inbound.headers
    return signature_problem(
        site.signing_secret, headers.get("x-ops-ts"), headers.get("x-ops-signature"), raw, now=time.time()
    )
