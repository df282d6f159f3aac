"""Carrying out erasures in the warehouse (the worker does: it owns ClickHouse).

A request names the visitor by its hash only, so rows are matched by hashing their own columns
in SQL the way ``schemas.privacy.subject`` does. Rows are removed with lightweight DELETEs, the
answers the edge keeps in Redis for the visitor's calls (for repeats of the same request) are
deleted with them, and the request is recorded in ``erasures`` with how many rows went (no
personal data). The stream processors drop the visitor from their own state (changelog
tombstones) when the forgotten visitors' mirror moves.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import redis.asyncio as aioredis
from tenacity import AsyncRetrying, before_sleep_log, wait_exponential_jitter

from leadstream.privacy.forgotten import ForgottenVisitors
from leadstream.redis.replies import answer_key
from leadstream.schemas.privacy import ErasureRequest, Scope
from leadstream.settings import Settings
from leadstream.stats.rollup import refresh_site
from leadstream.storage.warehouse import Warehouse

log = logging.getLogger(__name__)

# table -> (site expression, {scope: value expression}, the view that counts each row once)
_SOURCES: dict[str, tuple[str, dict[Scope, str], str]] = {
    "events": ("site_id", {"fingerprint": "fingerprint", "session": "toString(session_id)"}, "events_all_v"),
    "sessions": ("site_id", {"fingerprint": "fingerprint", "session": "toString(session_id)"}, "sessions_all_v"),
    "calls": ("site_id", {"fingerprint": "fingerprint", "session": "ifNull(toString(session_id), '')"}, "calls_v"),
    # dead letters keep the raw record: its JSON names the site and the visitor
    "dead_letters": (
        "JSONExtractString(value, 'site_id')",
        {"fingerprint": "JSONExtractString(value, 'fingerprint')", "session": "JSONExtractString(value, 'session_id')"},
        "dead_letters",
    ),
    # leads, their stage history and their offline conversions
    "leads": ("site_id", {"fingerprint": "fingerprint", "session": "ifNull(toString(session_id), '')"}, "leads_v"),
    "lead_stages": (
        "site_id",
        {"fingerprint": "fingerprint", "session": "ifNull(toString(session_id), '')"},
        "lead_stage_history_v",
    ),
    "oci_queue": (
        "site_id",
        {"fingerprint": "fingerprint", "session": "ifNull(toString(session_id), '')"},
        "oci_queue_v",
    ),
}
ERASED_TABLES = tuple(_SOURCES)


def matching(table: str, scope: Scope) -> str:
    """SQL condition for a table's rows of the subject ``{site:String}`` / ``{subject:String}``."""
    site, values, _ = _SOURCES[table]
    return (
        f"{site} = {{site:String}} AND "
        f"lower(hex(SHA256(concat({site}, ':{scope}:', {values[scope]})))) = {{subject:String}}"
    )


def count_sql(table: str, scope: Scope) -> str:
    return f"SELECT count() FROM {_SOURCES[table][2]} WHERE {matching(table, scope)}"


def delete_sql(table: str, scope: Scope) -> str:
    return f"DELETE FROM {table} WHERE {matching(table, scope)}"


def visits_sql(scope: Scope) -> str:
    """The subject's visits in the Stats API's per-visit rows, and the hours they started in."""
    return (
        "SELECT groupUniqArray(session_id), groupUniqArray(hour) FROM stats_visits "
        "WHERE site_id = {site:String} AND session_id IN "
        f"(SELECT session_id FROM sessions_all_v WHERE {matching('sessions', scope)})"
    )


def call_ids_sql(scope: Scope) -> str:
    """The subject's call ids: the edge keeps each call's answer in Redis under it."""
    return f"SELECT DISTINCT toString(call_id) FROM calls_v WHERE {matching('calls', scope)}"


class ErasureExecutor:
    """Carries out each erasure request once; ``settle_s`` lets the sinks' batches converted
    before the request was known land first, so the DELETE takes them too."""

    def __init__(self, settings: Settings, warehouse: Warehouse, forgotten: ForgottenVisitors) -> None:
        self._warehouse = warehouse
        self._forgotten = forgotten
        self._settle_s = max(2.0, 3 * settings.sink_flush_s)
        self._redis_url = settings.redis_url
        self._namespace = settings.topic_prefix

    async def run(self) -> None:
        while True:
            request = await self._forgotten.requests.get()
            try:
                async for attempt in AsyncRetrying(  # while the warehouse refuses
                    wait=wait_exponential_jitter(initial=0.2, max=30),
                    reraise=True,
                    before_sleep=before_sleep_log(log, logging.WARNING),
                ):
                    with attempt:
                        await self.execute(request)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("erasure %s failed", request.request_id)

    async def execute(self, request: ErasureRequest) -> dict[str, int] | None:
        """Remove the subject's rows and record the request; None if it was carried out before."""
        done = await self._warehouse.read(
            "SELECT count() FROM erasures WHERE request_id = {id:UUID}", {"id": request.request_id}
        )
        if done.rows[0][0]:
            return None
        await asyncio.sleep(self._settle_s)
        params = {"site": request.site_id, "subject": request.subject}
        calls = await self._warehouse.read(call_ids_sql(request.scope), params)
        await self._forget_answers([row[0] for row in calls.rows])
        hours = await self._forget_visits(request.site_id, request.scope, params)
        counts: dict[str, int] = {}
        for table in ERASED_TABLES:
            sql = count_sql(table, request.scope)
            counts[table] = int((await self._warehouse.read(sql, params)).rows[0][0])
            if counts[table]:
                delete = delete_sql(table, request.scope)
                await self._warehouse.call(lambda c, d=delete: c.command(d, parameters=params))  # type: ignore[misc]
        row = [
            request.request_id,
            request.requested_at,
            datetime.now(UTC),
            request.site_id,
            request.scope,
            *(counts[t] for t in ERASED_TABLES),
        ]
        columns = ["request_id", "requested_at", "completed_at", "site_id", "scope", *ERASED_TABLES]
        if hours:  # the hourly rollup's counts, made again without the visitor's events
            now = datetime.now(UTC)
            await self._warehouse.maintain(lambda c: refresh_site(c, request.site_id, hours, now))
        await self._warehouse.call(lambda c: c.insert("erasures", [row], column_names=columns))
        log.info("erasure %s (%s, %s): %s", request.request_id, request.site_id, request.scope, counts)
        return counts

    async def _forget_visits(self, site: str, scope: Scope, params: dict[str, str]) -> list[datetime]:
        """Delete the subject's rows from the Stats API's per-visit table (every version), before
        the sessions they are found through go; returns the hours whose rollup must be redone."""
        found = (await self._warehouse.read(visits_sql(scope), params)).rows
        sessions, hours = (found[0][0], found[0][1]) if found else ([], [])
        if sessions:
            delete = "DELETE FROM stats_visits WHERE site_id = {site:String} AND session_id IN {ids:Array(UUID)}"
            ids = {"site": site, "ids": sessions}
            await self._warehouse.call(lambda c: c.command(delete, parameters=ids))
        return sorted(hours)

    async def _forget_answers(self, call_ids: list[str]) -> None:
        """Delete the stored answers of these calls; raises while Redis is down, so the request is
        retried (before its rows go: the call ids are read from them)."""
        if not call_ids:
            return
        client = aioredis.from_url(self._redis_url, socket_timeout=5, socket_connect_timeout=5)
        try:
            await client.delete(*(answer_key(self._namespace, "call", call_id) for call_id in call_ids))
        finally:
            await client.aclose()
