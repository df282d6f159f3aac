"""Which site a request's API key belongs to: ``Authorization: Bearer KEY`` or ``x-api-key: KEY``
(OpsMantik's Google Ads Script sends the latter). A key of a disabled site reaches nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

import redis.asyncio as aioredis

from leadstream.settings import Settings
from leadstream.sites.keys import SiteKeys, record_use
from leadstream.sites.registry import SiteRegistry


class KeyedEdge(Protocol):
    settings: Settings
    sites: SiteRegistry
    site_keys: SiteKeys
    redis: aioredis.Redis


_touches: set[asyncio.Task[None]] = set()  # last-used writes in flight (kept referenced)


def presented_key(headers: Mapping[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip()


def site_of(edge: KeyedEdge, headers: Mapping[str, str]) -> str | None:
    """The active site whose live key the request presents, else None (the caller answers 401)."""
    key = presented_key(headers)
    record = edge.site_keys.record_for(key) if key else None
    if record is None or edge.sites.get(record.site_id) is None:
        return None
    task = asyncio.get_running_loop().create_task(record_use(edge.redis, edge.settings, record.prefix))
    _touches.add(task)
    task.add_done_callback(_touches.discard)
    return record.site_id
