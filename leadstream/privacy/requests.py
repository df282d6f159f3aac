"""The operator's side of an erasure (``leadstream privacy erase``): count what it would remove,
publish the request, and wait for the worker to carry it out."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from leadstream.kafka.broker import core_topics, ensure_topics, new_producer
from leadstream.privacy.erasure import ERASED_TABLES, count_sql
from leadstream.schemas.privacy import ErasureRequest, Scope, subject
from leadstream.settings import Settings
from leadstream.storage.analyst import analyst_query


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def counts(settings: Settings, site_id: str, scope: Scope, value: str) -> dict[str, int]:
    """Rows per table an erasure of this visitor would remove (read-only)."""
    params = {"{site:String}": _literal(site_id), "{subject:String}": _literal(subject(site_id, scope, value))}
    found = {}
    for table in ERASED_TABLES:
        sql = count_sql(table, scope)
        for name, literal in params.items():
            sql = sql.replace(name, literal)
        found[table] = int(analyst_query(settings, sql).rows[0][0])
    return found


async def publish(settings: Settings, site_id: str, scope: Scope, value: str) -> ErasureRequest:
    """The request is durable in Kafka when this returns; the worker carries it out."""
    request = ErasureRequest(site_id=site_id, scope=scope, subject=subject(site_id, scope, value))
    topic = settings.topics.erasures
    await ensure_topics(settings, [s for s in core_topics(settings) if s.name == topic])
    producer = new_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(topic, request.model_dump_json().encode(), key=request.subject.encode())
    finally:
        await producer.stop()
    return request


async def wait_done(settings: Settings, request_id: UUID, timeout_s: float) -> dict[str, int] | None:
    """The rows removed per table once the worker has recorded the erasure; None on timeout."""
    columns = ", ".join(ERASED_TABLES)
    sql = f"SELECT {columns} FROM erasures WHERE request_id = '{request_id}' LIMIT 1"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = (await asyncio.to_thread(analyst_query, settings, sql)).rows
        if rows:
            return {table: int(n) for table, n in zip(ERASED_TABLES, rows[0], strict=True)}
        await asyncio.sleep(1.0)
    return None
