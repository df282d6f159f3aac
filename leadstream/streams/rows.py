"""Kafka records -> warehouse rows. Pure functions, unit-tested without I/O.

Row lists leave out ``kafka_partition`` and ``kafka_offset``: the table sink appends them.
"""

from __future__ import annotations

from leadstream.enrichment.campaign import referrer_host
from leadstream.enrichment.device import describe
from leadstream.schemas.event_view import EventView
from leadstream.schemas.network import ip_prefix

__all__ = ["EVENT_COLUMNS", "dedup_token", "event_row", "ip_prefix"]

EVENT_COLUMNS = (
    "event_id",
    "received_at",
    "site_id",
    "session_id",
    "session_month",
    "url",
    "category",
    "action",
    "label",
    "value",
    "referrer",
    "fingerprint",
    "gclid",
    "wbraid",
    "gbraid",
    "duration_sec",
    "meta",
    "meta_keys_dropped",
    "score",
    "ip_prefix",
    "visitor_hash",
    "user_agent",
    "device_type",
    "os",
    "os_version",
    "browser",
    "browser_version",
    "is_bot",
    "referrer_host",
    "consent_scopes",
)


def event_row(record: EventView) -> list[object]:
    """The stored event, enriched: device and browser from the user agent, the bot flag, the
    referrer's host (enrichment happens here, in the sink, never at the edge)."""
    clicks = record.click_ids
    device = describe(record.user_agent)
    return [
        record.event_id,
        record.received_at,
        record.site_id,
        record.session_id,
        record.session_month,
        record.url,
        record.category,
        record.action,
        record.label or "",
        record.value,
        record.referrer or "",
        record.fingerprint or "",
        clicks.get("gclid", ""),
        clicks.get("wbraid", ""),
        clicks.get("gbraid", ""),
        record.duration_sec,
        record.meta,
        record.meta_dropped,
        record.score,
        ip_prefix(record.ip_prefix),  # again: a prefix is kept whatever a producer wrote there
        record.visitor_hash or "",
        record.user_agent or "",
        device.device_type,
        device.os,
        device.os_version,
        device.browser,
        device.browser_version,
        int(device.is_bot),
        referrer_host(record.referrer),
        record.consent_scopes or [],
    ]


def dedup_token(topic: str, spans: dict[int, tuple[int, int]]) -> str:
    """Insert deduplication token naming the exact offsets a block holds: ``topic:p:first-last,...``."""
    return topic + ":" + ",".join(f"{p}:{lo}-{hi}" for p, (lo, hi) in sorted(spans.items()))
